"""``runyard ls``: the runs of a root as a table or as JSON."""

import gc
import sys
from contextlib import contextmanager

from runyard.engine import STATES, resolve_root
from runyard.engine.store import each_run

from ..formatting import ascii_json_bytes, duration, short_time, table, unique_prefixes
from ..safe_text import one_line
from . import help_of

JSON_CHUNK = 1000  # runs encoded at once by ``ls --json``; none are kept after


def add_parser(sub):
    parser = sub.add_parser("ls", help=help_of("ls"), description="List the runs of a root.")
    parser.add_argument("--json", action="store_true", help="print a JSON list")
    parser.add_argument("--status", choices=(*STATES, "unreadable"), help="only this status")
    parser.add_argument("--folder", metavar="F", help="only runs in folder F or below it")
    parser.add_argument("--tag", metavar="T", help="only runs tagged T")
    return parser


def run(args) -> int:
    root = resolve_root(args.root)
    runs = each_run(root, status=args.status, folder=args.folder, tag=args.tag)
    if args.json:
        with no_cycle_collection():
            write_json(runs)
        return 0
    runs = list(runs)
    for info in runs:
        if info.error:
            report_unreadable(info)
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


def report_unreadable(info) -> None:
    """An unreadable run reported on stderr."""
    print(f"runyard: run {one_line(info.id)} is unreadable: {one_line(info.error)}",
          file=sys.stderr)


@contextmanager
def no_cycle_collection():
    """The cycle collector paused: a listing makes millions of small objects, none in
    a cycle (they go with their last reference), and the collector would walk them
    all again and again; about a tenth of the time of ``ls --json``."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def write_json(runs) -> None:
    """The runs' summaries as one JSON list on one line, written JSON_CHUNK runs at
    a time: a listing of 50,000 runs never holds them all. Bytes go straight to
    stdout's buffer, when it has one; unreadable runs are also reported on stderr."""
    sys.stdout.flush()
    buffer = getattr(sys.stdout, "buffer", None)
    write = buffer.write if buffer is not None and _ascii_as_is(sys.stdout) else _write_text
    opening, chunk = b"[", []
    for info in runs:
        if info.error:
            report_unreadable(info)
        chunk.append(info.summary())  # now, while the run's record is in the CPU's caches
        if len(chunk) == JSON_CHUNK:
            opening, chunk = _write_chunk(write, opening, chunk), []
    if chunk:
        opening = _write_chunk(write, opening, chunk)
    write(b"[]\n" if opening == b"[" else b"]\n")


def _write_chunk(write, opening: bytes, chunk: list[dict]) -> bytes:
    """``chunk``'s summaries written after ``opening``; what opens the next chunk."""
    write(opening)
    write(memoryview(ascii_json_bytes(chunk))[1:-1])
    return b","


# every character ls --json writes
_PROBE = "[]{}:,\"\\-+.0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ \n"


def _ascii_as_is(stream) -> bool:
    """Whether ``stream`` writes ASCII as the bytes of ASCII (UTF-8, Latin-1, ... but
    not UTF-16, say): then bytes may go to its buffer directly."""
    encoding = getattr(stream, "encoding", None)
    try:
        return bool(encoding) and _PROBE.encode(encoding) == _PROBE.encode("ascii")
    except LookupError:
        return False


def _write_text(data) -> None:
    """Bytes of ASCII written to a stdout that takes only text (a test's)."""
    sys.stdout.write(bytes(data).decode("ascii"))


def status_text(info) -> str:
    """The status, and why the run stopped when storage stopped it: ``lost (disk full)``."""
    reason = info.reason
    return f"{info.status} ({reason})" if reason else info.status
