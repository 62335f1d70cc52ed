"""A run's supervisor as a Slurm batch job (``--on slurm``).

``submit`` writes the job's script as ``proc/slurm.sh`` and hands it to ``sbatch``;
the job runs the same supervisor as a run started here (``python -m
runyard.engine.supervisor ROOT ID``), so pause, resume, close, alerts, metrics and
saved states go through the runs directory as usual. What the run records of its
job is ``attrs["slurm"]``:

    {"job": "1234", "for_attempt": 2, "requeues": 1, "submitted": ISO time,
     "node": "cn12" | null, "ends": epoch seconds of its time limit | null,
     "signal": seconds before the limit that Slurm sends SIGTERM}

A run whose job was submitted for an attempt it has not begun (``for_attempt`` >
``attempt``) is ``queued`` (status.py); ``queue`` asks Slurm what became of jobs
(``squeue``, then ``sacct`` where there is accounting, then ``scontrol show
job``), so a job that ended without an exit record reads ``lost`` at once with
Slurm's reason, and a queued one says why it waits.

Walltime: the job asks for SIGTERM ``grace + 30`` seconds before its limit
(``--signal=B:TERM@S``; Slurm may send it up to 60 s earlier). The supervisor then
closes gracefully, and when the run allows it (``requeue``) submits the next
attempt itself (supervisor.py ``Supervisor.finish``).
"""

import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

from .atomic import write_atomic
from .errors import RunyardError, UsageError
from .layout import SLURM_SCRIPT, SUPERVISOR_LOG, RunPaths
from .meta import now_iso

# resource options runyard passes to sbatch as --KEY=VALUE, and which a user sets
# with --slurm KEY=VALUE or [slurm] in runyard.toml
RESOURCES = ("partition", "time", "cpus-per-task", "mem", "mem-per-cpu", "gpus", "gres",
             "account", "qos", "constraint", "reservation", "nodelist", "exclude")
SIGNAL_MARGIN = 30  # seconds beyond the grace period for writing out and resubmitting
EARLY = 60          # Slurm's resolution: the signal may come this much sooner
QUEUE_FOR = 2.0     # seconds a look at the queue is reused
# job states in which the job will never run (again) as it is
ENDED = ("BOOT_FAIL", "CANCELLED", "COMPLETED", "DEADLINE", "FAILED", "NODE_FAIL",
         "OUT_OF_MEMORY", "PREEMPTED", "REVOKED", "SPECIAL_EXIT", "TIMEOUT")
_VALUE = re.compile(r"[A-Za-z0-9_.:,=+/@%*\[\]-]+")
_KEY = re.compile(r"[a-z][a-z0-9-]*")


class SlurmError(RunyardError):
    """Slurm refused a request, or cannot be reached."""


def check_settings(settings) -> dict:
    """The Slurm settings of a run, checked: ``{"partition": "compute", "time":
    "04:00:00", ..., "extra": ["--mail-type=END"]}``. A value is one word of safe
    characters (it goes into a batch script)."""
    if settings is None:
        return {}
    if not isinstance(settings, dict):
        raise UsageError(f"Slurm settings are a table of KEY = VALUE, not {settings!r}")
    checked = {}
    for key, value in settings.items():
        if key == "extra":
            checked["extra"] = _checked_extra(value)
            continue
        if key not in RESOURCES:
            raise UsageError(f"unknown Slurm setting {key!r}: use one of "
                             f"{', '.join(RESOURCES)}, or extra for other directives")
        text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) \
            else None
        if text is None or not _VALUE.fullmatch(text):
            raise UsageError(f"Slurm setting {key} must be one word of letters, digits "
                             f"and _.:,=+/@%*[]-, not {value!r}")
        checked[key] = text
    return checked


def _checked_extra(value) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise UsageError(f"Slurm's extra directives are a list of options, not {value!r}")
    for item in items:
        key, _, rest = item.partition("=")
        if not item.startswith("--") or not _KEY.fullmatch(key[2:]) or \
                (rest and not _VALUE.fullmatch(rest)):
            raise UsageError(f"an extra Slurm directive is one option like "
                             f"--mail-type=END, not {item!r}")
    return list(items)


def signal_seconds(grace: float) -> int:
    return int(grace) + SIGNAL_MARGIN


