"""Run modules (reference 000): a Python file with ``run(instance, save, state)``
and, optionally, ``done()``.

``check_module`` validates a file before a run is created: its syntax and the
presence of ``run`` in-process (from the source, so nothing of the user's runs),
then a real import in a short-lived child process, so an import failure is
reported with its file and line and nothing is left half-created.
"""

import ast
import importlib.abc
import importlib.util
import json
import subprocess
import sys
import traceback
from pathlib import Path

from .errors import RunyardError

CHECK_OK = "runyard: module imports"


class ModuleError(RunyardError):
    """A run module cannot be used; the message names the file and line."""


def _run_params(tree: ast.Module) -> list | None:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == "run":
            return node.args.args + node.args.posonlyargs
    return None


def check_source(path: Path) -> None:
    """Syntax and a ``run`` taking three arguments, read from the source."""
    try:
        source = path.read_text()
    except FileNotFoundError:
        raise ModuleError(f"{path}: run module not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ModuleError(f"{path}: cannot read run module ({exc})") from None
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as exc:
        raise ModuleError(f"{path}:{exc.lineno}: syntax error: {exc.msg}") from None
    params = _run_params(tree)
    if params is None:
        has_run = any(
            (isinstance(n, ast.Assign) and any(getattr(t, "id", None) == "run"
                                               for t in n.targets)) or
            (isinstance(n, ast.ImportFrom | ast.Import) and
             any((a.asname or a.name) == "run" for a in n.names))
            for n in tree.body)
        if not has_run:
            raise ModuleError(f"{path}: no run(instance, save, state) function")
    elif len(params) != 3:
        raise ModuleError(f"{path}: run() must take (instance, save, state), it takes "
                          f"{len(params)} argument(s)")


class _RecordedSource(importlib.abc.SourceLoader):
    """Imports a module as the file ``origin`` (its ``__file__``, its tracebacks) with
    the code ``data`` (the run's recorded copy): no bytecode cache is read or
    written, so what runs is the copy, and nothing is written beside the user's file."""

    def __init__(self, origin: Path, data: bytes):
        self.origin, self.data = origin, data

    def get_filename(self, fullname: str) -> str:
        return str(self.origin)

    def get_data(self, path: str) -> bytes:
        return self.data


def load_module(path: Path, source: Path | None = None):
    """Import the run module at ``path`` as its author wrote it: ``__file__`` is
    ``path`` and its folder is importable (``import helper`` finds ``helper.py``
    beside it). ``source``: the file whose code runs, when it is another (the run's
    recorded copy). Returns (module, run, done or None)."""
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    name = f"runyard_module_{path.stem}"
    loader = None
    if source is not None:
        try:
            loader = _RecordedSource(path, source.read_bytes())
        except OSError as exc:
            raise ModuleError(f"{source}: cannot read run module ({exc.strerror})") from None
    spec = importlib.util.spec_from_file_location(name, path, loader=loader)
    if spec is None or spec.loader is None:
        raise ModuleError(f"{path}: not a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the user's module: any error is an import failure
        raise ModuleError(_import_failure(path, exc)) from exc
    run = getattr(module, "run", None)
    if not callable(run):
        raise ModuleError(f"{path}: no run(instance, save, state) function")
    done = getattr(module, "done", None)
    return module, run, done if callable(done) else None


def _import_failure(path: Path, exc: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if Path(f.filename).resolve() == path.resolve()]
    where = f"{path}:{frames[-1].lineno}" if frames else str(path)
    if isinstance(exc, SyntaxError) and exc.lineno:
        where = f"{exc.filename or path}:{exc.lineno}"
    return f"{where}: import failed: {type(exc).__name__}: {exc}"


def check_module(path: Path) -> None:
    """Raise ModuleError if ``path`` is not a usable run module."""
    check_source(path)
    try:
        result = subprocess.run([sys.executable, "-P", "-m", "runyard.engine.modules",
                                 str(path)], capture_output=True, text=True, cwd=path.parent,
                                stdin=subprocess.DEVNULL, timeout=300)
    except subprocess.TimeoutExpired:
        raise ModuleError(f"{path}: importing it did not finish within 300 s") from None
    last = result.stdout.rstrip("\n").rsplit("\n", 1)[-1]
    if result.returncode == 0 and last == CHECK_OK:
        return
    try:
        message = json.loads(last)["error"]
    except (ValueError, KeyError, TypeError):
        stderr = [line for line in result.stderr.strip().splitlines() if line.strip()]
        reason = stderr[-1].strip() if stderr else f"exited with code {result.returncode}"
        message = f"{path}: import failed: {reason}"
    raise ModuleError(message)


if __name__ == "__main__":  # python -m runyard.engine.modules FILE: the import check
    try:
        load_module(Path(sys.argv[1]).absolute())
    except ModuleError as error:
        print("\n" + json.dumps({"error": str(error)}))
        sys.exit(1)
    print("\n" + CHECK_OK)  # reached only if the import returned (no sys.exit in it)
