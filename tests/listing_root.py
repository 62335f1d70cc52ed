"""A runs root with every status and many hostile runs, built byte for byte the same
every time (fixed ids, fixed records, times that never age), for
tests/test_listing_exact.py: ``ls --json`` on it must print exactly what it printed
when the pinned output (tests/listing_exact.json) was recorded.

Live runs are kept live by the test's own process (a lock naming it) or by a fresh
heartbeat under a lock from another host; their ``started`` lies in the future, so
their duration is 0.0 however long the test takes.
"""

import json
import os
import time
from pathlib import Path

HOST = "listing-host"  # RUNYARD_HOST of the listing process: the host of local locks
FUTURE = "9000-01-01T00:00:00.000+00:00"
T0 = "2026-11-22T05:04:55.120+00:00"
T1 = "2026-11-22T06:00:01.002+00:00"
HOSTILE_TEXT = "caf\u00e9 \x1b[31m \u009b2J \u202e \U0001f600 \x00 \\ \" \u2028"


def run_id(n: int) -> str:
    return f"1m8n7b6q5e{n:04d}"


def record(n: int, **fields) -> dict:
    """attrs.json of run ``n`` as the engine writes it, changed by ``fields`` (a value
    None removes the field)."""
    attrs = {"schema": 1, "id": run_id(n), "name": f"run-{n}", "folder": f"/sweep/{n % 3}",
             "tags": ["bench", f"g{n % 4}"], "metadata": {"i": n, "lr": 0.001 * n, "ok": True,
                                                         "m": "heat-2d"},
             "description": "", "timeout": 60.0, "host": "node7", "user": "ana",
             "scheduler": None, "created": T0, "started": T0, "attempt": 1,
             "lock": {"host": "node7", "pid": 4711, "pid_started": 1795237495.21,
                      "pid_ticks": 466784},
             "exit": {"status": "completed", "time": T1}, "ended": T1}
    for key, value in fields.items():
        if value is None:
            attrs.pop(key, None)
        else:
            attrs[key] = value
    return attrs


def own_lock(alive: bool = True) -> dict:
    """A lock of this host naming the test's process (``alive``) or a process that
    ended (the same pid, another start time: a recycled pid)."""
    with open(f"/proc/{os.getpid()}/stat", "rb") as f:
        ticks = int(f.read().rsplit(b")", 1)[1].split()[19])
    return {"host": HOST, "pid": os.getpid(), "pid_started": 1795237495.21,
            "pid_ticks": ticks if alive else ticks + 1}


FOREIGN = {"host": "elsewhere", "pid": 1, "pid_started": 1.0}
LIVE = {"exit": None, "ended": None, "started": FUTURE}

# Run number: (attrs.json content or a record, what else to do to its meta folder)
GOOD = {
    1: record(1),
    2: record(2, exit={"status": "failed", "time": T1, "error": "boom", "code": 3,
                       "cause": "disk full"}),
    3: record(3, exit={"status": "terminated", "time": T1, "error": None, "code": None,
                       "cause": "not a cause"}),
    4: record(4, started=None, attempt=None, lock=None, exit=None, ended=None),
    5: record(5, exit=None, ended=None),  # lock of node7: not this host, no heartbeat
    6: record(6, lock=FOREIGN, exit=None, ended=None),
    7: record(7, lock=FOREIGN, exit=None, ended=None, timeout=1),
    8: record(8, lock=FOREIGN, **LIVE),
    9: record(9, lock=FOREIGN, **LIVE),
    10: record(10, lock=None, **LIVE),
    11: record(11, name=HOSTILE_TEXT, folder="/" + HOSTILE_TEXT, tags=[HOSTILE_TEXT, ""],
               host=HOSTILE_TEXT, user=HOSTILE_TEXT, created=HOSTILE_TEXT,
               metadata={HOSTILE_TEXT: HOSTILE_TEXT}),
    12: record(12, name=None, folder=None, tags=None, host=None, user=None, created=None,
               metadata=None, description=None, timeout=None, scheduler=None),
    13: record(13, started="2026-11-22T05:04:55Z", ended="2026-11-22T07:04:56.5+02:00"),
    14: record(14, started="2026-11-22T05:04:55.123456", ended="2026-11-23T05:04:55.654321"),
    15: record(15, started=T1, ended=T0),  # ended before it started: 0.0
    16: record(16, started="yesterday", ended="9999-12-31T23:59:59-12:00"),
    17: record(17, started="0001-01-01T00:00:00+14:00", ended=T1),
    18: record(18, started=T0, ended=None),  # finished without an end: no duration
    19: record(19, scheduler={"scheduler": "slurm", "job_id": "4242", "n": 3, "x": 1.5,
                              "ok": False}, kind="module",
               progress={"pending": 0, "running": 0, "done": 20, "failed": 0, "total": 20}),
    20: record(20, kind="flow", flow={"task": None, "name": "f", "returns": ["a"], "steps": {
        "a": {"run": run_id(21), "status": "completed", "error": None},
        "b": {"run": None, "status": "pending"}}}),
    21: record(21, flow={"run": run_id(20), "alias": "a", "task": "abc"}),
    22: record(22, extra={"anything": [1, {"deep": None}]}, schema_note="x",
               timeout=7, attempt=12, metadata={}),
    23: record(23, tags=[], metadata={"neg": -1, "big": 1e300, "small": 5e-324,
                                      "f": 0.1, "zero": 0}),
    24: record(24, started="2026-11-22T05:04:55.120+00:00",
               ended="2026-11-22T05:04:55.121+00:00"),
    25: record(25, started="2026-02-28T23:59:59.999+00:00",
               ended="2026-03-01T00:00:00.000+00:00"),
    26: record(26, started="2026-11-22T05:04:55.1+05:30", ended="2026-11-22T05:04:55.1-03:00"),
    27: record(27, exit={"status": "failed", "cause": "read-only filesystem"}),
    28: record(28, lock={"host": HOST, "pid": 2**40, "pid_started": 1.0}, exit=None,
               ended=None),
    29: b'{"schema": 1, "id": "' + run_id(29).encode() + b'", "lock": null, "exit": null, '
        b'"progress": null, "flow": null, "scheduler": null, "attempt": 0, "tags": ["x"]}',
}

