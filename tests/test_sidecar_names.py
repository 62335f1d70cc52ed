"""The names of a run's side-car files are written once, in engine/layout.py: every
other module takes them from there (a renamed file cannot be missed somewhere)."""

import ast
from pathlib import Path

from runyard.engine import layout

PROJECT = Path(__file__).parent.parent
NAMES = {value for name, value in vars(layout).items()
         if name.isupper() and isinstance(value, str) and ("." in value or "/" in value)
         and value not in (layout.META_SUFFIX, layout.ROOT_META)}


def docstrings(tree: ast.AST) -> set[int]:
    """The ids of the docstring nodes (prose may name a file)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def test_the_side_car_names_are_written_only_in_layout():
    assert {"control.json", "proc/spec.json", "status-request.json",
            "log/supervisor.log", "proc/slurm.sh"} <= NAMES
    written = []
    for path in sorted([*(PROJECT / "engine").glob("*.py"), *(PROJECT / "app").rglob("*.py")]):
        if path.name == "layout.py" and path.parent.name == "engine":
            continue
        tree = ast.parse(path.read_text())
        skip = docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                    id(node) not in skip and node.value in NAMES:
                written.append(f"{path.relative_to(PROJECT)}:{node.lineno} {node.value!r}")
    assert written == []
