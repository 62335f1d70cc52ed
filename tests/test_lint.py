"""The code base stays ruff clean (rules in pyproject.toml)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_ruff_finds_nothing():
    # the ruff of this interpreter (the test extra), not one found on PATH
    result = subprocess.run([sys.executable, "-m", "ruff", "check", str(ROOT)],
                            capture_output=True, text=True)
    assert "No module named ruff" not in result.stderr, \
        "ruff is part of the test extra: pip install -e '.[test]'"
    assert result.returncode == 0, result.stdout + result.stderr
