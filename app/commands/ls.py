"""``runyard ls``: the runs of a root as a table or as JSON."""

import gc
import os
import sys
from contextlib import contextmanager

from runyard.engine import STATES, resolve_root
from runyard.engine.store import each_scanned, scan_runs

from ..formatting import ascii_json_bytes, duration, short_time, table, unique_prefixes
from ..safe_text import one_line
from . import help_of

JSON_CHUNK = 1000  # runs encoded at once by ``ls --json``; none are kept after
SPLIT_FROM = 4000  # runs: ``ls --json`` of this many reads them in two processes


def add_parser(sub):
    parser = sub.add_parser("ls", help=help_of("ls"), description="List the runs of a root.")
    parser.add_argument("--json", action="store_true", help="print a JSON list")
    parser.add_argument("--status", choices=(*STATES, "unreadable"), help="only this status")
    parser.add_argument("--folder", metavar="F", help="only runs in folder F or below it")
    parser.add_argument("--tag", metavar="T", help="only runs tagged T")
    return parser


def run(args) -> int:
    root = resolve_root(args.root)
    filters = {"status": args.status, "folder": args.folder, "tag": args.tag}
    scanned = scan_runs(root)
    if args.json:
        with no_cycle_collection():
            write_json(root, scanned, filters)
        return 0
    runs = list(each_scanned(root, scanned, **filters))
    for info in runs:
        if info.error:
            report_unreadable(info)
    if not runs:
        print(f"no runs in {one_line(root)}" + (" match" if args.status or args.folder or args.tag
                                      else ""))
        return 0
    prefixes = unique_prefixes([info.id for info in runs])
    from ..eta_text import progress_text

    rows = [[prefixes[info.id], info.name or "?", status_text(info), info.folder,
             ",".join(info.tags), short_time(info.attrs.get("started")),
             duration(info.duration()), progress_text(info, width=14)] for info in runs]
    print(table(["ID", "NAME", "STATUS", "FOLDER", "TAGS", "STARTED", "DURATION",
                 "PROGRESS"], rows, max_width={1: 24, 3: 20, 4: 20, 7: 14}))
    return 0


def report_unreadable(info) -> None:
    """An unreadable run reported on stderr."""
    sys.stderr.write(unreadable_line(info))


def unreadable_line(info) -> str:
    return f"runyard: run {one_line(info.id)} is unreadable: {one_line(info.error)}\n"


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


def write_json(root, scanned, filters: dict) -> None:
    """The runs' summaries as one JSON list on one line, written JSON_CHUNK runs at
    a time: a listing of 50,000 runs never holds them all. Bytes go straight to
    stdout's buffer, when it has one; unreadable runs are also reported on stderr.
    A long listing is read by two processes where there are two cores: the second
    half by a child, into files this process copies out after the first half, so
    the output is the same, in the same order."""
    sys.stdout.flush()
    buffer = getattr(sys.stdout, "buffer", None)
    write = buffer.write if buffer is not None and _ascii_as_is(sys.stdout) else _write_text
    ids, links = scanned
    half = len(ids) // 2 if len(ids) >= SPLIT_FROM and _cores() > 1 else len(ids)
    behind = _Behind.start(root, (ids[half:], links), filters) if half < len(ids) else None
    try:
        opening = write_runs(write, each_scanned(root, (ids[:half], links), **filters), b"[",
                             report_unreadable)
        if behind is not None:
            opening = behind.hand_over(write, opening)
        elif half < len(ids):  # no child could be started: the rest read here
            opening = write_runs(write, each_scanned(root, (ids[half:], links), **filters),
                                 opening, report_unreadable)
    finally:
        if behind is not None:
            behind.abandon()
    write(b"[]\n" if opening == b"[" else b"]\n")


def write_runs(write, runs, opening: bytes, report) -> bytes:
    """The summaries of ``runs`` written in chunks, the first after ``opening``, each
    unreadable run given to ``report``; what opens the next chunk."""
    chunk = []
    for info in runs:
        if info.error:
            report(info)
        chunk.append(info.summary())  # now, while the run's record is in the CPU's caches
        if len(chunk) == JSON_CHUNK:
            opening, chunk = _write_chunk(write, opening, chunk), []
    if chunk:
        opening = _write_chunk(write, opening, chunk)
    return opening


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class _Behind:
    """The second half of a long listing, read by a forked child: its JSON (each
    chunk opened by a comma) into one unnamed file, its unreadable runs' lines into
    another, handed over once the first half is written."""

    def __init__(self, pid: int, out, errors, again):
        self.pid, self.out, self.errors, self.again = pid, out, errors, again

    @classmethod
    def start(cls, root, scanned, filters: dict) -> "_Behind | None":
        import tempfile

        out = None
        try:  # both closed by abandon()
            out = tempfile.TemporaryFile()  # noqa: SIM115
            errors = tempfile.TemporaryFile()  # noqa: SIM115
        except OSError:  # nowhere to spill: one process reads it all
            if out is not None:
                out.close()
            return None
        again = lambda: each_scanned(root, scanned, **filters)  # noqa: E731
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            code = 1
            try:
                write_runs(out.write, again(), b",",
                           lambda info: errors.write(unreadable_line(info).encode()))
                out.flush()
                errors.flush()
                code = 0
            finally:
                os._exit(code)
        return cls(pid, out, errors, again)

    def hand_over(self, write, opening: bytes) -> bytes:
        """The child's output after ``opening``'s; what opens the next chunk. Should
        the child have failed (no room for its files, killed), the half is read here."""
        _pid, status = os.waitpid(self.pid, 0)
        self.pid = None
        if os.waitstatus_to_exitcode(status) != 0:
            return write_runs(write, self.again(), opening, report_unreadable)
        self.errors.seek(0)
        while block := self.errors.read(1 << 20):
            sys.stderr.write(block.decode("utf-8", errors="replace"))
        self.out.seek(0)
        if not self.out.read(1):  # the comma opening its first chunk, or nothing at all
            return opening
        write(opening)
        while block := self.out.read(1 << 20):
            write(block)
        return b","

    def abandon(self) -> None:
        """The child stopped and its files gone (the listing ended early: a closed
        pipe, Ctrl-C)."""
        if self.pid is not None:
            import signal

            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            self.pid = None
        self.out.close()
        self.errors.close()


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
    """The status, and why the run stopped when storage stopped it: ``lost (disk full)``;
    or what Slurm says of its job: ``queued (pending: Priority)``."""
    reason = info.reason or info.note
    return f"{info.status} ({one_line(reason, limit=80)})" if reason else info.status
