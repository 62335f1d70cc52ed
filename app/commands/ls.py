"""``runyard ls``: the runs of a root as a table or as JSON."""

import json
import sys

from runyard.engine import STATES, list_runs, resolve_root

from ..formatting import duration, short_time, table, unique_prefixes
from ..safe_text import one_line


def add_parser(sub):
    parser = sub.add_parser("ls", help="list runs", description="List the runs of a root.")
    parser.add_argument("--json", action="store_true", help="print a JSON list")
    parser.add_argument("--status", choices=(*STATES, "unreadable"), help="only this status")
    parser.add_argument("--folder", metavar="F", help="only runs in folder F or below it")
    parser.add_argument("--tag", metavar="T", help="only runs tagged T")
    return parser


def run(args) -> int:
    root = resolve_root(args.root)
    runs = list_runs(root, status=args.status, folder=args.folder, tag=args.tag)
    for info in runs:
        if info.error:
            print(f"runyard: run {one_line(info.id)} is unreadable: {one_line(info.error)}",
                  file=sys.stderr)
    if args.json:
        # one line: the C encoder is several times faster than an indented dump
        sys.stdout.write(json.dumps([info.summary() for info in runs]) + "\n")
        return 0
    if not runs:
        print(f"no runs in {one_line(root)}" + (" match" if args.status or args.folder or args.tag
                                      else ""))
        return 0
    prefixes = unique_prefixes([info.id for info in runs])
    rows = [[prefixes[info.id], info.name or "?", status_text(info), info.folder,
             ",".join(info.tags), short_time(info.attrs.get("started")),
             duration(info.duration())] for info in runs]
    print(table(["ID", "NAME", "STATUS", "FOLDER", "TAGS", "STARTED", "DURATION"], rows,
                max_width={1: 24, 3: 20, 4: 20}))
    return 0


def status_text(info) -> str:
    """The status, and why the run stopped when storage stopped it: ``lost (disk full)``."""
    reason = info.reason
    return f"{info.status} ({reason})" if reason else info.status
