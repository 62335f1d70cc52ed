"""What the dashboard's start form asks for, turned into an engine start."""

from pathlib import Path

from runyard.engine.control import start
from runyard.engine.errors import UsageError
from runyard.engine.instances import expand
from runyard.engine.project import PROJECT_DEFAULT, load_operation, save_operation
from runyard.engine.root import find_project_file
from runyard.engine.spec import RunSpec


def start_from_request(root: Path, request):
    """Start the run the form describes; returns (its info, the operation it was saved as)."""
    project = find_project_file()
    attrs: dict = {}
    alerts: list = []
    if request.target.endswith(".py"):
        spec = RunSpec(kind="module", module=request.target,
                       instances=expand(request.instances))
    else:
        if project is None:
            raise UsageError(f"no runyard.toml here to find operation {request.target!r} in")
        operation = load_operation(project, request.target)
        spec, attrs, alerts = operation.spec, operation.attrs, operation.alerts
        if request.instances:
            spec.instances = expand(request.instances)
    if request.workers:
        spec.workers = request.workers
    if request.name:
        attrs["name"] = request.name
    info = start(root, spec, alerts=alerts, **attrs)
    saved = None
    if request.save_as:
        values = {"workers": spec.workers}
        if request.target.endswith(".py"):
            values.update(module=request.target, instances=request.instances)
        elif request.instances:
            values["instances"] = request.instances
        save_operation(project or Path.cwd() / PROJECT_DEFAULT, request.save_as, values)
        saved = request.save_as
    return info, saved