def script(paths: RunPaths, name: str, settings: dict, grace: float) -> str:
    """The batch script of a run's job."""
    lines = ["#!/bin/sh", f"#SBATCH --job-name={_job_name(name)}",
             # the supervisor's log, as a run started here has it; Slurm's own lines
             # about the job (cancelled, time limit) land there too
             f"#SBATCH --output={paths.meta(SUPERVISOR_LOG)}",
             "#SBATCH --open-mode=append",
             f"#SBATCH --chdir={paths.run_dir}", "#SBATCH --ntasks=1",
             f"#SBATCH --signal=B:TERM@{signal_seconds(grace)}"]
    lines += [f"#SBATCH --{key}={value}" for key, value in settings.items()
              if key != "extra"]
    lines += [f"#SBATCH {item}" for item in settings.get("extra", [])]
    command = [sys.executable, "-P", "-m", "runyard.engine.supervisor", str(paths.root),
               paths.id]
    lines += ["# the run's supervisor, as a run started here has it",
              "exec " + " ".join(shlex.quote(part) for part in command), ""]
    return "\n".join(lines)


def _job_name(name: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:40]
    return f"runyard-{safe or 'run'}"


def check_batch_path(path: Path) -> None:
    """A path that goes into an ``#SBATCH`` line: sbatch splits those at white space
    and a line ends at a newline, so a runs root with either is refused, saying so."""
    text = str(path)
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in text):
        raise SlurmError(f"the runs root's path {text!r} has a space or a control "
                         "character, which an #SBATCH line cannot hold: use a root "
                         "whose path has none for runs on Slurm")


