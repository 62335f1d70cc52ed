"""Flows: define, attach to a platform, prepare, run with overrides, stop, results.

    from runyard.engine.flows import Dask, Local, flow, op   # or Core, Space (ref. 003)

    @flow
    def lines_summary():
        lines = op("extract.py", instances=["data/*.txt"])
        return op("summarise.py", lines.outputs("*.txt"))

    task = Local(lines_summary())    # interpreted (or Dask(..., scheduler=...))
    task.prepare()                   # checked, recorded under a hash of its content
    run_id = task.run(config_extensions={"extract": {"workers": 4}})
    for result in task.results(run_id):
        print(result.alias, result.status, result.outputs)
    task.stop()                      # releases the platform

Stages (``get_stage()``): defined -> interpreted -> prepared <-> running ->
stopped; a prepared task idle for longer than its ``idle_timeout`` is
suspended. ``prepare()`` again makes a stopped or suspended task usable.

A flow run is a runyard run of kind ``flow``: a detached supervisor starts each
step as a run of its own (tagged with the flow run and its alias) in dependency
order, independent steps in parallel. Pausing, resuming and closing the flow
run act on its steps; resuming it redoes no finished step.

On disk, under the runs root::

    .runyard/flows/<task id>/task.json     the resolved graph and the platform
    .runyard/flows/<task id>/state.json    stage, its time, last activity, runs
    .runyard/flows/<task id>/cluster.json  Dask: the address of the task's own cluster

This module is the flows API; each part lives in a file of its own: defining
(flow_graph.py), the task's records (flow_state.py), a platform's lifecycle and
Local (flow_platform.py), Dask and its cluster (flow_dask.py, flow_cluster.py),
results (flow_results.py), and a flow run's supervisor (flow_runner.py).
"""

# The "x as x" imports are importable from here as they were before the split (the CLI
# and the tests use them); __all__ is the flows API.
from .flow_cluster import cluster_address as cluster_address
from .flow_dask import CLUSTER_START_TIMEOUT as CLUSTER_START_TIMEOUT
from .flow_dask import Dask
from .flow_graph import FlowError, Outputs, PromisedTask, Step, flow, op, ref
from .flow_platform import Local
from .flow_results import StepResult, flow_results, step_outputs
from .flow_state import active_runs as active_runs
from .flow_tables import table

# Reference 003's platforms by the names its samples use: Malevich's Core runs a flow
# on the platform's own machines, here on this one; its Space on many, here on Dask.
Core = Local
Space = Dask

__all__ = ["Core", "Dask", "FlowError", "Local", "Outputs", "PromisedTask", "Space", "Step",
           "StepResult", "flow", "flow_results", "op", "ref", "step_outputs", "table"]