HOSTILE = {
    40: b'{"schema": 1, "na',
    41: b"[1, 2]",
    42: b"",
    43: record(43, schema=2),
    44: record(44, schema="1"),
    45: record(45, schema=None),
    46: record(46, schema=True),
    47: record(47, schema=10**7),
    48: record(48, timeout="60"),
    49: record(49, timeout=0),
    50: record(50, timeout=True),
    51: record(51, attempt=-1),
    52: record(52, attempt=True),
    53: record(53, attempt=2.0),
    54: record(54, folder="relative"),
    55: record(55, tags="gpu"),
    56: record(56, tags=["a", 1]),
    57: record(57, name=7),
    58: record(58, metadata=["lr", 1]),
    59: record(59, metadata={"a": {"b": 1}}),
    60: record(60, exit=["completed"]),
    61: record(61, exit={"status": 5}),
    62: record(62, exit={"status": "exploded"}),
    63: record(63, exit={"status": "failed", "error": [1]}),
    64: record(64, exit={"status": "failed", "code": 1.0}),
    65: record(65, exit={"time": T1}),
    66: record(66, lock={"host": "elsewhere", "pid": "1", "pid_started": 1.0}, exit=None),
    67: record(67, lock={"host": "elsewhere", "pid": 1}, exit=None),
    68: record(68, lock={"host": "elsewhere", "pid": 1, "pid_started": True}, exit=None),
    69: record(69, lock={"host": "elsewhere", "pid": 1, "pid_started": 1, "pid_ticks": -1}),
    70: record(70, lock=[1]),
    71: record(71, started=1.5),
    72: record(72, progress=[1, 2]),
    73: record(73, progress={"done": -1}),
    74: record(74, progress={"done": True}),
    75: record(75, scheduler=["slurm"]),
    76: record(76, scheduler={"x": None}),
    77: record(77, kind="flow", flow={"steps": [1, 2]}),
    78: record(78, flow={"run": [1], "alias": "a"}),
    79: record(79, kind="flow", flow={"steps": {"a": {"run": "../../etc"}}}),
    80: record(80, flow={"run": "../x", "alias": "a"}),
    81: record(81, id=run_id(1)),  # the record of another run
    82: record(82, id=7),
    83: b'{"schema": 1, "x": NaN}',
    84: b'{"schema": 1, "x": 1e999}',
    85: b'{"schema": 1, "x": "\\ud800"}',
    86: b'{"schema": 1, "name": "\xff\xfe"}',
    87: b"[" * 100 + b"]" * 100,
    88: b'{"schema": 1, "a": ' + b"[" * 70 + b"]" * 70 + b"}",
    89: b'\xef\xbb\xbf{"schema": 1}',
    90: b'{"schema": 1} {"schema": 1}',
    91: b'{"schema": 1, "name": "a", "name": 7}',
    92: b'{"schema": 1, "name": "a\x01b"}',
    93: record(93, description=["x"]),
    94: record(94, kind=1),
    95: record(95, ended=False),
    96: record(96, user=None, host=[]),
    97: record(97, metadata={"x": None}),
    98: record(98, timeout=-1.5),
    99: b'{"schema": 1, "id": "' + run_id(99).encode() + b'", "attempt": 1.5e1}',
    # a run of 19 digits sends a file to the exact decoder: the same refusals there
    104: b'{"schema": 1, "n": 12345678901234567890123, "x": NaN}',
    105: b'{"schema": 1, "n": 12345678901234567890123, "x": "\\ud800"}',
    106: b'{"schema": 1, "n": 12345678901234567890123, "x": ' + b"[" * 5000 + b"]" * 5000
         + b"}",
    107: b'{"schema": 1, "n": 12345678901234567890123, "x": "\xff"}',
    108: b'{"schema": 1, "n": 12345678901234567890123, "x": 1e999}',
    109: b'{"schema": 1000000000000000000000000000000}',
    121: b'{"schema": 1.0}',
    122: b'{"schema": 1, "n": 12345678901234567890123, "attempt": -12345678901234567890123}',
}

