"""What a reader may rely on in ``attrs.json``: the type of every field it uses.

``check_attrs`` is called by ``read_attrs`` on every read, so the listing, the
dashboard, the engine's own writers (``update_attrs``) and the tracking API all
see attributes of these types or none at all: a run whose ``attrs.json`` breaks
them is ``unreadable``, with a reason naming the field. Fields not listed here
are not read and not checked (a later runyard may add some).
"""

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
}
LOCK = {"host": (TEXT, True), "pid": (COUNT, True), "pid_started": (NUMBER, True),
        "pid_ticks": (COUNT, False)}
EXIT = {"status": (one_of(*FINAL_STATES), True), "time": (TEXT, False),
        "error": (TEXT_OR_NULL, False), "code": (INT_OR_NULL, False)}
FLOW = {"task": (TEXT_OR_NULL, False), "name": (TEXT, False), "returns": (TEXTS, False),
        "steps": (OBJECT, False), "run": (RUN_ID, False), "alias": (TEXT, False)}
STEP = {"run": (RUN_ID_OR_NULL, False), "status": (TEXT, False),
        "error": (TEXT_OR_NULL, False)}


_FIELDS_OK, _LOCK_OK, _EXIT_OK = quick_check(FIELDS), quick_check(LOCK), quick_check(EXIT)


def check_attrs(attrs: dict) -> None:
    """WrongShape (one line naming the field) unless every field read has its type."""
    if not _FIELDS_OK(attrs):  # a listing checks thousands: the quick way first
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


def _check_flow(flow: dict) -> None:
    check_fields(flow, FLOW, "flow.")
    for alias, step in flow.get("steps", {}).items():
        where = f"flow.steps.{label(alias)}"
        if not isinstance(step, dict):
            raise WrongShape(f"'{where}' must be an object, not {brief(step)}")
        check_fields(step, STEP, where + ".")
