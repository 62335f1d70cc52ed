"""Watching the runs root with watchdog.

Only what can change is watched, each folder non-recursively: the root (runs
appearing and disappearing), the meta folders of live runs, and the run open in
the detail screen. That keeps 10,000 finished runs from costing 10,000 watches
(or a poll of every file).

On filesystems where writes from other machines raise no inotify event (NFS,
Lustre, GPFS, CIFS, SSHFS...), found in the mount table, a polling observer is
used instead; ``--poll SECONDS`` and ``--no-poll`` override the choice.
"""

import contextlib
import os
import threading
from collections.abc import Callable
from pathlib import Path

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirModifiedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

NETWORK_FILESYSTEMS = {
    "nfs", "nfs4", "lustre", "gpfs", "cifs", "smb", "smb2", "smb3", "smbfs", "fuse.sshfs",
    "sshfs", "beegfs", "fuse.beegfs", "panfs", "ceph", "fuse.ceph", "glusterfs",
    "fuse.glusterfs", "afs", "9p", "fuse.s3fs", "davfs", "fuse.rclone", "wekafs", "orangefs",
}
DEFAULT_POLL = 2.0
# Changes only: without a filter inotify also reports every open and every read-only
# close, and the dashboard's own reads of a live run would wake watchdog's thread
# ten times for each change it has to show.
CHANGES = [FileCreatedEvent, FileDeletedEvent, FileModifiedEvent, FileMovedEvent,
           FileClosedEvent, DirCreatedEvent, DirDeletedEvent, DirModifiedEvent, DirMovedEvent]


def filesystem_type(path: Path, mounts: str = "/proc/mounts") -> str:
    """The type of the filesystem holding ``path``, from the mount table."""
    target = os.path.realpath(path)
    while not os.path.exists(target):
        target = os.path.dirname(target)
    best, kind = "", "unknown"
    try:
        with open(mounts) as table:
            for line in table:
                fields = line.split()
                if len(fields) < 3:
                    continue
                point = fields[1].replace("\\040", " ")
                inside = target == point or target.startswith(point.rstrip("/") + "/")
                if inside and len(point) >= len(best):
                    best, kind = point, fields[2]
    except OSError:
        pass
    return kind


def choose_mode(root: Path, poll: float | None = None, no_poll: bool = False
                ) -> tuple[str, float | None, str]:
    """("inotify" or "polling", the interval, why)."""
    if poll is not None:
        return "polling", poll, "--poll"
    kind = filesystem_type(root)
    if no_poll:
        return "inotify", None, "--no-poll"
    if kind in NETWORK_FILESYSTEMS:
        return "polling", DEFAULT_POLL, f"{kind} delivers no events for other machines"
    return "inotify", None, f"{kind} filesystem"


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: "RootWatcher"):
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        paths = {event.src_path}
        if getattr(event, "dest_path", ""):
            paths.add(event.dest_path)
        self.watcher.mark(paths)


class RootWatcher:
    """Collects changed paths from watchdog's thread; ``on_dirty`` is called once per
    batch (the app turns it into one message) until ``take()`` empties it."""

    def __init__(self, root: Path, mode: str, interval: float | None,
                 on_dirty: Callable[[], None]):
        self.root = root
        self.mode = mode
        self.interval = interval
        self.on_dirty = on_dirty
        self.observer = PollingObserver(timeout=interval) if mode == "polling" else Observer()
        self._handler = _Handler(self)
        self._watches: dict[Path, object] = {}
        self._lock = threading.Lock()
        self._pending: set[str] = set()
        self._started = False

    def start(self) -> None:
        self.observer.daemon = True
        self.observer.start()
        self._started = True
        self.watch(set())

    def stop(self) -> None:
        self.observer.stop()
        if self.observer.is_alive():  # it may never have started (an early error)
            self.observer.join(5)

    def mark(self, paths: set[str]) -> None:
        with self._lock:
            first = not self._pending
            self._pending |= paths
        if first:
            self.on_dirty()

    def take(self) -> set[str]:
        with self._lock:
            pending, self._pending = self._pending, set()
        return pending

    def watch(self, folders: set[Path]) -> None:
        """Watch the root and exactly these folders (each non-recursively). A folder
        watched from now on is marked changed: what changed in it before its watch
        was in place raised no event. One that does not exist is not watched, nor
        marked (it was marked changed on every call, and each mark made the
        dashboard read the open run again: a loop); its creation is an event of
        the folder above it, and it is watched and marked at the next call."""
        wanted = {self.root, *folders}
        new = set()
        for folder in set(self._watches) - wanted:
            with contextlib.suppress(KeyError):
                self.observer.unschedule(self._watches.pop(folder))
        for folder in wanted - set(self._watches):
            if folder.is_dir():
                try:
                    self._watches[folder] = self.observer.schedule(
                        self._handler, str(folder), recursive=False, event_filter=CHANGES)
                except OSError:
                    continue  # gone already, or out of watches: the re-scan covers it
                if folder != self.root:
                    new.add(str(folder))
        if new and self._started:
            self.mark(new)

    def describe(self) -> str:
        return "inotify" if self.mode == "inotify" else f"polling {self.interval:g}s"
