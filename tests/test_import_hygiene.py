"""The engine must import without the dashboard's libraries (STYLE.md: two rooms, one door)."""

import subprocess
import sys

FORBIDDEN = ("textual", "rich", "runyard.app")


def loaded_after(statement: str) -> set[str]:
    code = (f"import sys\n{statement}\n"
            "print('\\n'.join(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    return set(out.split())


def forbidden_in(modules: set[str]) -> list[str]:
    return sorted(m for m in modules
                  if any(m == f or m.startswith(f + ".") for f in FORBIDDEN))


def test_engine_imports_no_dashboard_library():
    modules = loaded_after("import runyard.engine")
    assert "runyard.engine" in modules
    assert forbidden_in(modules) == []


def test_every_engine_module_imports_without_dashboard_library():
    import pkgutil

    import runyard.engine

    names = [m.name for m in pkgutil.iter_modules(runyard.engine.__path__,
                                                    "runyard.engine.")]
    assert "runyard.engine.store" in names
    modules = loaded_after("\n".join(f"import {n}" for n in names))
    assert forbidden_in(modules) == []


def test_listing_command_does_not_load_textual():
    # `runyard ls` must start fast: the dashboard's framework stays unloaded.
    modules = loaded_after("import runyard.app.cli")
    assert not any(m == "textual" or m.startswith("textual.") for m in modules)
