"""Run ids and run names.

A run id is 14 characters of lowercase Crockford base32: 9 for the creation
time in milliseconds (so ids sort by time as plain strings) and 5 random ones.
A run name is ``adjective-noun`` (reference 001), unique within a runs root.
"""

import random
import re
import time

from .validate import has_control

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_TIME_CHARS = 9
_RANDOM_CHARS = 5
_system_random = random.SystemRandom()  # os.urandom, as secrets uses (which loads hashlib)
RUN_ID_RE = re.compile(rf"[{_ALPHABET}]{{{_TIME_CHARS + _RANDOM_CHARS}}}")  # whole: fullmatch
NAME_MAX = 128


def _base32(number: int, width: int) -> str:
    chars = []
    for _ in range(width):
        number, digit = divmod(number, 32)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))


_last = [0, 0]  # this process's last (millis, random part)


def new_run_id(now: float | None = None) -> str:
    """A fresh id whose string order is its creation order.

    Between processes the order holds to the millisecond; within one process it
    is strict: ids made in the same millisecond count up (as monotonic ULIDs do).
    """
    millis = int((time.time() if now is None else now) * 1000)
    if millis <= _last[0] and _last[1] + 1 < 32 ** _RANDOM_CHARS:
        millis, random_part = _last[0], _last[1] + 1
    else:
        random_part = _system_random.getrandbits(5 * _RANDOM_CHARS - 1)  # room to count up
    _last[:] = [millis, random_part]
    return _base32(millis, _TIME_CHARS) + _base32(random_part, _RANDOM_CHARS)


def is_run_id(text: str) -> bool:
    return bool(RUN_ID_RE.fullmatch(text))  # not match: "$" allows a newline after it


def run_id_time(run_id: str) -> float:
    """The creation time (seconds since the epoch) encoded in a run id."""
    millis = 0
    for char in run_id[:_TIME_CHARS]:
        millis = millis * 32 + _ALPHABET.index(char)
    return millis / 1000


def random_name() -> str:
    """An ``adjective-noun`` name such as ``amber-heron``."""
    from coolname import generate_slug  # imported here: it builds tables on import

    return generate_slug(2)


def check_name(name: str) -> str:
    """Return ``name`` if it can name a run, else raise ValueError saying why."""
    if not isinstance(name, str):
        raise ValueError(f"a run name must be a string, not {type(name).__name__} {name!r}")
    if not name or len(name) > NAME_MAX:
        raise ValueError(f"a run name must have 1 to {NAME_MAX} characters, got {name!r}")
    if name != name.strip() or name in (".", "..") or name.startswith("."):
        raise ValueError(f"a run name cannot start with '.' or with or end in spaces: {name!r}")
    if any(c in name for c in "/\\") or has_control(name):
        raise ValueError(f"a run name cannot contain '/', '\\' or control characters: {name!r}")
    if is_run_id(name):
        raise ValueError(f"a run name cannot look like a run id: {name!r}")
    try:
        encoded = name.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"a run name cannot hold lone surrogates: {name!r}") from None
    if len(encoded) > 200:
        raise ValueError(f"a run name must be under 200 bytes in UTF-8: {name!r}")
    return name
