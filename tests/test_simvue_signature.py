"""A script written against simvue 2.6.2's whole ``Run`` runs unchanged on runyard's:
every method is called with Simvue's keywords, each optional one at Simvue's own
default, from ``inspect.signature`` of the real package (kept in
simvue_run_2_6_2.json by simvue_signature.py)."""

import inspect
import json
import warnings
from pathlib import Path

import pytest

from runyard.engine import Run, UsageError
from runyard.engine.summary import alert_states

from conftest import run_cli_process, wait_until

SIMVUE = json.loads((Path(__file__).parent / "simvue_run_2_6_2.json").read_text())
# simvue's own machinery, with nothing to stand for in runyard: its server
# dispatcher, its process executor object and its server configuration
NOT_PORTED = {"dispatcher", "executor", "user_config"}
LAST = ("kill_process", "kill_all_processes", "set_status", "close")


def required(tmp_path: Path) -> dict:
    """Values for Simvue's required parameters, by method."""
    data = tmp_path / "data.txt"
    data.write_text("x\n")
    return {
        "add_process": {"identifier": "sleeper", "cmd_args": ("sleep", "30")},
        "assign_metric_to_grid": {"metric_name": "grid"},
        "create_event_alert": {"name": "ev", "pattern": "diverged"},
        "create_metric_range_alert": {"name": "rng", "metric": "loss", "range_low": 0.0,
                                      "range_high": 10.0, "rule": "is outside range"},
        "create_metric_threshold_alert": {"name": "thr", "metric": "loss",
                                          "threshold": 5.0, "rule": "is above"},
        "create_user_alert": {"name": "u"},
        "kill_process": {"process_id": "sleeper"},
        "log_alert": {"name": "u"},
        "log_event": {"message": "diverged at step 3"},
        "log_metrics": {"metrics": {"loss": 1.5}},
        "save_all": {"items": [data], "category": "input"},
        "save_directory": {"directory": tmp_path, "category": "code"},
        "save_file": {"file_path": data, "category": "input", "name": "named.txt"},
        "save_object": {"obj": {"a": 1}, "category": "output"},
        "set_metric_units": {"metric_name": "loss", "units": "J"},
        "set_pid": {"pid": 1},
        "set_status": {"status": "completed"},
        "set_tags": {"tags": ["replaced"]},
        "update_metadata": {"metadata": {"k": 1}},
        "update_tags": {"tags": ["more"]},
    }


def call_with_simvues_keywords(run: Run, method: str, values: dict):
    """Keywords throughout, but for what comes before a ``*args`` (as Python needs)."""
    args, kwargs = [], {}
    for param in SIMVUE["methods"][method]:
        name = param["name"]
        value = values[name] if name in values else param["default"]
        if param["kind"] == "VAR_POSITIONAL":
            args = [*kwargs.values(), *value]
            kwargs = {}
        elif param["kind"] != "VAR_KEYWORD":
            kwargs[name] = value
    return getattr(run, method)(*args, **kwargs)


def test_runyard_has_every_method_parameter_and_property(tmp_path):
    missing = []
    for method, params in SIMVUE["methods"].items():
        ours = getattr(Run, method, None)
        if ours is None:
            missing.append(method)
            continue
        accepted = inspect.signature(ours).parameters
        takes_any = any(p.kind is p.VAR_KEYWORD for p in accepted.values())
        for param in params:
            if param["kind"] in ("VAR_POSITIONAL", "VAR_KEYWORD"):
                if not any(p.kind.name == param["kind"] for p in accepted.values()):
                    missing.append(f"{method}(*{param['name']})")
            elif param["name"] not in accepted and not takes_any:
                missing.append(f"{method}({param['name']}=)")
    for name in set(SIMVUE["properties"]) - NOT_PORTED:
        if not isinstance(getattr(Run, name, None), property):
            missing.append(f"property {name}")
    init = inspect.signature(Run).parameters
    missing += [f"Run({name}=)" for name in SIMVUE["init"] if name not in init]
    assert missing == []


def test_every_method_called_with_simvues_keywords_and_defaults(env_root, tmp_path,
                                                                monkeypatch):
    import runyard.engine.run_config

    monkeypatch.setattr(runyard.engine.run_config, "_SERVER_WARNED", False)  # once a process
    values = required(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = Run(mode="online", abort_callback=None, server_token="t",
                  server_url="https://simvue.example", debug=False, server_profile=None)
        Run(server_url="https://simvue.example")
    assert [str(w.message) for w in caught if "no server" in str(w.message)] == \
        ["runyard has no server: server_url, server_token and server_profile are "
         "ignored, runs are written locally"]
    assert run.mode == "online" and len(run.uid) == 32
    assert call_with_simvues_keywords(run, "config", {}) is True
    assert call_with_simvues_keywords(run, "init", {"name": "signature"}) is True
    for method in SIMVUE["methods"]:
        if method in ("config", "init", "reconnect", *LAST):
            continue
        if method == "assign_metric_to_grid":
            with pytest.raises(UsageError, match="one number per metric and step"):
                call_with_simvues_keywords(run, method, values.get(method, {}))
            continue
        result = call_with_simvues_keywords(run, method, values.get(method, {}))
        assert result in (True, None) or isinstance(result, str), (method, result)
    assert [p.pid for p in run.processes][:1] == [run._tracked["sleeper"].popen.pid]
    assert run.duration > 0
    for method in LAST:
        call_with_simvues_keywords(run, method, values.get(method, {}))
    assert run.processes == []
    data = json.loads(run_cli_process("show", "signature", "--json", "--root",
                                      env_root).stdout)
    assert data["tags"] == ["replaced", "more"] and data["metadata"]["k"] == 1
    assert data["metadata"]["sleeper_command"] == "sleep 30"
    assert data["metrics"]["loss"]["units"] == "J"
    states = {a["name"]: a["state"] for a in alert_states(env_root / f"{run.id}.meta")[0]}
    assert states["u"] == "critical" and states["sleeper_exit_status"] == "critical"
    assert set(states) == {"u", "ev", "rng", "thr", "sleeper_exit_status"}

    queued = Run()
    queued.init(name="queued", running=False)
    again = Run()
    assert call_with_simvues_keywords(again, "reconnect", {"run_id": queued.id}) is True
    assert again.close() is True


def test_add_process_output_is_saved_and_close_waits_for_it(env_root, tmp_path):
    done = []
    with Run() as run:
        run.init(name="procs")
        run.add_process("echo", "sh", c="echo out; echo err >&2",
                        completion_callback=lambda code, out, err: done.append(
                            (code, out, err)))
    assert done == [(0, "out\n", "err\n")]
    meta = env_root / f"{run.id}.meta"
    files = {json.loads(line)["name"] for line in (meta / "files.jsonl").open()}
    assert {"echo.out", "echo.err"} <= files
    assert json.loads((meta / "attrs.json").read_text())["exit"]["status"] == "completed"


def test_a_failed_process_fails_the_run_and_an_exception_kills_them(env_root):
    with Run() as run:
        run.init(name="fails")
        run.add_process("bad", "sh", "-c", "exit 3")
    assert json.loads((env_root / f"{run.id}.meta/attrs.json").read_text())["exit"][
        "status"] == "failed"
    with pytest.raises(ZeroDivisionError), Run() as run:
        run.init(name="killed")
        run.add_process("long", "sleep", "300")
        pid = run.processes[0].pid
        raise ZeroDivisionError("the code failed")
    import psutil

    wait_until(lambda: not psutil.pid_exists(pid) or
               psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
