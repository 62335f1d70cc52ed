"""``runyard flow FILE.py:FUNCTION``: prepare a flow and run it.

    runyard flow examples/flow/lines_flow.py:lines_summary
    runyard flow pipeline.py:nightly --platform dask --scheduler tcp://node1:8786
    runyard flow pipeline.py:nightly --set extract.workers=4 --set train.params.lr=0.01 \\
        --set extract.instances=data/new/*.txt

``--set ALIAS.instances=...`` replaces a step's inputs (an override); any other
``ALIAS.KEY=VALUE`` (workers, iterations, max_attempts, grace, executor,
``params.NAME``, ``metadata.NAME``, tags) is merged into the step's settings
(a config extension). Without --detach it shows the steps' progress, waits and
exits non-zero unless every step completed; Ctrl-C closes the flow run
gracefully, and ``runyard resume RUN`` continues it without redoing a finished
step.
"""

import importlib.util
import json
import sys
import uuid
from pathlib import Path

from runyard.engine import ensure_root, resolve_root
from runyard.engine.errors import UsageError
from runyard.engine.flows import Dask, FlowError, Local, active_runs, flow_results
from runyard.engine.modules import _import_failure

from ..arguments import positive_int, positive_seconds
from ..formatting import table
from ..run_request import meta_value
from . import help_of
from .run import follow


def add_parser(sub):
    parser = sub.add_parser("flow", help=help_of("flow"),
                            description="Prepare the @flow function FUNCTION of FILE.py and "
                            "run it on the local engine or on Dask.")
    parser.add_argument("target", metavar="FILE.py:FUNCTION")
    parser.add_argument("--platform", choices=("local", "dask"), default="local")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="a Dask scheduler (default: a cluster on this machine, kept "
                             "while the flow runs)")
    parser.add_argument("--dask-workers", type=positive_int, default=2, metavar="N",
                        help="worker processes of that local cluster (default 2)")
    parser.add_argument("--set", action="append", default=[], dest="sets",
                        metavar="ALIAS.KEY=VALUE")
    parser.add_argument("--name")
    parser.add_argument("--folder", default="/")
    parser.add_argument("--tag", action="append", default=[], metavar="T")
    parser.add_argument("--idle-timeout", type=positive_seconds, default=3600.0, metavar="SECONDS",
                        help="suspend the prepared task after this long idle (default 3600)")
    parser.add_argument("--detach", action="store_true",
                        help="return at once, printing the flow run's id and name")
    return parser


def load_flow(target: str):
    """The @flow function named by FILE.py:FUNCTION."""
    path_text, sep, function = target.rpartition(":")
    if not sep or not path_text or not function:
        raise UsageError(f"give the flow as FILE.py:FUNCTION, not {target!r}")
    path = Path(path_text).absolute()
    if not path.is_file():
        raise UsageError(f"flow file {path_text} does not exist")
    spec = importlib.util.spec_from_file_location(f"runyard_flow_{uuid.uuid4().hex}", path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise UsageError(_import_failure(path, exc)) from None
    fn = getattr(module, function, None)
    if fn is None:
        raise UsageError(f"{path_text} has no function {function!r}")
    if not getattr(fn, "is_flow", False):
        raise UsageError(f"{path_text}:{function} is not decorated with @flow")
    return fn


def parse_sets(items: list[str]) -> tuple[dict, dict]:
    """--set items as (overrides, config extensions)."""
    overrides: dict = {}
    extensions: dict = {}
    for item in items:
        key, sep, text = item.partition("=")
        alias, dot, setting = key.partition(".")
        if not sep or not dot or not alias or not setting:
            raise UsageError(f"--set takes ALIAS.KEY=VALUE, got {item!r}")
        if setting == "instances":
            try:
                value = json.loads(text)
            except ValueError:
                value = [p for p in text.split(",") if p]
            overrides[alias] = value
            continue
        settings = extensions.setdefault(alias, {})
        head, dot, name = setting.partition(".")
        if head in ("params", "metadata") and dot and name:
            settings.setdefault(head, {})[name] = meta_value(text)
        elif setting == "tags":
            settings["tags"] = [t for t in text.split(",") if t]
        else:
            settings[setting] = meta_value(text)
    return overrides, extensions


def run(args) -> int:
    fn = load_flow(args.target)
    overrides, extensions = parse_sets(args.sets)
    root = ensure_root(resolve_root(args.root))
    task = fn()
    if args.platform == "dask":
        platform = Dask(task, scheduler=args.scheduler, workers=args.dask_workers, root=root,
                        idle_timeout=args.idle_timeout)
    else:
        if args.scheduler:
            raise UsageError("--scheduler goes with --platform dask")
        platform = Local(task, root=root, idle_timeout=args.idle_timeout)
    try:
        task_id = platform.prepare()
        run_id = platform.run(overrides, extensions, detached=True, name=args.name,
                              folder=args.folder, tags=args.tag)
    except FlowError as exc:
        raise UsageError(str(exc)) from None
    info_line = f"flow {platform.task.name} (task {task_id}) as run"
    if args.detach:
        print(run_id)
        return 0
    print(f"Started {info_line} {run_id} in {root}; Ctrl-C closes it (resumable)")
    code = follow(root, run_id)
    aliases = list(platform.task.steps)
    rows = []
    for result in flow_results(root, run_id, aliases):
        rows.append([result.alias, result.status, result.name or "-",
                     str(len(result.outputs)), result.error or ""])
    print(table(["STEP", "STATUS", "RUN", "OUTPUTS", "ERROR"], rows, max_width={4: 50}))
    state = platform._state() or {}
    if code != 130 and not active_runs(root, state, platform.task_id):
        platform.stop()  # nothing else of this task runs: release the platform
    return code