# Runs whose only oddity is the size of an integer (exact JSON in and out).
BIG = {
    100: record(100, attempt=2**70),
    101: record(101, metadata={"n": -(2**80)}, timeout=10**30),
    102: b'{"schema": 1, "x": 0.00010999999999999999, "attempt": 12345678901234567890}',
}


def write_meta(root: Path, n: int, content, name: str | None = None) -> Path:
    meta = root / f"{name or run_id(n)}.meta"
    meta.mkdir(parents=True)
    (root / (name or run_id(n))).mkdir()
    data = content if isinstance(content, bytes) else json.dumps(content, indent=1).encode()
    (meta / "attrs.json").write_bytes(data)
    return meta


def beat(meta: Path, age: float) -> None:
    (meta / "heartbeat").touch()
    moment = time.time() - age
    os.utime(meta / "heartbeat", (moment, moment))


def build(root: Path, extra_hostile: bool = True) -> None:
    """The pinned root: GOOD and HOSTILE runs, or only BIG ones."""
    (root / ".runyard").mkdir(parents=True)
    (root / ".runyard" / "schema").write_text("1")
    if not extra_hostile:
        for n, content in BIG.items():
            write_meta(root, n, content)
        write_meta(root, 103, record(103, **LIVE, lock=FOREIGN))
        beat(root / f"{run_id(103)}.meta", 0)
        return
    runs = {**GOOD, **HOSTILE}
    for n, content in runs.items():
        write_meta(root, n, content)
    metas = {n: root / f"{run_id(n)}.meta" for n in runs}
    for n, alive, paused in ((30, True, False), (31, True, True), (32, False, False),
                             (33, False, False)):
        metas[n] = write_meta(root, n, record(n, lock=own_lock(alive), **LIVE))
        if paused:
            (metas[n] / "paused").touch()
    log = "2026-11-29T20:36:37 Supervisor starting (pid 1)\n" \
          "2026-11-29T20:36:38 Stopped: disk quota exceeded (Disk quota exceeded)\n"
    (metas[33] / "log").mkdir()
    (metas[33] / "log" / "supervisor.log").write_text(log)
    (metas[3] / "log").mkdir()  # an exit record wins over the log
    (metas[3] / "log" / "supervisor.log").write_text(log)
    beat(metas[6], 3600)          # stale heartbeat: lost
    beat(metas[7], 3600)
    beat(metas[8], 0)             # fresh: running
    beat(metas[9], 0)             # fresh and paused
    (metas[9] / "paused").write_text(T0)
    (metas[10] / "paused").touch()  # no lock: created, paused or not
    for n in (6, 8):
        (metas[n] / "log").mkdir()
        (metas[n] / "log" / "supervisor.log").write_text(log.replace("quota exceeded",
                                                                     "full"))
    _strange_files(root, metas)


def _strange_files(root: Path, metas: dict) -> None:
    """attrs.json files that are not regular files, or not there, and meta folders that
    are not what they seem."""
    for n, how in ((110, "symlink"), (111, "loop"), (112, "directory"), (113, "fifo"),
                   (114, "missing"), (115, "huge"), (117, "hardlink")):
        meta = write_meta(root, n, record(n))
        attrs = meta / "attrs.json"
        if how == "huge":  # a sparse file beyond the bound: refused without being read
            os.truncate(attrs, 64 * 1024 * 1024 + 1)
            continue
        attrs.unlink()
        if how == "symlink":
            os.symlink(metas[1] / "attrs.json", attrs)
        elif how == "loop":
            os.symlink(attrs.name, attrs)
        elif how == "directory":
            attrs.mkdir()
        elif how == "fifo":
            os.mkfifo(attrs)
        elif how == "hardlink":  # a regular file all the same
            os.link(metas[22] / "attrs.json", attrs)
    elsewhere = root / "elsewhere.meta"
    elsewhere.symlink_to(metas[1])
    os.symlink(metas[2], root / f"{run_id(118)}.meta")  # a meta folder made a link
    write_meta(root, 0, record(1), name="not-an-id")
    write_meta(root, 0, record(1), name=".hidden-" + run_id(119))
    (root / f"{run_id(120)}.meta").write_text("a file, not a folder")
    for n in (30, 31, 32):  # live and paused markers that are not regular files
        os.mkfifo(metas[n] / "heartbeat")
    os.symlink("/dev/zero", metas[8] / "paused")
