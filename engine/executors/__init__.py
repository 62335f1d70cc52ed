"""Executors: where a module run's instances run, one file each, behind one interface.

    local   worker processes on this machine (local.py)
    dask    tasks on a dask.distributed cluster: a scheduler given, or one of this
            machine that the supervisor owns (dask.py)
    slurm   tasks on Dask workers that run as Slurm jobs, through dask-jobqueue's
            SLURMCluster, which the supervisor owns (slurm.py)

``EXECUTORS`` (the names) feeds the command line's ``--executor`` choices, the
validation of ``runyard.toml`` and flow step settings, and the start form. Adding
one (PBS, say) is a file here with a subclass of ``Executor`` and a line in
``REGISTRY``: nothing is imported before a run asks for it, so the tracking API and
the dashboard never load Dask.
"""

import importlib

from .base import Executor

# name -> (module, class), imported when a run uses it
REGISTRY = {
    "local": ("runyard.engine.executors.local", "LocalExecutor"),
    "dask": ("runyard.engine.executors.dask", "DaskExecutor"),
    "slurm": ("runyard.engine.executors.slurm", "SlurmExecutor"),
}
EXECUTORS = tuple(REGISTRY)


def executor_class(name: str) -> type[Executor]:
    module, cls = REGISTRY[name]
    return getattr(importlib.import_module(module), cls)


__all__ = ["EXECUTORS", "REGISTRY", "Executor", "executor_class"]
