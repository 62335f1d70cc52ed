"""Watching the runs root with watchdog.

Only what can change is watched, each folder non-recursively: the root (runs
appearing and disappearing), the meta folders of live runs, and the run open in
the detail screen. That keeps 10,000 finished runs from costing 10,000 watches
(or a poll of every file).

A folder that changes many times a second (a run logging ten points a second
raises ten events a second, and watchdog spends ~0.2 ms of Python on each, across
three threads) is looked at instead: its watch is dropped and its entries are
stat'ed every ``HOT_POLL`` seconds (~20 us a look), the changes marked as events would have been,
until it has been quiet for ``COOL_AFTER`` seconds and is watched again. Ten live
runs cost the dashboard 2% of a core in watchdog alone before this.

On filesystems where writes from other machines raise no inotify event (NFS,
Lustre, GPFS, CIFS, SSHFS...), found in the mount table, a polling observer is
used instead; ``--poll SECONDS`` and ``--no-poll`` override the choice.
"""

import contextlib
import logging
import os
import threading
import time
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
# A look at a run's folder costs ~20 us, watchdog's handling of one event ~200 us:
# a folder changing many times a second is cheaper looked at. Not one changing a few
# times a second: its changes would wait for the next look instead of an event (a
# value logged every 0.3 s reached the screen 72 ms after the call, not 34 ms).
HOT_EVENTS = 8    # events a second from one folder that make it hot (looked at)
HOT_POLL = 0.05   # seconds between two looks at the hot folders
COOL_AFTER = 5.0  # seconds a hot folder stays unchanged before it is watched again
HOT_MOST = 64     # entries a folder may hold and be looked at (a run's folder: ~10;
                  # instances/ of a big run: thousands, each look would stat them all)
COUNT_EVERY = 1.0  # seconds between two looks at the event counts
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
        self.watcher.count(event.src_path)


class TooMany(Exception):
    """A folder holds more entries than a look may stat."""


def entries(folder: str, most: int | None = None) -> dict[str, tuple] | None:
    """What a look at a folder sees: name -> (inode, size, mtime); None if it is gone.
    Past ``most`` entries it stops (TooMany): a look costs ~2 us an entry."""
    seen = {}
    try:
        with os.scandir(folder) as found:
            for entry in found:
                if most is not None and len(seen) >= most:
                    raise TooMany(folder)
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue  # gone between the listing and the stat: not there
                seen[entry.name] = (st.st_ino, st.st_size, st.st_mtime_ns)
    except OSError:
        return None
    return seen


def differing(before: dict, after: dict) -> set[str]:
    return {name for name in before.keys() | after.keys() if before.get(name) != after.get(name)}


