"""Listing and finding runs in a root.

A listing reads one small file per run (``attrs.json``) and never a series. It
works on plain string paths (a ``Path`` per run costs more than parsing the file)
and streams: ``each_run`` yields one run at a time, ``load_runs`` reads a batch
of ids, so a dashboard can paint the newest page first and read the rest later.
"""

import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from .attrs_schema import texts
from .errors import AmbiguousRun, RunNotFound, RunyardError
from .ids import is_run_id
from .layout import META_SUFFIX, RunPaths, as_path
from .meta import parse_iso, read_attrs
from .names import lookup_name
from .procs import host_name
from .root import check_root
from .status import run_status
from .stop_reason import stop_reason

_STOPPED = ("failed", "terminated", "lost")  # the statuses that may have a reason


@dataclass(slots=True)
class RunInfo:
    """What a listing knows about one run."""

    id: str
    root: Path
    attrs: dict = field(default_factory=dict)
    status: str = "unreadable"
    error: str | None = None  # why the run cannot be read, when it cannot
    note: str | None = None   # what Slurm says of its job: why it waits, or how it ended

    @property
    def meta_dir(self) -> Path:
        return self.root / (self.id + META_SUFFIX)

    @property
    def paths(self) -> RunPaths:
        return RunPaths(self.root, self.id)

    @property
    def name(self) -> str:
        name = self.attrs.get("name")
        return name if isinstance(name, str) else ""

    @property
    def folder(self) -> str:
        folder = self.attrs.get("folder")
        return folder if isinstance(folder, str) else "/"

    @property
    def tags(self) -> list[str]:
        tags = self.attrs.get("tags")
        return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []

    @property
    def reason(self) -> str | None:
        """Why the run stopped, when storage stopped it: ``disk full``, ``disk quota
        exceeded`` or ``read-only filesystem`` (a fixed vocabulary: safe to print)."""
        if self.error is not None or self.status not in _STOPPED:
            return None
        return stop_reason(self.attrs, self.status,
                           os.path.join(self.root, self.id + META_SUFFIX))

    def duration(self) -> float | None:
        """Seconds from start to end (or to now while the run goes on)."""
        return _duration(self.attrs.get("started"), self.attrs.get("ended"), self.status)

    def summary(self) -> dict:
        """The listing fields as plain JSON."""
        attrs, status = self.attrs, self.status
        get = attrs.get
        name, folder, tags = get("name"), get("folder"), get("tags")
        return {
            "id": self.id,
            "name": name if type(name) is str else self.name,
            "status": status,
            "folder": folder if type(folder) is str else self.folder,
            "tags": list(tags) if type(tags) is list and texts(tags) else self.tags,
            "created": get("created"),
            "started": (started := get("started")),
            "ended": (ended := get("ended")),
            "duration": None if started is None else _duration(started, ended, status),
            "host": get("host"),
            "user": get("user"),
            "attempt": get("attempt", 0),
            "error": self.error,
            "reason": self.reason if status in _STOPPED else None,
            **({"slurm": slurm_summary(get("slurm"), self.note)} if get("slurm") else {}),
        }


def _duration(started, ended, status: str) -> float | None:
    """Seconds from ``started`` to ``ended`` (or to now while the run goes on)."""
    if type(started) is str and type(ended) is str:  # a finished run, as parse_iso would
        try:  # read it, without its checks twice over (a listing asks thousands)
            start, end = datetime.fromisoformat(started), datetime.fromisoformat(ended)
        except ValueError:
            start = end = None
        if start is not None and start.tzinfo is not None and end.tzinfo is not None \
                and 1 < start.year < 9999 and 1 < end.year < 9999:
            return max(0.0, (end - start).total_seconds())
    start = parse_iso(started)
    if start is None:
        return None
    end = parse_iso(ended)
    if end is None:
        if status not in ("running", "paused"):
            return None
        end = datetime.now(UTC)
    return max(0.0, (end - start).total_seconds())


def load_run(root: Path, run_id: str, now: float | None = None,
             seen_pids: dict | None = None) -> RunInfo:
    """One run, read; an unreadable run comes back with its reason in ``error``."""
    root = as_path(root)
    return _load(root, os.path.join(root, ""), run_id, now, seen_pids, host_name())


