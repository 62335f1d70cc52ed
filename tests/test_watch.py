"""The watcher (app/watch.py) with real files and real inotify: a folder that changes
many times a second is looked at instead of watched, and no change is missed on the
way in, while it is looked at, or on the way back to being watched."""

import contextlib
import threading
import time

import pytest

from runyard.app.watch import RootWatcher


def until(predicate, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


class Seen:
    """Every path the watcher marked, gathered as the dashboard's refresher takes them."""

    def __init__(self, watcher: RootWatcher):
        self.watcher = watcher
        self.paths: set[str] = set()

    def has(self, *paths) -> bool:
        self.paths |= self.watcher.take()
        return all(str(p) in self.paths for p in paths)

    def clear(self) -> None:
        self.watcher.take()
        self.paths.clear()


@pytest.fixture
def watched(tmp_path):
    run = tmp_path / "r1.meta"
    run.mkdir()
    watcher = RootWatcher(tmp_path, "inotify", None, lambda: None, hot_events=4,
                          cool_after=1.0)
    watcher.start()
    watcher.watch({run})
    yield watcher, run
    watcher.stop()


@contextlib.contextmanager
def busy(path):
    """While in it, a line is appended to ``path`` every 10 ms: a run logging fast."""
    stop = threading.Event()

    def write():
        with open(path, "a") as f:
            while not stop.is_set():
                f.write("x\n")
                f.flush()
                stop.wait(0.01)
    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def test_a_busy_folder_is_looked_at_and_its_changes_still_seen(watched):
    watcher, run = watched
    with busy(run / "metrics.jsonl"):
        assert until(lambda: run in watcher.hot), "a folder changing 100 times a second"
        assert run not in watcher._watches  # its inotify watch dropped
        seen = Seen(watcher)
        seen.clear()
        # while looked at: the growing file, a new file, a replaced file, a removal
        (run / "events.jsonl").write_text("{}\n")
        (run / "attrs.json.tmp").write_text("{}")
        (run / "attrs.json.tmp").replace(run / "attrs.json")
        assert until(lambda: seen.has(run / "metrics.jsonl", run / "events.jsonl",
                                      run / "attrs.json"))
        seen.clear()
        (run / "events.jsonl").unlink()
        assert until(lambda: seen.has(run / "events.jsonl"))
        assert run in watcher.hot  # still busy


def test_a_hot_folder_gone_quiet_is_watched_again(watched):
    watcher, run = watched
    with busy(run / "metrics.jsonl"):
        assert until(lambda: run in watcher.hot)
    assert until(lambda: run not in watcher.hot and run in watcher._watches)
    seen = Seen(watcher)
    seen.clear()
    with open(run / "metrics.jsonl", "a") as f:  # one change: an inotify event again
        f.write("y\n")
    assert until(lambda: seen.has(run / "metrics.jsonl"))
    assert run not in watcher.hot


def test_a_hot_folder_no_longer_wanted_is_neither_looked_at_nor_watched(watched):
    watcher, run = watched
    with busy(run / "metrics.jsonl"):
        assert until(lambda: run in watcher.hot)
        watcher.watch(set())  # the screen that wanted it closed
        assert run not in watcher.hot and run not in watcher._watches


def test_a_removed_hot_folder_is_marked_and_dropped(watched, tmp_path):
    import shutil

    watcher, run = watched
    with busy(run / "metrics.jsonl"):
        assert until(lambda: run in watcher.hot)
    seen = Seen(watcher)
    seen.clear()
    shutil.rmtree(run)
    assert until(lambda: seen.has(run))
    assert until(lambda: run not in watcher.hot and run not in watcher._watches)


def test_the_root_is_never_made_hot(tmp_path):
    watcher = RootWatcher(tmp_path, "inotify", None, lambda: None, hot_events=4)
    watcher.start()
    try:
        for n in range(60):  # runs appearing fast: the root's own entries
            (tmp_path / f"run{n}").mkdir()
        seen = Seen(watcher)
        assert until(lambda: seen.has(tmp_path / "run59"))
        assert watcher.hot == {} and tmp_path in watcher._watches
    finally:
        watcher.stop()


def test_a_busy_folder_of_many_entries_stays_watched(watched):
    """instances/ of a big run: thousands of records, several rewritten a second.
    Looking at it would stat every one of them twenty times a second: it stays
    watched, and its changes come as events."""
    from runyard.app.watch import HOT_MOST

    watcher, run = watched
    for n in range(HOT_MOST + 10):
        (run / f"rec-{n}.json").write_text("{}")
    with busy(run / "metrics.jsonl"):
        seen = Seen(watcher)
        # a second's count has been taken with the folder busy: it would be hot by now
        assert until(lambda: seen.has(run / "metrics.jsonl"))
        deadline = time.monotonic() + 2.5
        while time.monotonic() < deadline:
            assert run not in watcher.hot
            time.sleep(0.05)
        assert run in watcher._watches


def test_a_hot_folder_that_grows_past_the_bound_is_watched_again(watched):
    from runyard.app.watch import HOT_MOST

    watcher, run = watched
    with busy(run / "metrics.jsonl"):
        assert until(lambda: run in watcher.hot)
        for n in range(HOT_MOST + 1):
            (run / f"rec-{n}.json").write_text("{}")
        assert until(lambda: run not in watcher.hot and run in watcher._watches)
        seen = Seen(watcher)
        seen.clear()
        (run / "late.json").write_text("{}")  # an event again
        assert until(lambda: seen.has(run / "late.json"))