def submit(paths: RunPaths, name: str, settings: dict, grace: float, env: dict) -> str:
    """Write ``proc/slurm.sh`` and submit it; the job id. ``env`` is the job's
    environment (sbatch passes the submitter's on)."""
    check_batch_path(paths.meta_dir)
    path = paths.meta(SLURM_SCRIPT)
    write_atomic(path, script(paths, name, settings, grace).encode(), mode=0o700)
    try:
        done = subprocess.run(["sbatch", "--parsable", str(path)], capture_output=True,
                              text=True, env=env, timeout=60, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise SlurmError("sbatch is not found: is this a Slurm login node?") from None
    except subprocess.TimeoutExpired:
        raise SlurmError("sbatch did not answer within 60 s") from None
    if done.returncode != 0:
        raise SlurmError(f"sbatch refused the job: {_last(done.stderr)}")
    job = done.stdout.strip().split(";")[0]
    if not job.isdigit():
        raise SlurmError(f"sbatch answered {done.stdout.strip()[:200]!r}, not a job id")
    return job


def record(job: str, for_attempt: int, requeues: int, grace: float) -> dict:
    """What the run's attributes say of a job just submitted."""
    return {"job": job, "for_attempt": for_attempt, "requeues": requeues,
            "submitted": now_iso(), "node": None, "ends": None,
            "signal": signal_seconds(grace)}


def submit_attempt(paths: RunPaths, name: str, spec, env: dict, attempt: int,
                   requeues: int) -> str:
    """Submit the run's attempt ``attempt`` and record its job in the run's attributes
    (it reads ``queued`` from then on); the job id. Inside a job (a requeue), that
    job's own variables are not passed on to the next."""
    from .meta import update_attrs

    env = {k: v for k, v in env.items()
           if not k.startswith(("SLURM_", "SLURMD_")) or k == "SLURM_CONF"}
    job = submit(paths, name, spec.slurm, spec.grace, env)

    def change(attrs: dict) -> None:
        attrs["slurm"] = record(job, attempt, requeues, spec.grace)
        attrs.pop("exit", None)  # the last attempt's end: this one is queued now
        attrs.pop("ended", None)

    update_attrs(paths.meta_dir, change, f"Submitted attempt {attempt} as Slurm job {job}")
    return job


def cancel(job: str) -> None:
    try:
        done = subprocess.run(["scancel", job], capture_output=True, text=True, timeout=60)
    except (FileNotFoundError, subprocess.TimeoutExpired) as exc:
        raise SlurmError(f"scancel {job} failed: {exc}") from None
    if done.returncode != 0:
        raise SlurmError(f"scancel {job} failed: {_last(done.stderr)}")


def _last(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "(no message)"


class Job:
    """What Slurm says of one job."""

    __slots__ = ("ends", "job", "node", "reason", "state")

    def __init__(self, job: str, state: str, reason: str = "", node: str = "",
                 ends: float | None = None):
        self.job, self.state, self.reason, self.node, self.ends = \
            job, state, reason, node, ends

    @property
    def ended(self) -> bool:
        return self.state in ENDED

    def __repr__(self) -> str:
        return f"Job({self.job}, {self.state}, {self.reason!r})"


_seen: dict[str, tuple[float, Job | None]] = {}


def queue(jobs: list[str], fresh: bool = False) -> dict[str, Job | None]:
    """What Slurm says of each of ``jobs`` (None: Slurm no longer knows it), looked
    at once for all of them and reused for QUEUE_FOR seconds (``fresh``: not reused).
    Empty if Slurm cannot be asked (no squeue here: the runs directory is read
    elsewhere)."""
    now = time.monotonic()
    wanted = [j for j in dict.fromkeys(jobs) if j.isdigit()]
    missing = [j for j in wanted
               if fresh or j not in _seen or now - _seen[j][0] > QUEUE_FOR]
    if missing:
        found = _squeue(missing)
        if found is None:
            return {}
        for job in missing:
            _seen[job] = (now, found.get(job) or _sacct(job) or _scontrol(job))
    return {job: _seen[job][1] for job in wanted}


def _squeue(jobs: list[str]) -> dict[str, Job] | None:
    try:
        done = subprocess.run(["squeue", "-h", "-t", "all", "-j", ",".join(jobs), "-o",
                               "%i|%T|%r|%N|%e"], capture_output=True, text=True,
                              timeout=15)
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0 and "Invalid job id" not in done.stderr:
        return None
    found = {}
    for line in done.stdout.splitlines():
        parts = line.split("|")
        if len(parts) == 5 and parts[0].isdigit():
            found[parts[0]] = Job(parts[0], parts[1], _reason(parts[2]), parts[3],
                                  parse_time(parts[4]))
    return found


def _sacct(job: str) -> Job | None:
    """A job squeue no longer lists, as Slurm's accounting recorded it (where there is
    accounting: without it, sacct says so and scontrol is asked instead)."""
    try:
        done = subprocess.run(["sacct", "-n", "-X", "-P", "-j", job, "-o",
                               "JobID,State,NodeList,End"], capture_output=True, text=True,
                              timeout=15)
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return None
    for line in done.stdout.splitlines() if done.returncode == 0 else []:
        parts = line.split("|")
        if len(parts) == 4 and parts[0] == job:
            state, _, by = parts[1].partition(" ")  # "CANCELLED by 0"
            return Job(job, state, by.strip(), parts[2], parse_time(parts[3]))
    return None


def _scontrol(job: str) -> Job | None:
    """A job squeue no longer lists, as ``scontrol show job`` remembers it."""
    try:
        done = subprocess.run(["scontrol", "-o", "show", "job", job], capture_output=True,
                              text=True, timeout=15)
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return None
    fields = dict(item.partition("=")[::2] for item in done.stdout.split())
    if done.returncode != 0 or "JobState" not in fields:
        return None
    return Job(job, fields["JobState"], _reason(fields.get("Reason", "")),
               fields.get("NodeList", ""), parse_time(fields.get("EndTime", "")))


def _reason(text: str) -> str:
    return "" if text in ("None", "(null)") else text


def parse_time(text: str) -> float | None:
    """Slurm's ``2026-11-30T12:05:58`` (the controller's local time) in epoch seconds."""
    try:
        return time.mktime(time.strptime(text.strip(), "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return None


def reachable() -> str:
    """One line for ``runyard doctor``: whether sbatch and squeue answer here, and the
    partitions Slurm offers (``*`` marks the default)."""
    import shutil

    missing = [tool for tool in ("sbatch", "squeue", "sinfo") if shutil.which(tool) is None]
    if missing:
        return f"not here ({', '.join(missing)} not found): --on slurm cannot submit"
    try:
        done = subprocess.run(["sinfo", "-h", "-o", "%P %a %D %T"], capture_output=True,
                              text=True, timeout=15)
    except subprocess.TimeoutExpired:
        return "sbatch found, but Slurm's controller did not answer within 15 s"
    if done.returncode != 0:
        return f"sbatch found, but sinfo failed: {_last(done.stderr)}"
    partitions: dict[str, list[str]] = {}
    for line in done.stdout.splitlines():
        parts = line.split()
        if len(parts) == 4:
            partitions.setdefault(parts[0], []).append(f"{parts[2]} {parts[3]}")
    listed = "; ".join(f"{name} ({', '.join(states)})"
                       for name, states in partitions.items())
    return f"sbatch and squeue answer; partitions: {listed or 'none'}"


def this_job() -> tuple[str, str] | None:
    """(job id, node) when this process runs inside a Slurm job."""
    job = os.environ.get("SLURM_JOB_ID")
    return (job, os.environ.get("SLURMD_NODENAME", "")) if job else None


def at_walltime(slurm: dict, now: float | None = None) -> bool:
    """Whether a SIGTERM now is the job's walltime signal: it comes ``signal`` seconds
    before the limit, or up to EARLY seconds sooner."""
    ends, lead = slurm.get("ends"), slurm.get("signal") or 0
    if not isinstance(ends, int | float):
        return False
    return (time.time() if now is None else now) >= ends - lead - EARLY - 15


