"""``runyard dash`` (or plain ``runyard``): the dashboard."""

import os
import sys
from pathlib import Path

from runyard.engine import check_root, resolve_root

from ..arguments import positive_seconds
from . import help_of


def add_watch_options(parser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--poll", type=positive_seconds, metavar="SECONDS",
                       help="poll the runs directory every SECONDS instead of inotify")
    group.add_argument("--no-poll", action="store_true",
                       help="use inotify even on a network filesystem")


def add_parser(sub):
    parser = sub.add_parser("dash", help=help_of("dash"),
                            description="Open the dashboard on the runs directory.")
    add_watch_options(parser)
    return parser


def open_dashboard(root: Path, poll: float | None = None, no_poll: bool = False) -> int:
    if os.path.lexists(root):  # one that does not exist yet is offered to be made
        check_root(root)
    if poll is not None and not 0 < poll < float("inf"):
        raise ValueError(f"--poll takes a positive number of seconds, got {poll}")
    from ..dashboard import RunyardApp  # textual is loaded only here

    return run_dashboard(RunyardApp(root, poll=poll, no_poll=no_poll))


def run_dashboard(app) -> int:
    """Run the app; after an unexpected error, say where its traceback went and exit 1
    (Textual has put the terminal back by then)."""
    from ..crash import crash_folder, write_crash_report
    from ..safe_text import one_line

    try:
        app.run()
    except Exception as exc:  # raised while Textual shut down: the same kind of crash
        app.crash_error = app.crash_error or exc
        app.crash_report = app.crash_report or write_crash_report(exc)
        app._return_code = 1
    code = app.return_code or 0
    if code and app.crash_error is not None:
        error = app.crash_error
        what = one_line(f"{type(error).__name__}: {error}", limit=300)
        where = f"the full traceback is in {app.crash_report}" if app.crash_report else \
            "its traceback could not be written to " + str(crash_folder())
        print(f"runyard: the dashboard stopped on an unexpected error ({what}); {where}",
              file=sys.stderr)
    return code


def run(args) -> int:
    return open_dashboard(resolve_root(args.root), getattr(args, "poll", None),
                          getattr(args, "no_poll", False))
