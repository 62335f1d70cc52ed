"""``runyard sync [SPOOL]``: bring offline runs from a spool into the runs root."""

import sys

from runyard.engine import resolve_root
from runyard.engine.spool import spool_root, sync_spool

from ..safe_text import one_line
from . import help_of


def add_parser(sub):
    parser = sub.add_parser(
        "sync", help=help_of("sync"),
        description="Copy the runs of an offline spool (default $RUNYARD_SPOOL, else the "
        "user cache dir) into the root. Finished runs leave the spool; live ones are "
        "copied incrementally and stay. Safe to repeat.")
    parser.add_argument("spool", nargs="?", metavar="SPOOL")
    return parser


def run(args) -> int:
    spool = spool_root(args.spool)
    root = resolve_root(args.root)
    report = sync_spool(spool, root)
    live = len(report.synced) - len(report.removed)
    print(f"Synced {len(report.synced)} runs from {spool} to {root} "
          f"({report.bytes_copied} bytes): {len(report.removed)} finished and moved, "
          f"{live} still live")
    for old, new in report.renamed.items():
        print(f"  name {one_line(old)!r} was taken in the root: synced as {one_line(new)!r}")
    for problem in report.problems:
        print(f"runyard: not synced: {one_line(problem)}", file=sys.stderr)
    return 1 if report.problems else 0
