"""Reference 004's code samples (Gage's run lifecycle) run with only the imports changed.

Each ``>>>`` sample of the reference is executed in order, as its doctest runs them,
with ``gage._internal.*`` imports replaced by ``runyard.engine.gage``. The doctest's
own helpers (``make_temp_dir``, ``find``, ``cat``, ``path_join``, ``path_exists``) are
its test harness's, so they are given here, and so is its ``+parse`` binding of
names from outputs (``'{run_id:run_id}'`` binds ``run_id``). The samples that read
Gage's side-car files one by one (``cat`` of ``opref``, ``proc/cmd``...) show Gage's
format, which runyard replaces with its own (docs/format.md, "Reference 004"):
those are listed here, and runyard's equivalents are checked instead.
"""

import json
import os
import re
from pathlib import Path

from runyard.engine import load_run
from runyard.engine.control import resume, wait_for_end
from runyard.engine.spec import read_spec

SAMPLES = Path(__file__).parent / "reference_004_samples.txt"
# the reference itself, beside the project (not in every checkout of it)
REFERENCES = Path(__file__).resolve().parents[2] / "shared" / "reference"

# the samples that read Gage's own files: runyard's format has attrs.json instead
GAGE_FILES = [
    'find(meta_dir, include_dirs=True, permissions=True)',
    'cat(path_join(meta_dir, "__schema__"))',
    'cat(path_join(meta_dir, "id"))',
    'cat(path_join(meta_dir, "opref"))',
    'json.load(open(path_join(meta_dir, "opdef.json")))',
    'cat(path_join(meta_dir, "proc", "cmd"))',
    'cat(path_join(meta_dir, "proc", "env"))',
    'cat(path_join(meta_dir, "initialized"))',
    'cat(path_join(meta_dir, "log", "runner"))',
]
# names the doctest binds from the placeholders of the outputs after them
BOUND_AFTER = {"assert x == META_SCHEMA", "assert x == run.id"}


def samples(text: str) -> list[tuple[str, str]]:
    """(source, expected output) of each ``>>>`` sample, in order."""
    found, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        stripped = lines[i].strip()
        if not stripped.startswith(">>> "):
            i += 1
            continue
        source = re.sub(r"\s+#.*$", "", stripped[4:])
        i += 1
        expected = []
        while i < len(lines) and lines[i].strip() and not lines[i].strip().startswith(">>>"):
            expected.append(lines[i].strip())
            i += 1
        found.append((source, "\n".join(expected)))
    return found


def ported(source: str) -> str:
    return re.sub(r"^from gage\._internal\.\w+ import ", "from runyard.engine.gage import ",
                  source)


def harness(tmp_path: Path) -> dict:
    """The helpers reference 004's doctest harness gives its samples."""

    def make_temp_dir() -> str:
        folder = tmp_path / f"home{len(list(tmp_path.iterdir()))}"
        folder.mkdir()
        return str(folder)

    def find(folder: str, **_options) -> None:
        names = sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*"))
        print("\n".join(names) if names else "<empty>")

    return {"make_temp_dir": make_temp_dir, "find": find, "path_join": os.path.join,
            "path_exists": os.path.exists, "json": json}


def bind(expected: str, value, names: dict) -> bool:
    """The ``+parse`` of an output that is one placeholder: ``'{run_id:run_id}'``."""
    match = re.fullmatch(r"'?\{(\w+)(:\w+)?\}'?", expected)
    if match:
        names[match.group(1)] = value
    return bool(match)


def test_reference_004_samples_run_with_only_the_imports_changed(tmp_path, capsys):
    names = harness(tmp_path)
    skipped = []
    for source, expected in samples(SAMPLES.read_text()):
        code = ported(source)
        if source in GAGE_FILES:
            skipped.append(source)
            continue
        if source in BOUND_AFTER:
            continue
        if expected.startswith("Traceback"):
            error = expected.splitlines()[-1]
            kind, _, shape = error.partition(": ")
            try:
                exec(code, names)
            except Exception as exc:  # the sample expects this one: checked just below
                assert type(exc).__name__ == kind, (source, exc)
                pattern = re.escape(shape).replace(r"\{x\}", "(?P<x>.+)")
                names["x"] = re.search(pattern, exc.filename).group("x")
            else:
                raise AssertionError(f"{source} should raise {kind}")
            continue
        try:
            value = eval(code, names)
        except SyntaxError:  # a statement
            exec(code, names)
            value = None
        if value is not None and bind(expected, value, names):
            continue
        if value is not None:
            print(repr(value))
        shown = capsys.readouterr().out.strip()
        assert shown == expected, (source, shown, expected)
    assert skipped == GAGE_FILES  # and nothing else of the reference was left out

    # runyard's side-car holds what Gage's files hold
    run = names["run"]
    root, run_id = os.path.dirname(run.run_dir), run.id
    assert names["run_status"](run) == "created"
    assert [r.id for r in names["list_runs"](root)] == [run_id]
    info = load_run(root, run_id)
    assert info.attrs["metadata"] == {"opref": "test test", "opdef": "test"}
    assert read_spec(info.meta_dir).argv == ["echo", "hello"]
    env = json.loads((info.meta_dir / "proc" / "env.json").read_text())
    assert (env["foo"], env["bar"]) == ("123", "abc")
    assert oct(os.stat(info.meta_dir / "proc").st_mode & 0o777) == "0o700"

    # and it starts, runs its command with its environment, and completes
    resume(root, run_id)
    info = wait_for_end(root, run_id, 60)
    assert info.status == "completed", info.attrs.get("exit")
    assert (info.meta_dir / "log" / "output.log").read_text() == "hello\n"
    assert names["run_status"](run) == "completed"


def test_the_samples_kept_are_the_references():
    reference = next(REFERENCES.glob("004_*.txt"), None)
    if reference is None:  # a checkout without the reference documents beside it
        return
    assert samples(SAMPLES.read_text()) == samples(reference.read_text())
