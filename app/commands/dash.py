"""``runyard dash`` (or plain ``runyard``): the dashboard."""

from pathlib import Path

from runyard.engine import check_root, resolve_root

from ..arguments import positive_seconds


def add_watch_options(parser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--poll", type=positive_seconds, metavar="SECONDS",
                       help="poll the runs directory every SECONDS instead of inotify")
    group.add_argument("--no-poll", action="store_true",
                       help="use inotify even on a network filesystem")


def add_parser(sub):
    parser = sub.add_parser("dash", help="open the dashboard (the default command)",
                            description="Open the dashboard on the runs directory.")
    add_watch_options(parser)
    return parser


def open_dashboard(root: Path, poll: float | None = None, no_poll: bool = False) -> int:
    check_root(root)
    if poll is not None and not 0 < poll < float("inf"):
        raise ValueError(f"--poll takes a positive number of seconds, got {poll}")
    from ..dashboard import RunyardApp  # textual is loaded only here

    RunyardApp(root, poll=poll, no_poll=no_poll).run()
    return 0


def run(args) -> int:
    return open_dashboard(resolve_root(args.root), getattr(args, "poll", None),
                          getattr(args, "no_poll", False))
