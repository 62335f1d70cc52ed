"""Which host and which process: the identity written into a run's lock.

A pid alone is not an identity: pids are reused. A lock records the pid and the
process's start time, so a later process that got the same pid is not taken
for the run. ``RUNYARD_HOST`` overrides the host name (tests use it to play a
second machine on one box).
"""

import os

# Start times come from /proc in ticks; psutil turns them into seconds, so two
# readings of one process agree far more closely than this.
_START_TOLERANCE = 0.05


def host_name() -> str:
    # what socket.gethostname() answers, without loading socket
    return os.environ.get("RUNYARD_HOST") or os.uname().nodename


def process_start_ticks(pid: int) -> int | None:
    """Linux: when process ``pid`` started, in clock ticks since boot, from /proc.

    Unlike a start time in seconds (boot time plus ticks, psutil's create_time),
    this does not move when the wall clock is stepped. None if there is no such
    live process, or no /proc.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError, PermissionError):
        return None
    if fields[0] == b"Z":  # a zombie has ended
        return None
    return int(fields[19])  # field 22 of stat, counted after "pid (comm)"


def _boot_time() -> float | None:
    """When the system booted, in seconds since the epoch (/proc/stat's btime)."""
    try:
        with open("/proc/stat", "rb") as f:
            for line in f:
                if line.startswith(b"btime "):
                    return float(line.split()[1])
    except OSError:
        return None
    return None


def process_start_time(pid: int) -> float | None:
    """The start time of process ``pid``, or None if there is no such process.

    On Linux, psutil's create_time worked out from /proc as psutil does it (boot
    time plus start ticks), without loading psutil: a run's start needs this.
    """
    ticks = process_start_ticks(pid)
    boot = _boot_time() if ticks is not None else None
    if boot is not None:
        return ticks / os.sysconf("SC_CLK_TCK") + boot
    import psutil  # imported here: only where /proc cannot tell

    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        return proc.create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return None


def process_lock(pid: int | None = None) -> dict:
    """The lock record for process ``pid`` (this process by default)."""
    pid = os.getpid() if pid is None else pid
    started = process_start_time(pid)
    if started is None:
        raise ValueError(f"no process with pid {pid}")
    lock = {"host": host_name(), "pid": pid, "pid_started": started}
    ticks = process_start_ticks(pid)
    if ticks is not None:
        lock["pid_ticks"] = ticks
    return lock


def lock_is_local(lock: dict) -> bool:
    return lock.get("host") == host_name()


_PROC: list[bool] = []  # whether /proc is there, once looked at


def _has_proc() -> bool:
    if not _PROC:
        _PROC.append(os.path.isdir("/proc"))
    return _PROC[0]


def lock_process_alive(lock: dict, seen: dict | None = None) -> bool:
    """Whether the process a local lock names is still the one that wrote it.

    ``seen`` caches start times by pid for the length of one listing, where
    many runs may name the same supervisor.
    """
    try:
        pid = int(lock["pid"])
        expected = float(lock["pid_started"])
    except (KeyError, TypeError, ValueError):
        return False
    if isinstance(lock.get("pid_ticks"), int) and _has_proc():
        if seen is None:
            return process_start_ticks(pid) == lock["pid_ticks"]
        if pid not in seen:
            seen[pid] = process_start_ticks(pid)
        return seen[pid] == lock["pid_ticks"]
    if seen is None:
        started = process_start_time(pid)
    elif pid in seen:
        started = seen[pid]
    else:
        started = seen[pid] = process_start_time(pid)
    return started is not None and abs(started - expected) <= _START_TOLERANCE


# Batch scheduler variables worth keeping with a run, by scheduler.
_SCHEDULER_VARS = {
    "slurm": {"job_id": "SLURM_JOB_ID", "array_job_id": "SLURM_ARRAY_JOB_ID",
              "array_index": "SLURM_ARRAY_TASK_ID", "nodelist": "SLURM_JOB_NODELIST",
              "partition": "SLURM_JOB_PARTITION"},
    "pbs": {"job_id": "PBS_JOBID", "array_index": "PBS_ARRAY_INDEX",
            "nodelist": "PBS_NODEFILE", "queue": "PBS_QUEUE"},
    "lsf": {"job_id": "LSB_JOBID", "array_index": "LSB_JOBINDEX", "nodelist": "LSB_HOSTS"},
    "sge": {"job_id": "JOB_ID", "array_index": "SGE_TASK_ID", "queue": "QUEUE"},
}


def scheduler_context(environ: dict | None = None) -> dict | None:
    """The batch job this process runs in, if any (Slurm, PBS, LSF, SGE)."""
    environ = os.environ if environ is None else environ
    for scheduler, names in _SCHEDULER_VARS.items():
        if names["job_id"] in environ:
            found = {key: environ[var] for key, var in names.items() if var in environ}
            return {"scheduler": scheduler, **found}
    return None


def user_name() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())
