"""The Dask platform of a flow: module steps run on a Dask scheduler given by its
address, or on the task's own cluster on this machine, which a keeper process holds
(flow_cluster.py) from prepare() until the task is stopped or idles.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from . import untrusted
from .flow_cluster import ANOTHER_KEEPER, cluster_address, keeper_alive, own_cluster_record
from .flow_graph import FlowError
from .flow_platform import DEFAULT_IDLE_TIMEOUT, Platform
from .flow_state import read_state, update_state
from .meta import now_iso
from .untrusted import open_log

CLUSTER_START_TIMEOUT = 120.0
KEEPER_STARTS = 3  # a cluster released for idling before prepare() saw it is started again


class Dask(Platform):
    """Module steps run on a Dask cluster: ``scheduler`` (an address or a scheduler
    file), or, when none is given, a cluster of ``workers`` processes on this machine
    that the task owns from prepare() until it is stopped or suspended. Command
    steps run on this machine. The runs root must be shared with the workers."""

    kind = "dask"

    def __init__(self, task, *, scheduler: str | None = None, workers: int = 2, root=None,
                 idle_timeout: float = DEFAULT_IDLE_TIMEOUT):
        super().__init__(task, root=root, idle_timeout=idle_timeout)
        if scheduler is not None and (not isinstance(scheduler, str) or not scheduler):
            raise FlowError(f"scheduler is an address such as tcp://host:8786, not "
                            f"{scheduler!r}")
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise FlowError(f"workers must be a positive integer, got {workers!r}")
        self.scheduler = scheduler
        self.workers = workers

    def platform(self) -> dict:
        if self.scheduler:
            return {"kind": "dask", "scheduler": self.scheduler}
        return {"kind": "dask", "scheduler": None, "workers": self.workers}

    def ready(self, folder: Path) -> None:
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise FlowError("the Dask platform needs dask.distributed: pip install "
                            "'runyard[dask]'") from None
        if self.scheduler:
            check_scheduler(self.scheduler)
            return
        for _ in range(KEEPER_STARTS):
            if hand_over(folder):  # up (already, or just now): the idle clock starts here
                return
            keeper = self._start_keeper(folder)
            deadline = time.monotonic() + CLUSTER_START_TIMEOUT
            while not cluster_address(folder) and self._starting(keeper, folder):
                if time.monotonic() > deadline:
                    raise FlowError(f"the task's Dask cluster did not start within "
                                    f"{CLUSTER_START_TIMEOUT:.0f} s; the last line of "
                                    f"{folder / 'cluster.log'}: {last_log_line(folder)}")
                time.sleep(0.1)
            if keeper.poll() == ANOTHER_KEEPER:
                continue  # another prepare()'s keeper: its cluster, or a new keeper
            if keeper.poll() is not None and (read_state(folder) or {}).get("stage") != \
                    "suspended":  # it failed, or someone stopped the task: not idling
                raise FlowError(f"the task's Dask cluster stopped before prepare() could use "
                                f"it; the last line of {folder / 'cluster.log'}: "
                                f"{last_log_line(folder)}")
        raise FlowError(f"the task's Dask cluster was released for idling {KEEPER_STARTS} "
                        f"times before prepare() could hand it over: an idle_timeout of "
                        f"{self.idle_timeout:g} s is too short")

    @staticmethod
    def _starting(keeper: subprocess.Popen, folder: Path) -> bool:
        """Whether a cluster may still come up: the keeper started lives, or it left
        the task to another keeper that lives (another prepare() started it)."""
        code = keeper.poll()
        return code is None or (code == ANOTHER_KEEPER and keeper_alive(folder))

    def _start_keeper(self, folder: Path) -> subprocess.Popen:
        with open_log(folder / "cluster.log") as log:
            return subprocess.Popen([sys.executable, "-P", "-m", "runyard.engine.flow_cluster",
                                     str(self.root), self.task_id, str(self.workers)],
                                    cwd=folder, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=log, start_new_session=True, close_fds=True)

    def release(self, folder: Path) -> None:
        record = own_cluster_record(folder) if self.scheduler is None else None
        if not record:
            return
        if cluster_address(folder):  # the keeper still lives: ask it to go
            with contextlib.suppress(ProcessLookupError, TypeError):
                os.kill(record["lock"]["pid"], signal.SIGTERM)
        deadline = time.monotonic() + 30
        while cluster_address(folder) and time.monotonic() < deadline:
            time.sleep(0.1)


def check_scheduler(address: str) -> None:
    from distributed import Client

    try:
        client = Client(address, timeout=15)
    except (OSError, TimeoutError, ValueError) as exc:
        raise FlowError(f"cannot reach the Dask scheduler {address}: {exc}") from None
    client.close()


def hand_over(folder: Path) -> bool:
    """Whether the task's own cluster is up; if so its idle clock starts now (the task is
    handed over to the caller), else the task is made ready for a new keeper (prepared,
    active now: one that released its cluster for idling left it suspended). Under the
    task's lock, so a keeper deciding to release its cluster at this moment either sees
    the renewal and stays, or has already dropped its record and a new one is started."""
    handed = []

    def change(state: dict) -> None:
        handed.append(cluster_address(folder) is not None)
        if not handed[0] and state.get("stage") != "prepared":
            state.update(stage="prepared", since=now_iso(), reason=None)
        state["last_active"] = time.time()
    update_state(folder, change)
    return handed[0]


def last_log_line(folder: Path) -> str:
    """The last line of the keeper's ``cluster.log``, for an error message."""
    try:
        text = untrusted.read_bounded(folder / "cluster.log", untrusted.MiB)
    except OSError:  # none yet, or not a file we read
        text = b""
    lines = text.decode("utf-8", "replace").strip().splitlines()
    return lines[-1] if lines else "(empty)"
