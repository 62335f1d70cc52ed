"""The keeper of a Dask flow task's own cluster: one detached process per task.

``python -m runyard.engine.flow_cluster ROOT TASK_ID WORKERS``

It starts a scheduler and WORKERS single-threaded worker processes on
127.0.0.1, writes their address to ``cluster.json`` (with its own lock record,
so a reader can tell a dead keeper from a live one), and keeps them until the
task is stopped (``state.json`` leaves ``prepared``), SIGTERM, or the task has
been idle for longer than its idle timeout, which suspends it.
"""

import contextlib
import signal
import sys
import time
from pathlib import Path

from .atomic import write_json_atomic
from .flows import idle_for, read_state, set_stage, task_dir
from .procs import process_lock

CHECK_EVERY = 0.5


def main(argv: list[str]) -> int:
    root, task_id, workers = Path(argv[0]), argv[1], int(argv[2])
    folder = task_dir(root, task_id)
    leaving = []
    signal.signal(signal.SIGTERM, lambda *_: leaving.append("SIGTERM"))
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # a dropped SSH session stops nothing
    from distributed import LocalCluster

    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address=None)
    write_json_atomic(folder / "cluster.json", {"address": cluster.scheduler_address,
                                                "workers": workers, "lock": process_lock()},
                      mode=0o644)  # obeyed only if no one else could have written it
    print(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} Cluster up at {cluster.scheduler_address}",
          flush=True)
    why = "SIGTERM"
    try:
        while not leaving:
            state = read_state(folder) or {}
            if state.get("stage") != "prepared":
                why = f"the task is {state.get('stage')}"
                break
            idle = idle_for(root, state, task_id=folder.name)
            if idle is not None and idle > float(state.get("idle_timeout", 3600)):
                why = f"idle for {idle:.0f} s"
                set_stage(folder, "suspended", why)
                break
            time.sleep(CHECK_EVERY)
    finally:
        (folder / "cluster.json").unlink(missing_ok=True)
        with contextlib.suppress(Exception):
            cluster.close(timeout=20)
        print(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} Cluster released: {why}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
