"""The Slurm executor (``--executor slurm``): a run's instances spread over Slurm jobs
through dask-jobqueue's ``SLURMCluster``.

The run's supervisor creates the cluster (its Dask scheduler lives in the
supervisor's process), lets it scale between 0 and ``workers`` jobs with
``adapt``, and closes it when the attempt ends, which cancels (``scancel``) every
job still queued or running. Tasks then behave as on any Dask cluster
(dask.py): pause and close reach them at their next ``save()``, and a job
that dies under an instance (its node lost, its time limit) is a kill, after
which the instance runs again from its last saved state.

Each job is one Dask worker process with one thread (``processes=1, cores=1``):
one instance at a time, as a local worker. Its resources come from the run's
Slurm settings (``spec.slurm``, as for ``--on slurm``):

    partition       #SBATCH -p            (dask-jobqueue's ``queue``)
    account         #SBATCH -A            (``account``)
    time            #SBATCH -t            (``walltime``; none: the partition's
                                           default, not dask-jobqueue's 30 minutes)
    cpus-per-task   #SBATCH --cpus-per-task  (``job_cpu``; default 1)
    mem             #SBATCH --mem         (``job_mem``; none: no line)
    any other KEY   #SBATCH --KEY=VALUE   (qos, gpus, constraint...)
    extra           each as given         (``--mail-type=END``)

A job that ends before its worker joins is submitted again, and after a few the
run fails saying where to look (``EarlyEnds``): the cluster itself would wait for
it forever. The worker has no memory limit of its own (``--memory-limit 0``): the job's memory
is Slurm's to enforce. Jobs are named ``runyard-w-RUN_ID``; their output goes to
the run's ``log/runyard-w-RUN_ID-JOBID.out`` and ``.err``; the script they run is
kept as ``proc/slurm-workers.sh``. The jobs run the supervisor's Python with -P.
Settings runyard does not set (``interface``, ``death-timeout``,
``job-script-prologue``...), and ``python`` when it is set, come from the user's
Dask configuration (``jobqueue.slurm``), so a site's jobqueue.yaml still applies;
its ``job-extra-directives`` and ``job-directives-skip`` come before the run's.
"""

import re
import shlex
import subprocess
import sys
import time

from ..atomic import write_atomic
from ..errors import RunyardError
from ..layout import LOGS, SLURM_WORKERS_SCRIPT, RunPaths
from ..slurm import check_batch_path
from ..spec import RunSpec
from .dask import DaskExecutor

# run settings dask-jobqueue takes as its own parameters; any other is a directive
PARAMETERS = {"partition": "queue", "account": "account", "time": "walltime",
              "cpus-per-task": "job_cpu", "mem": "job_mem"}
EARLY_ENDS = 3       # worker jobs ending before their worker joins, before the run fails
CHECK_EVERY = 5.0    # seconds between looks at the queue while a job's worker is awaited
UNKNOWN_TASK = "1h"  # how long the scheduler guesses an instance takes before one ends
_KEY = re.compile(r"[a-z][a-z0-9-]*")
_WORD = re.compile(r"[^\s#'\"\\`$;&|<>]+")  # one word that a batch script's header keeps


def job_name(paths: RunPaths) -> str:
    return f"runyard-w-{paths.id}"


def cluster_options(paths: RunPaths, spec: RunSpec) -> dict:
    """SLURMCluster's keyword arguments for the run's worker jobs."""
    import dask

    check_batch_path(paths.meta_dir)  # its log folder goes into #SBATCH lines

    settings = dict(getattr(spec, "slurm", None) or {})
    extra = settings.pop("extra", None) or []
    extra = [extra] if isinstance(extra, str) else list(extra)
    options = {"cores": 1, "processes": 1, "memory": "0", "job_cpu": 1,
               "job_name": job_name(paths), "log_directory": str(paths.meta(LOGS)),
               "job_directives_skip": [],
               "scheduler_options": {"dashboard_address": None,
                                     **dask.config.get("jobqueue.slurm.scheduler-options",
                                                       {})}}
    if dask.config.get("jobqueue.slurm.python", None) is None:
        # the jobs start in the run's folder, as the supervisor does: -P keeps what the
        # run wrote there (a distributed.py) from being what the worker imports
        options["python"] = f"{shlex.quote(sys.executable)} -P"
    directives = list(dask.config.get("jobqueue.slurm.job-extra-directives", None) or [])
    options["job_directives_skip"] += \
        dask.config.get("jobqueue.slurm.job-directives-skip", None) or []
    for key, value in settings.items():
        text = _checked(key, value)
        if key in PARAMETERS:
            options[PARAMETERS[key]] = int(text) if key == "cpus-per-task" else text
        else:
            directives.append(f"--{key}={text}")
    for item in extra:
        directives.append(_checked_extra(item))
    options["job_extra_directives"] = directives
    if "time" not in settings:  # dask-jobqueue would ask for 30 minutes
        options["walltime"] = "0"
        options["job_directives_skip"].append("#SBATCH -t ")
    if "mem" not in settings:  # dask-jobqueue would ask for the worker's memory
        options["job_mem"] = "0"
        options["job_directives_skip"].append("#SBATCH --mem=")
    return options


def _checked(key, value) -> str:
    text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
    if not isinstance(key, str) or not _KEY.fullmatch(key) or not _WORD.fullmatch(text):
        raise RunyardError(f"Slurm setting {key!r} = {value!r} cannot go into a job "
                           "script: a setting is one word")
    if key == "cpus-per-task" and not text.isdigit():
        raise RunyardError(f"Slurm setting cpus-per-task must be a whole number, not {text!r}")
    return text


