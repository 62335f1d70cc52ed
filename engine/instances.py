"""Instance lists: paths, globs, pyalma ``.batch`` files and ``.experiment`` files.

Instance paths are made absolute when a run is defined (relative ones against
the directory they were given in), because a run's processes work in the run's
own folder.

pyalma's files are JSON:

- ``.experiment``: ``{"load": "module.py", "workers": 4, "iterations": 1,
  "batch": "all.batch"}``; ``load`` and ``batch`` are relative to the file.
- ``.batch``: ``{"dir": "data", "instances": ["a.txt", ...], "include":
  ["other.batch"], "batches": [{...}, ...]}``; ``dir`` is relative to the batch
  file (or to the enclosing batch's ``dir`` for a nested batch), instances are
  relative to ``dir``, includes to the including file. An include cycle is an
  error.
"""

import glob
import json
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import RunyardError


class InstanceError(RunyardError):
    """An instance list cannot be built; the message names the file."""


def expand(patterns: list[str], base: Path | None = None) -> list[str]:
    """Paths and globs as absolute instance paths, in order, without repeats."""
    base = base or Path.cwd()
    found: list[str] = []
    for pattern in patterns:
        full = pattern if os.path.isabs(pattern) else str(base / pattern)
        if pattern.endswith(".batch"):
            found += read_batch(Path(full))
            continue
        if glob.has_magic(pattern):
            matches = sorted(glob.glob(full, recursive=True))
            if not matches:
                raise InstanceError(f"no instance file matches {pattern!r}")
            found += [str(Path(m).absolute()) for m in matches if os.path.isfile(m)]
        elif os.path.isfile(full):
            found.append(str(Path(full).absolute()))
        elif os.path.exists(full):
            raise InstanceError(f"instance {pattern!r} is not a regular file")
        else:
            raise InstanceError(f"instance file {pattern!r} does not exist")
    return list(dict.fromkeys(found))


def _load_json(path: Path, kind: str) -> dict:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise InstanceError(f"{path}: {kind} file not found") from None
    except json.JSONDecodeError as exc:
        raise InstanceError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    except OSError as exc:
        raise InstanceError(f"{path}: cannot read {kind} file ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise InstanceError(f"{path}: a {kind} file must be UTF-8 text") from None
    if not isinstance(data, dict):
        raise InstanceError(f"{path}: a {kind} file holds a JSON object")
    return data


def read_batch(path: Path, _seen: tuple = ()) -> list[str]:
    """The instances of a pyalma batch file, includes and nested batches resolved."""
    path = path.absolute()
    if path in _seen:
        chain = " -> ".join(str(p) for p in (*_seen, path))
        raise InstanceError(f"include cycle: {chain}")
    data = _load_json(path, "batch")
    return _batch_instances(data, path, path.parent, (*_seen, path))


def _batch_instances(data: dict, path: Path, here: Path, seen: tuple) -> list[str]:
    folder = here / data.get("dir", ".")
    found: list[str] = []
    for include in _str_list(data, "include", path):
        found += read_batch(here / include if not os.path.isabs(include) else Path(include),
                            seen)
    instances = _str_list(data, "instances", path)
    if instances:
        try:
            found += expand(instances, folder)
        except InstanceError as exc:
            raise InstanceError(f"{path}: {exc}") from None
    for nested in data.get("batches", []):
        if not isinstance(nested, dict):
            raise InstanceError(f"{path}: 'batches' holds batch objects, got {nested!r}")
        found += _batch_instances(nested, path, folder, seen)
    return list(dict.fromkeys(found))


def _str_list(data: dict, key: str, path: Path) -> list[str]:
    value = data.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InstanceError(f"{path}: {key!r} must be a list of paths, got {value!r}")
    return value


@dataclass
class ExperimentFile:
    module: Path
    instances: list[str]
    workers: int
    iterations: int


def read_experiment(path: Path) -> ExperimentFile:
    """A pyalma ``.experiment`` file."""
    path = path.absolute()
    data = _load_json(path, "experiment")
    load = data.get("load")
    if not isinstance(load, str):
        raise InstanceError(f"{path}: 'load' must name the run module")
    batch = data.get("batch")
    if not isinstance(batch, str | dict):
        raise InstanceError(f"{path}: 'batch' must name a batch file or hold a batch")
    if isinstance(batch, str):
        instances = read_batch(path.parent / batch)
    else:
        instances = _batch_instances(batch, path, path.parent, (path,))
    workers, iterations = data.get("workers", 1), data.get("iterations", 1)
    for key, value in (("workers", workers), ("iterations", iterations)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InstanceError(f"{path}: {key!r} must be a positive integer, got {value!r}")
    return ExperimentFile(path.parent / load, instances, workers, iterations)
