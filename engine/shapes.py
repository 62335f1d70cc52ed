"""Checking the type of every field a reader uses, in records read from files.

A record is checked against a table of fields: for each, a ``Kind`` (a test and
how to say what it wants) and whether it must be there. The first field that is
wrong raises ``WrongShape`` naming it (``exit.status``, ``metadata.lr``) with
what was expected and a short, escaped sight of what was found.
"""

import math
from collections.abc import Callable


class WrongShape(ValueError):
    """A field of a record that is missing or of the wrong type; one line."""


class Kind:
    """What a field wants: ``test`` tells whether a value has it, ``what`` says it.
    ``types``: when a value of one of these exact types always passes ``test``, and
    one of any other type fails it: the whole test, made by ``type(value) in types``.
    (A plain class: ``typing.NamedTuple`` would load ``typing``, 2-3 ms of every
    ``runyard ls``.)"""

    __slots__ = ("test", "types", "what")

    def __init__(self, test: Callable[[object], bool], what: str,
                 types: frozenset | None = None):
        self.test, self.what, self.types = test, what, types


def brief(value, width: int = 40) -> str:
    """A type and a short ``repr`` (control characters escaped, long ones cut)."""
    if isinstance(value, dict | list):
        return f"a {type(value).__name__} of {len(value)}"
    shown = repr(value)
    if len(shown) > width:
        shown = shown[: width - 3] + "..."
    return f"{type(value).__name__} {shown}"


def label(key: str, width: int = 60) -> str:
    """A key from a file as it may appear in a message: control characters escaped."""
    shown = key if key.isprintable() else repr(key)[1:-1]
    return shown if len(shown) <= width else shown[: width - 3] + "..."


def is_int(value) -> bool:
    return type(value) is int or (isinstance(value, int) and not isinstance(value, bool))


def is_number(value) -> bool:
    """An int, or a finite float (never a bool)."""
    if type(value) is float:  # the exact types first: what a JSON parser gives
        return math.isfinite(value)
    return is_int(value) or (isinstance(value, float) and math.isfinite(value))


def is_scalar(value) -> bool:
    """What metadata values may be: a string, a finite number or a bool."""
    kind = type(value)
    if kind is str or kind is int or kind is bool:  # the exact types first, as above
        return True
    return isinstance(value, str | bool) or is_number(value)


TEXT = Kind(lambda v: isinstance(v, str), "a string", frozenset({str}))
TEXT_OR_NULL = Kind(lambda v: v is None or isinstance(v, str), "a string or null",
                    frozenset({str, type(None)}))
NUMBER = Kind(is_number, "a finite number")
NUMBER_OR_NULL = Kind(lambda v: v is None or is_number(v), "a finite number or null")
COUNT = Kind(lambda v: is_int(v) and v >= 0, "a whole number >= 0")
POSITIVE = Kind(lambda v: is_number(v) and v > 0, "a positive number")
FLAG = Kind(lambda v: isinstance(v, bool), "true or false")
OBJECT = Kind(lambda v: isinstance(v, dict), "an object", frozenset({dict}))
OBJECT_OR_NULL = Kind(lambda v: v is None or isinstance(v, dict), "an object or null",
                      frozenset({dict, type(None)}))
TEXTS = Kind(lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
             "a list of strings")


def one_of(*values: str) -> Kind:
    return Kind(lambda v: isinstance(v, str) and v in values,
                "one of " + ", ".join(repr(v) for v in values))


def scalar_map(where: str, value) -> None:
    """A map of string keys to strings, finite numbers or bools (metadata)."""
    if not isinstance(value, dict):
        raise WrongShape(f"'{where}' must be an object, not {brief(value)}")
    for key, item in value.items():
        if not is_scalar(item):
            raise WrongShape(f"'{where}.{label(key)}' must be a string, a finite number or a "
                             f"bool, not {brief(item)}")


def check_fields(record: dict, fields: dict[str, tuple[Kind, bool]],
                 prefix: str = "") -> None:
    """Each of ``fields`` (name: (kind, required)) present with its kind, or WrongShape."""
    for name, (kind, required) in fields.items():
        if name not in record:
            if required:
                raise WrongShape(f"'{prefix}{name}' is missing")
            continue
        value = record[name]
        if not kind.test(value):
            raise WrongShape(f"'{prefix}{name}' must be {kind.what}, not {brief(value)}")


def quick_check(fields: dict[str, tuple[Kind, bool]]) -> Callable[[dict], bool]:
    """A test of a record against ``fields`` that is True only if ``check_fields``
    would pass, and quicker: it looks only at the fields the record has, and checks
    kinds that are a type test by the value's exact type. False says only "check it
    slowly", which also finds the field to name (a subclass of ``str`` fails here and
    passes there)."""
    rules = {name: kind.test if kind.types is None else kind.types
             for name, (kind, _required) in fields.items()}
    required = frozenset(name for name, (_kind, needed) in fields.items() if needed)

    def ok(record: dict) -> bool:
        if required and not record.keys() >= required:
            return False
        for name, value in record.items():
            rule = rules.get(name)
            if rule is None:
                continue
            if type(rule) is frozenset:
                if type(value) not in rule:
                    return False
            elif not rule(value):
                return False
        return True

    return ok
