"""The import layering of pyproject.toml's [tool.importlinter] holds: the engine
never imports the app (nor Textual, nor Rich), the tracking API never imports a
process's entry point, and the app's layers import downwards only."""

import os
from pathlib import Path

from importlinter.cli import lint_imports

PROJECT = Path(__file__).parent.parent


def test_the_import_contracts_are_kept(monkeypatch, capsys):
    monkeypatch.chdir(PROJECT)  # where pyproject.toml is found
    code = lint_imports(config_filename=os.fspath(PROJECT / "pyproject.toml"),
                        no_cache=True)
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "4 kept, 0 broken" in printed
