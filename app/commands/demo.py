"""``runyard demo``: fill a demo runs directory and show it."""

from pathlib import Path

from runyard.engine import ensure_root, list_runs
from runyard.engine.demo import make_demo

DEFAULT_DEMO_ROOT = "runyard-demo"


def add_parser(sub):
    parser = sub.add_parser("demo", help="create a demo runs directory and show it",
                            description="Create a few demo runs (one of them live) in "
                            f"--root (default ./{DEFAULT_DEMO_ROOT}) and list them.")
    parser.add_argument("--seconds", type=float, default=600.0,
                        help="how long the live demo run goes on (default 600)")
    return parser


def run(args) -> int:
    from . import ls

    root = Path(args.root or DEFAULT_DEMO_ROOT).absolute()
    ensure_root(root)
    if not list_runs(root):
        make_demo(root, live_seconds=args.seconds)
        print(f"Created demo runs in {root}")
    args.root = str(root)
    args.json = False
    args.status = args.folder = args.tag = None
    return ls.run(args)