def _load(root: Path, base: str, run_id: str, now: float | None, seen_pids: dict | None,
          here: str, link: bool | None = None) -> RunInfo:
    """``base``: the root's path ending in a separator; ``here``: this host's name;
    ``link``: whether the meta folder is a symbolic link, if known from a scan."""
    if not is_run_id(run_id):  # a folder of another kind, or an id read from a file
        return RunInfo(run_id, root, {}, "unreadable", f"{os.path.join(base, run_id + META_SUFFIX)}"
                       " is not named after a run id")
    meta_dir = base + run_id + META_SUFFIX  # as os.path.join makes it, quicker
    if link is None:
        link = os.path.islink(meta_dir)
    if link:  # acting on it would write wherever it points
        return RunInfo(run_id, root, {}, "unreadable",
                       f"{meta_dir} is a symbolic link (runyard never makes one)")
    try:
        attrs = read_attrs(meta_dir, run_id)
    except RunyardError as exc:
        return RunInfo(run_id, root, {}, "unreadable", str(exc))
    info = RunInfo(run_id, root, attrs, run_status(attrs, meta_dir, now, seen_pids, here))
    if attrs.get("slurm") is not None and info.status in _ON_SLURM:
        _ask_slurm(info, attrs["slurm"])
    return info


_ON_SLURM = ("queued", "running", "paused")


def _ask_slurm(info: RunInfo, slurm: dict) -> None:
    """What became of a queued or live run's Slurm job: why it waits, or ``lost`` at
    once (with Slurm's word) when the job ended without the run's exit record. Left
    as the files say where Slurm cannot be asked."""
    from .slurm import queue

    if info.status != "queued" and slurm["for_attempt"] != info.attrs.get("attempt", 0):
        return  # its job is not the one of the attempt that runs
    answer = queue([slurm["job"]])
    if slurm["job"] not in answer:
        return  # no Slurm here to ask
    job = answer[slurm["job"]]
    if job is None or job.ended:
        what = "is no longer known to Slurm" if job is None else \
            f"ended {job.state}" + (f" ({job.reason})" if job.reason else "")
        when = "before the run started" if info.status == "queued" else \
            "without the run's exit record"
        info.status, info.note = "lost", f"Slurm job {slurm['job']} {what} {when}"
    elif info.status == "queued":
        info.note = f"{job.state.lower()}: {job.reason}" if job.reason else \
            job.state.lower()


def slurm_summary(slurm: dict, note: str | None) -> dict:
    """A run's Slurm job as a listing shows it (``ls --json``, ``show``)."""
    ends = slurm.get("ends")
    left = max(0.0, ends - time.time()) if isinstance(ends, int | float) else None
    return {"job": slurm.get("job"), "node": slurm.get("node"), "note": note,
            "time_left": left, "requeues": slurm.get("requeues", 0)}


def load_runs(root: Path, ids: Iterable[str], now: float | None = None,
              seen_pids: dict | None = None) -> list[RunInfo]:
    """The runs ``ids`` of ``root``, read, in the order given; each as ``load_run``
    reads it (an unreadable one with its reason). For a listing in pages: the
    newest ids of ``run_ids(root)`` first, then the others in batches."""
    now = time.time() if now is None else now
    seen_pids = {} if seen_pids is None else seen_pids
    base, here = os.path.join(root, ""), host_name()
    return [_load(root, base, run_id, now, seen_pids, here) for run_id in ids]


def run_ids(root: Path) -> list[str]:
    """Ids of every run in the root with a meta folder, oldest first (ids sort by
    creation time): ``run_ids(root)[-50:]`` are the 50 newest."""
    return _scan(root)[0]


