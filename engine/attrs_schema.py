"""What a reader may rely on in ``attrs.json``: the type of every field it uses.

``check_attrs`` is called by ``read_attrs`` on every read, so the listing, the
dashboard, the engine's own writers (``update_attrs``) and the tracking API all
see attributes of these types or none at all: a run whose ``attrs.json`` breaks
them is ``unreadable``, with a reason naming the field. Fields not listed here
are not read and not checked (a later runyard may add some).
"""

from math import inf

from .ids import is_run_id
from .shapes import (
    COUNT,
    NUMBER,
    OBJECT,
    OBJECT_OR_NULL,
    POSITIVE,
    TEXT,
    TEXT_OR_NULL,
    TEXTS,
    Kind,
    WrongShape,
    brief,
    check_fields,
    label,
    one_of,
    quick_check,
    scalar_map,
)
from .status import FINAL_STATES

RUN_ID = Kind(lambda v: isinstance(v, str) and is_run_id(v), "a run id")
RUN_ID_OR_NULL = Kind(lambda v: v is None or RUN_ID.test(v), "a run id or null")
FOLDER = Kind(lambda v: isinstance(v, str) and v.startswith("/"), "a string starting '/'")
INT_OR_NULL = Kind(lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool)),
                   "a whole number or null")

FIELDS = {
    "id": (TEXT, False), "name": (TEXT, False), "folder": (FOLDER, False),
    "tags": (TEXTS, False), "description": (TEXT, False), "timeout": (POSITIVE, False),
    "host": (TEXT, False), "user": (TEXT, False), "created": (TEXT, False),
    "started": (TEXT, False), "ended": (TEXT, False), "attempt": (COUNT, False),
    "kind": (TEXT, False), "lock": (OBJECT_OR_NULL, False), "exit": (OBJECT_OR_NULL, False),
    "progress": (OBJECT_OR_NULL, False), "flow": (OBJECT_OR_NULL, False),
    "origin": (RUN_ID, False), "slurm": (OBJECT_OR_NULL, False),
}
LOCK = {"host": (TEXT, True), "pid": (COUNT, True), "pid_started": (NUMBER, True),
        "pid_ticks": (COUNT, False)}
EXIT = {"status": (one_of(*FINAL_STATES), True), "time": (TEXT, False),
        "error": (TEXT_OR_NULL, False), "code": (INT_OR_NULL, False)}
FLOW = {"task": (TEXT_OR_NULL, False), "name": (TEXT, False), "returns": (TEXTS, False),
        "steps": (OBJECT, False), "run": (RUN_ID, False), "alias": (TEXT, False)}
STEP = {"run": (RUN_ID_OR_NULL, False), "status": (TEXT, False),
        "error": (TEXT_OR_NULL, False)}
JOB_ID = Kind(lambda v: isinstance(v, str) and v.isdigit() and len(v) < 20, "a job id")
NUMBER_OR_NULL = Kind(lambda v: v is None or NUMBER.test(v), "a number or null")
SLURM = {"job": (JOB_ID, True), "for_attempt": (COUNT, True), "requeues": (COUNT, False),
         "submitted": (TEXT, False), "node": (TEXT_OR_NULL, False),
         "ends": (NUMBER_OR_NULL, False), "signal": (COUNT, False)}


_FIELDS_OK, _LOCK_OK, _EXIT_OK = quick_check(FIELDS), quick_check(LOCK), quick_check(EXIT)


def check_attrs(attrs: dict) -> None:
    """WrongShape (one line naming the field) unless every field read has its type."""
    if not attrs_ok(attrs):  # a listing checks thousands: the quick way first
        check_attrs_fully(attrs)


