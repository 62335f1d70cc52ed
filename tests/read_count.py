"""Bytes the series readers read from each file, counted at the one place they open
files (``open_regular`` as engine/jsonl.py calls it): each read of the real file is
counted with the offset it started at, so a test can tell how often every byte of a
file was read."""

import threading
from collections import defaultdict

import runyard.engine.jsonl as jsonl


class CountedFile:
    """A real file opened by a reader, whose reads are counted."""

    def __init__(self, file, counter: "ReadCounter", path: str):
        self._file, self._counter, self._path = file, counter, path

    def read(self, size: int = -1) -> bytes:
        at = self._file.tell()
        data = self._file.read(size)
        self._counter.note(self._path, at, len(data))
        return data

    def __getattr__(self, name):
        return getattr(self._file, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._file.close()


class ReadCounter:
    """``reads[path]``: the (offset, size) of every read of that file while counting."""

    def __init__(self, monkeypatch):
        self.reads: dict[str, list] = defaultdict(list)
        self.counting = False
        self._lock = threading.Lock()
        real = jsonl.open_regular

        def counted_open(path, *args, **kwargs):
            return CountedFile(real(path, *args, **kwargs), self, str(path))

        monkeypatch.setattr(jsonl, "open_regular", counted_open)

    def note(self, path: str, at: int, size: int) -> None:
        if self.counting and size:
            with self._lock:
                self.reads[path].append((at, size))

    def total(self, path) -> int:
        return sum(size for _at, size in self.reads[str(path)])

    def times_read(self, path, start: int, end: int) -> tuple[int, int]:
        """(fewest, most) times a byte of [start, end) was read."""
        edges = defaultdict(int)
        edges[start] += 0
        edges[end] += 0
        for at, size in self.reads[str(path)]:
            first, last = max(at, start), min(at + size, end)
            if first < last:
                edges[first] += 1
                edges[last] -= 1
        depth, depths = 0, []
        for place in sorted(edges):
            depth += edges[place]
            if start <= place < end:
                depths.append(depth)
        return min(depths), max(depths)