def _checked_extra(item) -> str:
    if not isinstance(item, str) or not item.startswith("-") or not _WORD.fullmatch(item):
        raise RunyardError(f"extra Slurm directive {item!r} cannot go into a job script: "
                           "it is one option, like --mail-type=END")
    return item


def slurm_cluster(paths: RunPaths, spec: RunSpec):
    """The run's SLURMCluster, adapting between 0 and ``spec.workers`` jobs. Slurm
    is asked first (``sbatch --test-only``) whether it takes the job as written, so
    a wrong partition or account fails the run at once with Slurm's word, instead
    of a cluster that retries forever and never gets a worker."""
    try:
        from dask_jobqueue import SLURMCluster
    except ImportError:
        raise RunyardError("--executor slurm needs dask-jobqueue: pip install "
                           "'runyard[dask]'") from None
    import dask

    # until an instance has finished, Dask would guess it takes half a second and ask
    # for one job for many; a run's instances are long, so each waiting one asks for
    # its own job (up to ``workers``) from the start; adapt learns from the first ones
    with dask.config.set({"distributed.scheduler.unknown-task-duration": UNKNOWN_TASK}):
        cluster = SLURMCluster(**cluster_options(paths, spec))
    try:
        script = cluster.job_script()
        write_atomic(paths.meta(SLURM_WORKERS_SCRIPT), script.encode(), mode=0o600)
        _test_submit(paths, script)
        cluster.adapt(minimum_jobs=0, maximum_jobs=spec.workers)
    except BaseException:
        cluster.close()
        raise
    return cluster


def _test_submit(paths: RunPaths, script: str) -> None:
    """``sbatch --test-only``: Slurm checks the job and says when it would start,
    submitting nothing."""
    try:
        done = subprocess.run(["sbatch", "--test-only"], input=script, capture_output=True,
                              text=True, timeout=60, cwd=paths.run_dir)
    except FileNotFoundError:
        raise RunyardError("--executor slurm: sbatch is not found; is this a Slurm "
                           "login node?") from None
    except subprocess.TimeoutExpired:
        raise RunyardError("--executor slurm: sbatch did not answer within 60 s") from None
    if done.returncode != 0:
        words = "; ".join(line.strip() for line in done.stderr.splitlines() if line.strip())
        raise RunyardError("--executor slurm: Slurm refuses the worker jobs: "
                           + (words[:300] or f"sbatch exit code {done.returncode}"))


class EarlyEnds:
    """Worker jobs that ended before their Dask worker joined (a Python the compute
    nodes cannot run, a broken environment). The cluster would wait for them
    forever, the run running with no worker: each one is dropped, so that adapt
    submits another, and after ``EARLY_ENDS`` of them the run fails naming the last
    one's log. Slurm is asked (``squeue``) only while a job's worker is awaited."""

    def __init__(self, paths: RunPaths, cluster):
        self.paths, self.cluster = paths, cluster
        self.joined: set[str] = set()  # names of workers that ever joined
        self.ended: list[str] = []     # job ids that ended early
        self.next = 0.0

    def check(self) -> str | None:
        """The error that ends the run, or None."""
        now = time.monotonic()
        if now < self.next:
            return None
        self.next = now + CHECK_EVERY
        self.joined.update(w.get("name") for w in
                           self.cluster.scheduler_info.get("workers", {}).values())
        awaited = {name: job.job_id for name, job in list(self.cluster.workers.items())
                   if name not in self.joined and getattr(job, "job_id", None)}
        if not awaited:
            return None
        alive = self._alive()
        if alive is None:  # Slurm did not answer: ask again later
            return None
        gone = [name for name, job_id in awaited.items() if job_id not in alive]
        for name in gone:
            self.joined.update(w.get("name") for w in  # it may have joined just now
                               self.cluster.scheduler_info.get("workers", {}).values())
            if name not in self.joined:
                self.ended.append(awaited[name])
                self.cluster.loop.add_callback(self._drop, name)
        if len(self.ended) < EARLY_ENDS:
            return None
        log = self.paths.meta(LOGS) / f"{job_name(self.paths)}-{self.ended[-1]}.err"
        return (f"Slurm worker jobs end before their Dask worker starts ({len(self.ended)} "
                f"jobs: {', '.join(self.ended)}); see {log}")

    def _alive(self) -> set[str] | None:
        """The ids of the run's worker jobs Slurm has not ended, or None."""
        try:
            done = subprocess.run(["squeue", "-h", "-n", job_name(self.paths), "-o", "%i"],
                                  capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return set(done.stdout.split()) if done.returncode == 0 else None

    def _drop(self, name: str) -> None:
        """In the cluster's event loop: forget the job, so adapt asks for another."""
        self.cluster.worker_spec.pop(name, None)
        self.cluster.workers.pop(name, None)


class SlurmExecutor(DaskExecutor):
    """The Dask executor on a cluster of Slurm jobs that this supervisor owns."""

    name = "slurm"

    def connect(self, spec: RunSpec):
        from distributed import Client

        self.cluster = slurm_cluster(self.paths, spec)
        self.early_ends = EarlyEnds(self.paths, self.cluster)
        return Client(self.cluster)

    def reap(self) -> list:
        """Worker jobs that never got their worker started, past the limit: the end."""
        error = self.early_ends.check()
        return [(None, {"op": "fatal", "error": error})] if error else []

    def describe(self) -> str:
        return (f"Slurm: up to {len(self.slots)} worker jobs ({job_name(self.paths)}), "
                "through dask-jobqueue")
