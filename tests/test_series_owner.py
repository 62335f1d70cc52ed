"""One module owns the series format (docs/format.md): engine/series.py encodes and
decodes metric, event and alert lines, and every writer and reader goes through it.
Every other use of a JSON encoder or decoder in the code is named here with what it
reads or writes, none of it a series line: a new encoder of series lines elsewhere
fails this test, so that the format cannot drift between two writers (it had three
encoders and four decoders, some the slow standard library's)."""

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CALLS = {"dumps", "loads", "dump", "load"}

OWNER = "engine/series.py"
OTHERS = {  # module, or module:function -> what its JSON is
    "engine/untrusted.py:decode_json": "any JSON value a run holds, strictly (series too)",
    "engine/run.py": "log_metrics inlines series.encode_point's common case (measured)",
    "engine/history.py:read_all_elsewhere": "the request to the history reader process",
    "engine/history.py:_child": "that request, in the child",
    "engine/atomic.py": "whole-file records",
    "engine/meta.py": "attrs.json",
    "engine/names.py": "the name index",
    "engine/work.py": "instance records",
    "engine/instances.py": "instance records (engine side)",
    "engine/request.py": "control.json",
    "engine/supervision.py": "parameters and inputs in the environment",
    "engine/context.py": "parameters from the environment",
    "engine/executors/dask.py": "parameters for a Dask task",
    "engine/executors/local.py": "messages to worker processes",
    "engine/worker.py": "messages from the pool",
    "engine/modules.py": "a module check's answer",
    "engine/flow_graph.py": "flow graphs and settings",
    "engine/validate.py": "the size of metadata",
    "engine/run_files.py": "an object saved as a JSON file",
    "app/formatting.py": "values shown as JSON text",
    "app/tabs/run_text.py": "attributes shown as JSON text",
    "app/commands/show.py": "show --json",
    "app/commands/flow.py": "values given on the command line",
}


def json_uses(path: Path) -> list[str]:
    """``module`` or ``module:function`` for every ``json.*`` / ``orjson.*`` encoder or
    decoder named in ``path`` (called or not: an alias counts)."""
    tree = ast.parse(path.read_text())
    found = []

    def visit(node, function: str | None) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            function = node.name if function is None else function
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and \
                node.value.id in ("json", "orjson") and node.attr in CALLS:
            name = str(path.relative_to(REPO))
            found.append(f"{name}:{function}" if function else name)
        for child in ast.iter_child_nodes(node):
            visit(child, function)

    visit(tree, None)
    return found


def test_only_the_series_module_encodes_or_decodes_series_lines():
    sources = sorted([*REPO.glob("engine/**/*.py"), *REPO.glob("app/**/*.py")])
    strays = []
    for path in sources:
        for use in json_uses(path):
            module = use.split(":")[0]
            if module != OWNER and use not in OTHERS and module not in OTHERS:
                strays.append(use)
    assert strays == [], f"JSON encoded or decoded outside {OWNER}: {strays}"


def test_every_named_exception_still_exists():
    # the list above stays the list of what is there: one gone is taken off
    uses = {use for path in [*REPO.glob("engine/**/*.py"), *REPO.glob("app/**/*.py")]
            for use in json_uses(path)}
    modules = {use.split(":")[0] for use in uses}
    assert [name for name in OTHERS if name not in uses and name not in modules] == []
