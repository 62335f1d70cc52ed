"""``runyard demo``: fill a demo runs directory with live runs and open the dashboard."""

from pathlib import Path

from runyard.engine import ensure_root, list_runs
from runyard.engine.demo import make_demo

from ..arguments import positive_seconds
from . import help_of
from .dash import add_watch_options, open_dashboard

DEFAULT_DEMO_ROOT = "runyard-demo"


def add_parser(sub):
    parser = sub.add_parser("demo", help=help_of("demo"),
                            description="Create demo runs in --root (default "
                            f"./{DEFAULT_DEMO_ROOT}): finished, failed, lost and queued "
                            "ones, one live with an alert that fires, one with instances, "
                            "one paused; then open the dashboard on them.")
    parser.add_argument("--seconds", type=positive_seconds, default=600.0,
                        help="how long the live demo runs go on (default 600)")
    parser.add_argument("--no-open", action="store_true",
                        help="only create the runs and list them")
    add_watch_options(parser)
    return parser


def run(args) -> int:
    root = Path(args.root or DEFAULT_DEMO_ROOT).absolute()
    ensure_root(root)
    if not any(info.status in ("running", "paused") for info in list_runs(root)):
        make_demo(root, live_seconds=args.seconds)
        print(f"Created demo runs in {root}")
    if args.no_open:
        from . import ls

        args.root, args.json = str(root), False
        args.status = args.folder = args.tag = None
        return ls.run(args)
    return open_dashboard(root, args.poll, args.no_poll)
