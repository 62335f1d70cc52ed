"""Every argument of every public ``Run`` method, given the wrong type, raises
UsageError (a RuntimeError), never a bare TypeError or AttributeError from inside
runyard; and metric values of every numpy kind (issue 13)."""

import json

import numpy as np
import pytest

from runyard.engine import Run, UsageError

from conftest import read_series

BAD = [1, 2.5, True, "text", b"bytes", object(), [object()], {"k": object()}, {1: 2},
       ["a", 1], -1, float("nan")]


def fresh(root) -> Run:
    run = Run()
    run.config(disable_resources_metrics=True)
    run.init(folder="/walk")
    run.create_user_alert("u1")
    return run


def calls(tmp_path) -> dict:
    """Each public method with arguments it accepts."""
    data = tmp_path / "data.txt"
    data.write_text("x\n")
    return {
        "config": {"suppress_errors": True, "disable_resources_metrics": True,
                   "system_metrics_interval": 30, "abort_on_alert": "terminate",
                   "abort_callback": None, "stalled_after": None},
        "update_metadata": {"metadata": {"a": 1}},
        "update_tags": {"tags": ["t"]},
        "set_tags": {"tags": ["t"]},
        "set_pid": {"pid": 1},
        "log_metrics": {"metrics": {"x": 1.0}, "step": None, "time": None,
                        "timestamp": None},
        "log_event": {"message": "hello", "timestamp": None, "log_level": "info"},
        "save_file": {"file_path": data, "category": "input", "file_type": None,
                      "name": None, "metadata": None},
        "save_object": {"obj": {"a": 1}, "category": "output", "name": "obj",
                        "allow_pickle": False, "metadata": None},
        "save_directory": {"directory": tmp_path, "category": "input"},
        "save_all": {"items": [data], "category": "input"},
        "set_folder_details": {"metadata": {"a": 1}, "tags": ["x"],
                               "description": "d"},
        "add_alert": {"name": "a1", "source": "metrics", "frequency": 1, "window": 5,
                      "rule": "is above", "metric": "x", "threshold": 1.0},
        "create_metric_threshold_alert": {"name": "a2", "metric": "x", "threshold": 1.0,
                                          "rule": "is above", "window": 5,
                                          "frequency": 1, "aggregation": "average"},
        "create_metric_range_alert": {"name": "a3", "metric": "x", "range_low": 0.0,
                                      "range_high": 1.0, "rule": "is inside range"},
        "create_event_alert": {"name": "a4", "pattern": "NaN", "frequency": 1},
        "create_user_alert": {"name": "a5", "notification": "none",
                              "trigger_abort": False, "description": None},
        "log_alert": {"identifier": "u1", "state": "critical"},
        "add_alerts": {"names": ["u1"]},
        "set_metric_units": {"metric_name": "x", "units": "m"},
        "log_progress": {"fraction": 0.5},
        "add_process": {"identifier": "p", "executable": "true", "script": None,
                        "input_file": None, "completion_callback": None,
                        "completion_trigger": None, "env": None, "cwd": None},
        "kill_process": {"process_id": "p"},
        "assign_metric_to_grid": {"metric_name": "x", "grid_name": None},
        "set_status": {"status": "completed"},
        "init": None,
    }


@pytest.mark.filterwarnings("ignore")
def test_every_argument_of_wrong_type_raises_usage_error(env_root, tmp_path):
    failures = []
    run = fresh(env_root)
    for method, good in calls(tmp_path).items():
        if good is None:
            continue
        for param in good:
            for bad in BAD:
                if run.status != "running":
                    run.close()
                    run = fresh(env_root)
                try:
                    getattr(run, method)(**{**good, param: bad})
                except UsageError:
                    pass
                except Exception as exc:  # any other is the bug looked for
                    failures.append(f"{method}({param}={bad!r}): "
                                    f"{type(exc).__name__}: {exc}")
    run.close()
    for param in ("mode", "debug", "abort_callback", "server_url"):
        for bad in BAD:
            try:
                Run(**{param: bad})
            except UsageError:
                pass
            except Exception as exc:  # any other is the bug looked for
                failures.append(f"Run({param}={bad!r}): {type(exc).__name__}: {exc}")
    for bad in BAD:
        try:
            Run().reconnect(bad)
        except UsageError:
            pass
        except Exception as exc:  # any other is the bug looked for
            failures.append(f"reconnect({bad!r}): {type(exc).__name__}: {exc}")
    assert failures == [], "\n".join(failures)


def test_init_refuses_wrong_types(env_root):
    failures = []
    for param in ("name", "metadata", "tags", "description", "folder", "running",
                  "status", "timeout", "offline"):
        for bad in BAD:
            run = Run()
            try:
                run.init(**{param: bad})
            except UsageError:
                continue
            except Exception as exc:  # any other is the bug looked for
                failures.append(f"init({param}={bad!r}): {type(exc).__name__}: {exc}")
                continue
            run.close()
    assert failures == [], "\n".join(failures)
    for param in ("tags", "metadata", "folder", "running", "description"):
        with pytest.raises(UsageError, match=param):
            Run().init(**{param: 1})


def test_numpy_scalars_of_every_kind_are_metric_values(env_root):
    values = {"b": np.bool_(True), "i8": np.int8(-3), "u64": np.uint64(7),
              "f16": np.float16(0.5), "f32": np.float32(1.5), "f64": np.float64(2.5),
              "i64": np.int64(9)}
    with Run() as run:
        run.init(name="numpy")
        assert run.log_metrics(values) is True
        with pytest.raises(UsageError, match=r"numpy array .*one number per metric"):
            run.log_metrics({"o": np.array([1, "a"], dtype=object)})
        with pytest.raises(UsageError, match="too large"):
            run.log_metrics({"huge": 10**400})
        with pytest.raises(UsageError, match="too large"):
            run.log_metrics({"i64": -(10**400)})  # a name already known: the fast path
        with pytest.raises(UsageError, match=r"numpy array \('f' kind, shape \(2, 2\)\)"):
            run.log_metrics({"grid": np.zeros((2, 2))})
    (point,) = read_series(env_root, run.id, "metrics.jsonl")
    assert point["v"] == {"b": True, "i8": -3, "u64": 7, "f16": 0.5, "f32": 1.5,
                          "f64": 2.5, "i64": 9}
    assert json.dumps(point["v"])