def check_attrs_fully(attrs: dict) -> None:
    """``check_attrs`` the slow way, field by field: what names the wrong field (and
    what ``attrs_ok`` is tested against)."""
    if not _FIELDS_OK(attrs):
        check_fields(attrs, FIELDS)
    if "metadata" in attrs:
        scalar_map("metadata", attrs["metadata"])
    if attrs.get("scheduler") is not None:
        scalar_map("scheduler", attrs["scheduler"])
    if attrs.get("lock") is not None and not _LOCK_OK(attrs["lock"]):
        check_fields(attrs["lock"], LOCK, "lock.")
    if attrs.get("exit") is not None and not _EXIT_OK(attrs["exit"]):
        check_fields(attrs["exit"], EXIT, "exit.")
    for key, count in (attrs.get("progress") or {}).items():
        if not COUNT.test(count):
            raise WrongShape(f"'progress.{label(key)}' must be {COUNT.what}, not "
                             f"{brief(count)}")
    if attrs.get("flow") is not None:
        _check_flow(attrs["flow"])
    if attrs.get("slurm") is not None:
        check_fields(attrs["slurm"], SLURM, "slurm.")


def _check_flow(flow: dict) -> None:
    check_fields(flow, FLOW, "flow.")
    for alias, step in flow.get("steps", {}).items():
        where = f"flow.steps.{label(alias)}"
        if not isinstance(step, dict):
            raise WrongShape(f"'{where}' must be an object, not {brief(step)}")
        check_fields(step, STEP, where + ".")


# The string fields, checked at once: each one absent reads as "" here.
_TEXTS = tuple(name for name, (kind, _required) in FIELDS.items() if kind is TEXT)
_ALL_TEXT, _AS_TEXT = (str,) * len(_TEXTS), ("",) * len(_TEXTS)
_ABSENT = object()


def attrs_ok(attrs: dict) -> bool:
    """True only if ``check_attrs`` passes ``attrs``, in a fraction of its time, for
    attributes as runyard writes them and a JSON parser returns them (exact types);
    False says only "check it slowly" (a flow, a subclass of ``str``), which then
    names the field that is wrong. tests/test_quick_check.py draws records to hold
    the two together."""
    get = attrs.get
    for name in _TEXTS:
        if type(get(name, "")) is not str:
            return False
    folder, tags = get("folder", "/"), get("tags", _ABSENT)
    timeout, attempt = get("timeout", 1), get("attempt", 0)
    metadata, scheduler, progress = get("metadata", _ABSENT), get("scheduler"), \
        get("progress")
    lock, ended, origin = get("lock"), get("exit"), get("origin", _ABSENT)
    return (type(folder) is str and folder.startswith("/")
            and (tags is _ABSENT or (type(tags) is list and texts(tags)))
            and (type(timeout) is float or type(timeout) is int) and 0 < timeout < inf
            and type(attempt) is int and attempt >= 0
            and (metadata is _ABSENT or _scalars(metadata))
            and (scheduler is None or _scalars(scheduler))
            and (progress is None or _counts(progress)) and get("flow") is None
            and get("slurm") is None
            and (lock is None or _lock_ok(lock)) and (ended is None or _exit_ok(ended))
            and (origin is _ABSENT or (type(origin) is str and is_run_id(origin))))


def texts(values: list) -> bool:
    """Whether every one of ``values`` is a string (``join`` tells, quicker than a
    loop)."""
    try:
        "".join(values)
    except TypeError:
        return False
    return True


def _scalars(value) -> bool:
    """A map of strings, finite numbers and bools."""
    if type(value) is not dict:
        return False
    for item in value.values():
        kind = type(item)
        if not (kind is str or kind is int or kind is bool
                or (kind is float and item - item == 0)):  # not NaN nor infinite
            return False
    return True


def _counts(value) -> bool:
    if type(value) is not dict:
        return False
    return all(type(item) is int and item >= 0 for item in value.values())


def _lock_ok(lock) -> bool:
    if type(lock) is not dict:
        return False
    pid, started, ticks = lock.get("pid"), lock.get("pid_started"), lock.get("pid_ticks", 0)
    return (type(lock.get("host")) is str and type(pid) is int and pid >= 0
            and ((type(started) is float and started - started == 0) or type(started) is int)
            and type(ticks) is int and ticks >= 0)


def _exit_ok(ended) -> bool:
    if type(ended) is not dict:
        return False
    error, code = ended.get("error"), ended.get("code")
    return (ended.get("status") in FINAL_STATES and type(ended.get("time", "")) is str
            and (error is None or type(error) is str) and (code is None or type(code) is int))