class RootWatcher:
    """Collects changed paths from watchdog's thread; ``on_dirty`` is called once per
    batch (the app turns it into one message) until ``take()`` empties it."""

    def __init__(self, root: Path, mode: str, interval: float | None,
                 on_dirty: Callable[[], None], hot_events: int = HOT_EVENTS,
                 cool_after: float = COOL_AFTER):
        self.root = root
        self.mode = mode
        self.interval = interval
        self.on_dirty = on_dirty
        self.hot_events = hot_events
        self.cool_after = cool_after
        self.observer = PollingObserver(timeout=interval) if mode == "polling" else Observer()
        self._handler = _Handler(self)
        self._watches: dict[Path, object] = {}
        self._lock = threading.Lock()
        self._pending: set[str] = set()
        self._started = False
        # hot folders (inotify only): folder -> (entries as last seen, last change)
        self.hot: dict[Path, tuple[dict, float]] = {}
        self._watch_lock = threading.RLock()  # the watches and hot folders change together
        self._counts: dict[str, int] = {}  # events by folder since the last look
        self._stop = threading.Event()
        self._looker = threading.Thread(target=self._look_loop, name="runyard-hot-folders",
                                        daemon=True)

    def start(self) -> None:
        self.observer.daemon = True
        self.observer.start()
        self._started = True
        self.watch(set())
        if self.mode == "inotify":
            self._looker.start()

    def stop(self) -> None:
        self._stop.set()
        if self._looker.is_alive():
            self._looker.join(5)
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
        with self._watch_lock:
            for folder in set(self.hot) - wanted:
                del self.hot[folder]
            for folder in set(self._watches) - wanted:
                self._unwatch(folder)
            for folder in wanted - set(self._watches) - set(self.hot):
                if self._watch_one(folder) and folder != self.root:
                    new.add(str(folder))
        if new and self._started:
            self.mark(new)

    def _watch_one(self, folder: Path) -> bool:
        if not folder.is_dir():
            return False
        try:
            self._watches[folder] = self.observer.schedule(
                self._handler, str(folder), recursive=False, event_filter=CHANGES)
        except OSError:
            return False  # gone already, or out of watches: the re-scan covers it
        return True

    def _unwatch(self, folder: Path) -> None:
        with contextlib.suppress(KeyError):
            self.observer.unschedule(self._watches.pop(folder))

    # -- hot folders -------------------------------------------------------------------
    def count(self, path: str) -> None:
        """An event from the folder holding ``path`` (watchdog's thread)."""
        folder = path.rpartition("/")[0]
        with self._lock:
            self._counts[folder] = self._counts.get(folder, 0) + 1

    def _look_loop(self) -> None:
        last_count = time.monotonic()
        while not self._stop.wait(HOT_POLL if self.hot else COUNT_EVERY):
            now = time.monotonic()
            try:
                if now - last_count >= COUNT_EVERY:
                    with self._lock:
                        counts, self._counts = self._counts, {}
                    rate = self.hot_events * (now - last_count)
                    last_count = now
                    for folder, seen in counts.items():
                        if seen >= rate:
                            self._heat(Path(folder))
                self._look(now)
            except Exception:  # logged; the next round looks again (a dead thread never would)
                logging.getLogger(__name__).exception("looking at the busy run folders")

    def _heat(self, folder: Path) -> None:
        """Look at ``folder`` instead of watching it (if it is small enough)."""
        if folder == self.root or folder not in self._watches:
            return
        try:
            found = entries(str(folder), HOT_MOST)
        except TooMany:
            return  # watched on: looking at it would cost more than its events
        with self._watch_lock:
            if folder not in self._watches:  # no longer wanted meanwhile
                return
            self._unwatch(folder)
            self.hot[folder] = (found or {}, time.monotonic())
        self.mark({str(folder)})  # what changed while the watch was being dropped

    def _look(self, now: float) -> None:
        """A look at each hot folder (outside the lock: watch() is the UI thread's):
        what changed is marked; one quiet for ``cool_after`` seconds, or grown past
        HOT_MOST entries, is watched again."""
        with self._watch_lock:
            hot = dict(self.hot)
        seen = {}
        for folder in hot:
            try:
                seen[folder] = entries(str(folder), HOT_MOST)
            except TooMany:
                seen[folder] = TooMany
        changed: set[str] = set()
        with self._watch_lock:
            for folder, (before, since) in hot.items():
                if self.hot.get(folder) is not hot[folder]:
                    continue  # dropped (or changed) by watch() meanwhile
                after = seen[folder]
                if after is None:  # gone: the folder above says so
                    del self.hot[folder]
                    changed.add(str(folder))
                elif after is TooMany:  # grown: its events cost less than looking now
                    if self._watch_one(folder):
                        del self.hot[folder]
                    changed.add(str(folder))
                elif names := differing(before, after):
                    changed |= {f"{folder}/{name}" for name in names}
                    self.hot[folder] = (after, now)
                elif now - since >= self.cool_after and self._watch_one(folder):
                    # watched again (if it cannot be, looked at on)
                    del self.hot[folder]
                    try:  # a change between the look and the watch raised no event
                        last = entries(str(folder), HOT_MOST) or {}
                    except TooMany:
                        last = {}
                    changed |= {str(folder)} if not last else \
                        {f"{folder}/{name}" for name in differing(after, last)}
        if changed:
            self.mark(changed)

    def describe(self) -> str:
        return "inotify" if self.mode == "inotify" else f"polling {self.interval:g}s"