def _scan(root: Path) -> tuple[list[str], dict[str, bool | None]]:
    """Each run id with a meta folder, oldest first, and the ids of those whose meta
    folder is a symbolic link (True) or may be one (None), as the directory says (no
    system call where it gives the kind of each entry)."""
    check_root(root)
    ids, links = [], {}
    with os.scandir(root) as entries:
        for entry in entries:
            name = entry.name
            if not name.endswith(META_SUFFIX) or name.startswith("."):
                continue
            try:
                folder = entry.is_dir()
            except OSError:  # cannot be told apart from a folder (a symlink loop):
                folder = True  # listed, and then unreadable with its reason
            if not folder:
                continue
            run_id = name[: -len(META_SUFFIX)]
            ids.append(run_id)
            try:
                if entry.is_symlink():
                    links[run_id] = True
            except OSError:
                links[run_id] = None
    ids.sort()  # strings sort quicker alone than in pairs
    return ids, links


def each_run(root: Path, *, status: str | None = None, folder: str | None = None,
             tag: str | None = None) -> Iterator[RunInfo]:
    """Every run in the root, oldest first, optionally filtered, read one at a time
    (a listing need not hold them all). ``folder`` matches the folder and the folders
    below it."""
    root = as_path(root)
    return each_scanned(root, scan_runs(root), status=status, folder=folder, tag=tag)


def scan_runs(root: Path) -> tuple[list[str], dict[str, bool | None]]:
    """The ids of the root's runs, oldest first, and which meta folders are (or may be)
    symbolic links: what ``each_scanned`` reads, whole or a part at a time."""
    return _scan(root)


def each_scanned(root: Path, scanned: tuple[list[str], dict[str, bool | None]], *,
                 status: str | None = None, folder: str | None = None,
                 tag: str | None = None) -> Iterator[RunInfo]:
    """The runs of ``scanned`` (``scan_runs``, its ids sliced as one likes), read and
    filtered as ``each_run`` does."""
    seen_pids: dict = {}
    now = time.time()
    base, here = os.path.join(root, ""), host_name()
    ids, links = scanned
    for run_id in ids:
        info = _load(root, base, run_id, now, seen_pids, here, links.get(run_id, False))
        if status and info.status != status:
            continue
        if folder and not _in_folder(info.folder, folder):
            continue
        if tag and tag not in info.tags:
            continue
        yield info


def list_runs(root: Path, *, status: str | None = None, folder: str | None = None,
              tag: str | None = None) -> list[RunInfo]:
    """Every run in the root, oldest first, optionally filtered (see ``each_run``)."""
    return list(each_run(root, status=status, folder=folder, tag=tag))


def _in_folder(run_folder: str, folder: str) -> bool:
    folder = folder.rstrip("/") or "/"
    return folder == "/" or run_folder == folder or run_folder.startswith(folder + "/")


def find_run(root: Path, ref: str) -> RunInfo:
    """The run ``ref`` names: a whole id, a name, or an unambiguous id prefix.

    Names are claimed by whoever creates a run, and the name index can be written by
    everyone sharing the root, so neither is taken on trust: a name counts only if
    the run it leads to bears that name, and a ref that is one run's name and the
    start of another run's id is ambiguous (a stranger's run named like the prefix
    ``ls`` prints must not capture ``pause PREFIX``).
    """
    root = check_root(root)
    if is_run_id(ref) and (root / (ref + META_SUFFIX)).is_dir():
        return load_run(root, ref)
    named = _by_name(root, ref)
    matches = [run_id for run_id in run_ids(root) if run_id.startswith(ref)] if ref else []
    if named is not None and any(run_id != named.id for run_id in matches):
        raise AmbiguousRun(f"{ref!r} is the name of run {named.id} and the start of the id "
                           f"of run {next(i for i in matches if i != named.id)} in {root}: "
                           "give the whole id")
    if named is not None:
        return named
    if len(matches) == 1:
        return load_run(root, matches[0])
    if matches:
        shown = ", ".join(matches[:5]) + (" ..." if len(matches) > 5 else "")
        raise AmbiguousRun(f"{ref!r} matches {len(matches)} runs in {root}: {shown}")
    raise RunNotFound(f"no run named {ref!r} or with an id starting {ref!r} in {root}")


def _by_name(root: Path, name: str) -> RunInfo | None:
    """The run the name index gives for ``name``, if that run is really named so."""
    run_id = lookup_name(root, name)
    if run_id is None:
        return None
    info = load_run(root, run_id)
    if info.error is not None:
        return info  # cannot be checked, and cannot be acted on: shown as unreadable
    return info if info.name == name else None
