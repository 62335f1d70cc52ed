"""``runyard run``: start a run module, an operation, a pyalma experiment or a command.

    runyard run extract.py --instances data/*.txt --workers 4
    runyard run extract                        # an operation in runyard.toml
    runyard run all.experiment                 # pyalma's JSON files
    runyard run -- python train.py --lr 0.1    # a plain command

Without --detach it shows progress and waits; Ctrl-C closes the run gracefully
(resumable). The run itself is detached: a hang-up or a kill of this command
stops nothing.
"""

import signal
import sys
import time
from pathlib import Path

from runyard.engine import ensure_root, resolve_root
from runyard.engine.control import close, start
from runyard.engine.errors import UsageError
from runyard.engine.executors import EXECUTORS
from runyard.engine.spec import RunSpec
from runyard.engine.store import load_run

from ..arguments import non_negative_int, positive_int, seconds
from ..formatting import duration, run_label
from ..run_request import ATTR_KEYS, SPEC_KEYS, RunRequest, parse_meta, parse_slurm_text
from ..run_request import build as build_request
from ..safe_text import one_line
from . import help_of

ENDED = ("completed", "failed", "terminated", "lost")


def add_parser(sub):
    parser = sub.add_parser("run", help=help_of("run"),
                            description="Start a run module (MODULE.py), an operation of "
                            "runyard.toml (NAME), a pyalma .experiment file, or a command "
                            "after '--'.")
    parser.add_argument("target", nargs="?", metavar="MODULE.py|NAME|FILE.experiment")
    parser.add_argument("--instances", nargs="+", metavar="PATH_OR_GLOB", default=None)
    parser.add_argument("--workers", type=positive_int)
    parser.add_argument("--iterations", type=positive_int)
    parser.add_argument("--name")
    parser.add_argument("--folder")
    parser.add_argument("--tag", action="append", default=[], metavar="T")
    parser.add_argument("--meta", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--description")
    parser.add_argument("--executor", choices=EXECUTORS)
    parser.add_argument("--scheduler", metavar="tcp://HOST:PORT")
    parser.add_argument("--max-attempts", type=positive_int, dest="max_attempts")
    parser.add_argument("--grace", type=seconds, help="seconds between SIGTERM and SIGKILL "
                        "when the run is closed (default 10)")
    parser.add_argument("--stalled-after", type=seconds, dest="stalled_after",
                        metavar="SECONDS", help="raise the 'stalled' alert after this "
                        "long with nothing recorded (default 900; 0: never)")
    parser.add_argument("--on", choices=("here", "slurm"),
                        help="where the run's supervisor runs: here (default) or as a "
                        "Slurm batch job")
    parser.add_argument("--slurm", action="append", default=[], metavar="KEY=VALUE,...",
                        help="the Slurm job's resources: partition, time, cpus-per-task, "
                        "mem, gpus, account, qos... (with --on slurm; with --executor slurm, each "
                        "worker job's)")
    parser.add_argument("--sbatch", action="append", default=[], metavar="OPTION",
                        help="another sbatch directive, as --sbatch=--mail-type=END")
    parser.add_argument("--requeue", type=non_negative_int, metavar="N",
                        help="when the Slurm job's time is up, submit up to N next "
                        "attempts (default 0)")
    parser.add_argument("--walltime-alert", type=seconds, dest="walltime_alert",
                        metavar="SECONDS", help="raise the 'walltime' alert when the "
                        "Slurm job has less than SECONDS left (with --on slurm)")
    parser.add_argument("--detach", action="store_true",
                        help="return at once, printing the run id and name")
    parser.set_defaults(command_argv=None)
    return parser


def build(args) -> tuple[RunSpec, dict, list]:
    """The spec, run attributes and alerts the arguments describe (run_request.py
    checks them, as it does the dashboard's start form)."""
    slurm = parse_slurm(args)
    request = RunRequest(target=args.target, command=args.command_argv,
                         instances=args.instances or [], tags=list(args.tag),
                         metadata=parse_meta(args.meta),
                         **{k: getattr(args, k) for k in (*SPEC_KEYS, *ATTR_KEYS)
                            if k != "slurm"}, slurm=slurm)
    return build_request(request)


def parse_slurm(args) -> dict | None:
    """``--slurm partition=compute,time=04:00:00`` (repeatable) and ``--sbatch``
    directives as the run's Slurm settings (None if none were given); a
    ``requeue=N`` among them is taken as ``--requeue`` when that is not given."""
    found: dict = {}
    for text in args.slurm:
        settings, requeue = parse_slurm_text(text)
        extra = [*found.get("extra", []), *settings.pop("extra", [])]
        found.update(settings, **({"extra": extra} if extra else {}))
        if requeue is not None and args.requeue is None:
            args.requeue = requeue
    if args.sbatch:
        found["extra"] = [*found.get("extra", []), *args.sbatch]
    return found or None


def run(args) -> int:
    spec, attrs, alerts = build(args)
    root = ensure_root(resolve_root(args.root))
    try:
        info = start(root, spec, alerts=alerts, **attrs)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.detach:
        print(f"{info.id} {one_line(info.name)}")
        return 0
    how = f"Queued run {run_label(info)} as Slurm job {info.attrs['slurm']['job']}" \
        if info.status == "queued" else f"Started run {run_label(info)}"
    print(f"{how} in {one_line(root)}; Ctrl-C closes it (resumable)")
    return follow(root, info.id)


def follow(root: Path, run_id: str) -> int:
    """Show progress until the run ends; its exit code."""
    closing = False
    close_sent = False
    started = time.monotonic()

    def interrupted(_signum, _frame):
        nonlocal closing
        if closing:
            raise KeyboardInterrupt
        closing = True

    previous = signal.signal(signal.SIGINT, interrupted)
    try:
        while True:
            info = load_run(root, run_id)
            if closing and not close_sent and info.status in ("running", "paused", "queued"):
                print("\nClosing the run gracefully (Ctrl-C again stops waiting)...")
                close(root, run_id)
                close_sent = True
            show_progress(info, time.monotonic() - started)
            if info.status in ENDED:
                if sys.stdout.isatty():
                    print()
                break
            time.sleep(0.25)
    except KeyboardInterrupt:
        print(f"\nStopped waiting; the run goes on closing. Check it with: runyard show "
              f"{run_id}")
        return 130
    finally:
        signal.signal(signal.SIGINT, previous)
    exit_record = info.attrs.get("exit") or {}
    note = f": {one_line(exit_record['error'])}" if exit_record.get("error") else ""
    print(f"Run {run_label(info)} {one_line(info.status)}{note}")
    return 0 if info.status == "completed" else 1


def show_progress(info, elapsed: float) -> None:
    if not sys.stdout.isatty():
        return  # a log file gets the start and end lines only
    if info.attrs.get("kind") == "command":
        sys.stdout.write(f"\r{one_line(info.status, 20):<10} {duration(elapsed)}")
        sys.stdout.flush()
        return
    progress = info.attrs.get("progress") or {}
    total = progress.get("total") or 0
    done = progress.get("done", 0)
    failed = progress.get("failed", 0)
    width = 30
    filled = int(width * (done + failed) / total) if total else 0
    bar = "#" * filled + "." * (width - filled)
    extra = f", {failed} failed" if failed else ""
    unit = "steps" if info.attrs.get("kind") == "flow" else "instances"
    line = (f"\r[{bar}] {done}/{total} {unit}{extra}  {one_line(info.status, 20):<10} "
            f"{duration(elapsed)}")
    sys.stdout.write(line)
    sys.stdout.flush()
