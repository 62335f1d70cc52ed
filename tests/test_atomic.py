"""Whole files are replaced in one step; a failed write keeps the old file."""

import os
import threading

import pytest

from runyard.engine.atomic import write_atomic, write_json_atomic


def test_replaces_content_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "state"
    write_atomic(path, "one")
    write_atomic(path, b"two", fsync=True, mode=0o600)
    assert path.read_text() == "two"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state"]


def test_a_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "state"
    write_atomic(path, "old")

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        write_atomic(path, "new", fsync=True)
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state"]


def test_an_unencodable_record_keeps_the_old_file(tmp_path):
    path = tmp_path / "attrs.json"
    write_json_atomic(path, {"a": 1})
    with pytest.raises(ValueError):
        write_json_atomic(path, {"a": float("nan")})
    assert path.read_text().strip().replace(" ", "").replace("\n", "") == '{"a":1}'


def test_readers_never_see_half_a_file(tmp_path):
    path = tmp_path / "big"
    small, large = b"a" * 10, b"b" * 1_000_000
    write_atomic(path, small)
    seen = set()
    stop = threading.Event()

    def read_loop():
        while not stop.is_set():
            seen.add(len(path.read_bytes()))

    reader = threading.Thread(target=read_loop)
    reader.start()
    for i in range(100):
        write_atomic(path, large if i % 2 else small)
    stop.set()
    reader.join()
    assert seen <= {len(small), len(large)}


def test_records_follow_the_umask_so_a_group_can_read_them(tmp_path):
    import subprocess
    import sys

    script = ("import sys; from pathlib import Path; from runyard.engine.atomic import "
              "write_json_atomic; write_json_atomic(Path(sys.argv[1]), {'a': 1})")
    for umask, expected in (("022", 0o644), ("002", 0o664), ("077", 0o600)):
        target = tmp_path / f"record-{umask}.json"
        subprocess.run(["sh", "-c", f'umask {umask}; exec "$0" -c "$1" "$2"', sys.executable,
                        script, str(target)], check=True, timeout=60)
        assert target.stat().st_mode & 0o777 == expected, (umask, oct(target.stat().st_mode))
