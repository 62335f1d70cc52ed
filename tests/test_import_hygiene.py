"""The engine must import without the dashboard's libraries (STYLE.md: two rooms, one door)."""

import subprocess
import sys

FORBIDDEN = ("textual", "rich", "runyard.app")


def modules_after(statement: str) -> set[str]:
    code = (f"import sys\n{statement}\n"
            "print('\\n'.join(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    return set(out.split())


def loaded_after(statement: str) -> set[str]:
    """The modules `statement` loads beyond what the interpreter loads to start: a
    site's .pth files may load more (CI's interpreter loads shutil for one)."""
    return modules_after(statement) - modules_after("pass")


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


def test_importing_the_engine_loads_none_of_its_modules():
    # every tracked script, worker and CLI command pays for `import runyard.engine`:
    # its modules load when a name is first used (issue 11: +0.10 s, aim +0.03 s)
    modules = loaded_after("import runyard.engine")
    assert sorted(m for m in modules if m.startswith("runyard.engine.")) == []
    assert "orjson" not in modules and "json" not in modules


def test_every_public_name_of_the_engine_is_there_when_asked_for():
    import runyard.engine

    for name in runyard.engine.__all__:
        assert getattr(runyard.engine, name) is not None
    assert set(runyard.engine.__all__) <= set(dir(runyard.engine))
    from runyard.engine import Run, control, list_runs  # names and modules alike

    assert control.start is runyard.engine.start and callable(list_runs) and Run.log_metrics


def test_a_run_that_starts_and_ends_at_once_loads_only_what_it_uses(tmp_path):
    # issue 11: an empty run's process took 0.26-0.33 s; psutil (resource metrics,
    # sampled from the writer's first round on), the listing, the spool, tomllib
    # (a runyard.toml), shutil, and what only failures, saved files or long names
    # use are not needed to start and end a run
    modules = loaded_after(f"from runyard.engine import Run\nrun = Run(root={str(tmp_path)!r})\n"
                           "run.init(name='quick')\nrun.close()")
    unneeded = {"psutil", "tomllib", "shutil", "runyard.engine.store", "runyard.engine.spool",
                "runyard.engine.summary", "runyard.engine.resources", "logging", "socket",
                "secrets", "hashlib", "mimetypes"}
    assert sorted(unneeded & modules) == []


def test_a_start_time_read_from_proc_is_the_one_psutil_gives():
    import os

    import psutil

    from runyard.engine.procs import process_start_time

    for pid in (os.getpid(), os.getppid()):
        assert abs(process_start_time(pid) - psutil.Process(pid).create_time()) < 0.01
    assert process_start_time(2**22 + 1) is None  # beyond pid_max: no such process
