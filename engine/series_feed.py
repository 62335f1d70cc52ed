"""One reader per series file for everyone in the process who follows it.

The runs table's cells (read by the dashboard's refresh thread) and a run's
detail screen (read by a worker thread) follow the same live files. Each read
them from an offset of its own, so every byte a live run appended was read and
decoded twice while its detail screen was open. A ``Follower`` is one consumer's
place in one file; it reads through the file's ``Feed``: whoever pulls first reads
and decodes what was appended, once, and hands the records to the file's other
followers, which take them at their next pull, on their own threads.

- A new follower first catches up with a reader of its own: what it wants of the
  file (its first read may take only the end, as ``SeriesReader.chunks`` does
  with a backlog) up to where the feed stands; then it joins the feed. The long
  part of that is read without the feed's lock, so the others are not held.
- A follower that does not pull while others do (a detail screen kept after it
  closed) holds what they read for it, up to INBOX_MAX bytes of the file; beyond
  that it leaves the feed, drops what it held, and catches up from where it had
  got to at its next pull.
- Feeds are kept by path (and kind) while followed: the registry holds them
  weakly, so a feed is gone with its last follower. A file replaced or cut is
  read again from its start by the feed's reader, for every follower.
- The records handed out are shared by the followers: nobody may change them.

A feed's lock is held while a follower pulls through it (``chunks`` yields under
it: exhaust it, or close it), so followers of one file on two threads take turns.
One follower is used by one thread at a time.
"""

import os
import threading
import weakref
from pathlib import Path

from .jsonl import SeriesReader
from .series import series_kind

INBOX_MAX = 1 << 20  # bytes of a file a follower holds, read by others, before it leaves

_feeds: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
_feeds_lock = threading.Lock()


class Feed:
    """The one reader of a file that its followers read through."""

    __slots__ = ("__weakref__", "followers", "lock", "placed", "reader")

    def __init__(self, path: Path, kind: str | None):
        self.lock = threading.Lock()
        self.reader = SeriesReader(path, kind)
        self.placed = False  # the reader stands where its first follower's catching up ended
        self.followers: list[weakref.ref] = []  # those that joined, each held weakly

    def pull(self, puller: "Follower"):
        """What was appended since the last pull, a chunk at a time, each handed to
        the followers but ``puller`` as it is read (under the lock)."""
        reader = self.reader
        start = reader.place()
        for chunk in reader.chunks():
            end = reader.place()
            size = end[1] - (start[1] if start[0] == end[0] else 0)  # read again: from 0
            self.hand_out(chunk, start, size, puller)
            start = end
            yield chunk

    def hand_out(self, chunk: tuple, start: tuple, size: int, puller: "Follower") -> None:
        """A chunk ``puller`` read (``size`` bytes from the reader's place ``start``) to
        every other follower, under the lock; the gone and those that left are dropped."""
        kept = []
        for ref in self.followers:
            follower = ref()
            if follower is not None and (follower is puller or
                                         follower.hold(chunk, start, size)):
                kept.append(ref)
        self.followers = kept


def feed_for(path: Path, kind: str | None) -> Feed:
    """The feed of ``path``, made if nobody follows it yet."""
    key = (os.path.abspath(path), kind)
    with _feeds_lock:
        feed = _feeds.get(key)
        if feed is None:
            feed = _feeds[key] = Feed(Path(path), kind)
    return feed


class Follower:
    """One consumer's place in a series file: ``chunks`` as ``SeriesReader.chunks``
    gives them, the file read once for all its followers."""

    __slots__ = ("__weakref__", "_skipped", "feed", "fresh", "held", "inbox", "reader",
                 "since")

    def __init__(self, path: Path | str, kind: str | None = None):
        kind = kind or series_kind(Path(path).name)
        self.feed = feed_for(Path(path), kind)
        self.reader: SeriesReader | None = SeriesReader(path, kind)  # its own, outside the feed
        self.fresh = True  # never read
        self.inbox: list[tuple] = []  # chunks others read for it
        self.held = 0  # the bytes of the file they came from
        self.since: tuple | None = None  # the feed's place where the inbox starts
        self._skipped: tuple | None = None

    @property
    def skipped(self) -> tuple | None:
        """(file identity, end) of the backlog its first read skipped, if it skipped."""
        return self.reader.skipped if self.reader is not None else self._skipped

    def chunks(self, backlog: int | None = None):
        """(records, bad lines) pairs appended since the last call, those others read
        for it first. ``backlog`` bounds the first call's read, as for a SeriesReader."""
        feed = self.feed
        backlog = backlog if self.fresh else None
        try:
            if self.reader is not None and feed.placed:  # most of the way, holding nobody
                yield from self.reader.chunks(backlog, until=feed.reader.offset)
                backlog = None
            with feed.lock:
                if self.reader is not None:
                    read = yield from self._join(backlog)
                    if self.reader is not None:  # not level with the feed: alone, this time
                        if read:  # (not when the file could not be read at all)
                            yield from self.reader.chunks()
                        return
                inbox, self.inbox, self.held = self.inbox, [], 0
                yield from inbox
                yield from feed.pull(self)
        finally:
            # fresh until something was read: a first read refused (no such file yet,
            # not a regular file) keeps the backlog for the read that succeeds
            if self.reader is None or self.reader.offset or self.reader.skipped is not None:
                self.fresh = False

    def _join(self, backlog: int | None):
        """Catch up to where the feed stands (under its lock), then join it; the
        first to join places the feed where it got to. A feed still in a file since
        replaced or cut (nobody pulled since) reads it again first, for the others:
        then this one catches up with it, or, not level even so, stays alone."""
        feed = self.feed
        if feed.placed:
            yield from self.reader.chunks(backlog, until=feed.reader.offset)
            if not self._level():
                for _chunk in feed.pull(self):
                    pass
                yield from self.reader.chunks(None, until=feed.reader.offset)
                if not self._level():
                    return True
        else:
            yield from self.reader.chunks(backlog)
            if self.reader.place()[0] is None:  # no file yet, or refused: nothing placed,
                return False                    # the next read is a first read again
            feed.reader.move_to(self.reader.place())
            feed.placed = True
        self._skipped = self.reader.skipped
        self.reader = None
        feed.followers.append(weakref.ref(self))
        return True

    def _level(self) -> bool:
        """Whether its own reader stands where the feed's does, in the same file."""
        return self.reader.place()[:2] == self.feed.reader.place()[:2]

    def hold(self, chunk: tuple, start: tuple, size: int) -> bool:
        """Keep a chunk another follower read (under the feed's lock); False if that
        is too much to hold: the follower has left the feed, to catch up alone."""
        if not self.inbox:
            self.since = start
        self.held += size
        if self.held > INBOX_MAX:
            reader = SeriesReader(self.feed.reader.path, self.feed.reader.kind)
            reader.move_to(self.since)
            self.inbox, self.held = [], 0
            self.reader = reader  # last, whole: its own thread may look at it now
            return False
        self.inbox.append(chunk)
        return True
