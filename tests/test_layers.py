"""The import layering of pyproject.toml's [tool.importlinter] holds: the engine
never imports the app (nor Textual, nor Rich), the tracking API never imports a
process's entry point, no engine module is part of an import cycle, and the app's
layers import downwards only."""

import logging
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).parent.parent
# the entry point of the interpreter running the tests, in a process of its own:
# import-linter configures logging as it starts, disabling every logger that exists
# (run in-process, it silenced 'runyard' for every later test: three failed)
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def test_the_import_contracts_are_kept(caplog):
    runyard_log = logging.getLogger("runyard")
    done = subprocess.run([str(LINT_IMPORTS), "--no-cache", str(PROJECT / "pyproject.toml")],
                          capture_output=True, text=True, cwd=PROJECT, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 kept, 0 broken" in done.stdout
    runyard_log.error("still heard")  # the tests after this one still see the logger
    assert "still heard" in caplog.text
