"""Checks for what users give a run: folders, tags, metadata, descriptions.

Each check returns the cleaned value or raises ValueError with a message that
says what was wrong and with which value.
"""

import json
import math
import unicodedata

TAG_MAX = 100
KEY_MAX = 200
# The longest text a user may give (a description, a metadata string, an event
# message): with JSON's escapes at most 24 MiB on disk, within what readers
# accept (untrusted.py, docs/format.md).
TEXT_MAX = 4 * 1024 * 1024
METADATA_MAX = 16 * 1024 * 1024  # a metadata dict, as JSON


def check_text_size(what: str, text: str) -> str:
    """``text`` if it has at most TEXT_MAX characters, else ValueError."""
    if len(text) > TEXT_MAX:
        raise ValueError(f"{what} may have at most {TEXT_MAX} characters, not {len(text)}")
    return text


# Bidirectional marks, embeddings, overrides and isolates: in a name, a tag or a
# folder they make text read otherwise than it is ('evil\u202etxt.exe').
BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                 "\u2066\u2067\u2068\u2069")


def has_control(text: str) -> bool:
    """Whether ``text`` holds a control character (C0, DEL, C1), a line or paragraph
    separator, a bidirectional control, or a lone surrogate: none of them belongs in
    a name, a tag, a folder or a metadata key."""
    return any(unicodedata.category(c) in ("Cc", "Zl", "Zp") or c in BIDI for c in text) \
        or not is_utf8(text)


def is_utf8(text: str) -> bool:
    """False for strings with lone surrogates, which no file can hold as UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_folder(folder) -> str:
    """A folder path such as ``/`` or ``/a/b``; a trailing ``/`` is dropped."""
    if not isinstance(folder, str):
        raise ValueError(f"a folder must be a string like '/a/b', not {folder!r}")
    if not folder.startswith("/"):
        raise ValueError(f"a folder must start with '/', got {folder!r}")
    if folder == "/":
        return folder
    parts = folder.rstrip("/").split("/")[1:]
    for part in parts:
        if part in ("", ".", "..") or has_control(part) or "\\" in part:
            raise ValueError(f"folder {folder!r} has an invalid part {part!r}")
    return "/" + "/".join(parts)


def check_tags(tags) -> list[str]:
    """A list of distinct, non-empty tags, in the order first given."""
    if isinstance(tags, str) or not isinstance(tags, list | tuple | set | frozenset):
        raise ValueError(f"tags must be a list of strings, not {tags!r}")
    clean: list[str] = []
    for tag in tags:
        if not isinstance(tag, str) or not tag.strip():
            raise ValueError(f"a tag must be a non-empty string, got {tag!r}")
        if len(tag) > TAG_MAX or has_control(tag):
            raise ValueError(f"a tag must have at most {TAG_MAX} printable characters, "
                             f"got {tag!r}")
        if tag not in clean:
            clean.append(tag)
    return clean


def check_metadata(metadata) -> dict:
    """A dict of str keys to str, int, float (finite) or bool values."""
    if not isinstance(metadata, dict):
        raise ValueError(f"metadata must be a dict, not {metadata!r}")
    for key, value in metadata.items():
        if not isinstance(key, str) or not key or len(key) > KEY_MAX or has_control(key):
            raise ValueError(f"metadata keys must be non-empty printable strings of at most "
                             f"{KEY_MAX} characters, got {key!r}")
        if not isinstance(value, str | int | float | bool) or value is None:
            raise ValueError(f"metadata value for {key!r} must be str, int, float or bool, "
                             f"not {type(value).__name__} {value!r}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"metadata value for {key!r} must be finite, got {value!r}")
        if isinstance(value, str) and ("\x00" in value or not is_utf8(value)):
            raise ValueError(f"metadata value for {key!r} contains a NUL character or a "
                             f"lone surrogate: {value[:40]!r}...")
        if isinstance(value, str):
            check_text_size(f"metadata value for {key!r}", value)
    _check_metadata_size(metadata)
    return dict(metadata)


def _check_metadata_size(metadata: dict) -> None:
    rough = sum(len(k) + (len(v) if isinstance(v, str) else 24) + 8
                for k, v in metadata.items())
    if rough * 6 <= METADATA_MAX:  # JSON writes a character in at most 6 bytes
        return
    size = len(json.dumps(metadata, ensure_ascii=False).encode("utf-8"))
    if size > METADATA_MAX:
        raise ValueError(f"metadata may take at most {METADATA_MAX} bytes as JSON, "
                         f"not {size}")


def check_description(description) -> str:
    if not isinstance(description, str) or "\x00" in description or \
            not is_utf8(description):
        shown = description[:40] if isinstance(description, str) else description
        raise ValueError(f"a description must be a string without NUL, not {shown!r}")
    return check_text_size("a description", description)


def check_timeout(timeout) -> float:
    """A heartbeat timeout in seconds."""
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or \
            not math.isfinite(timeout) or timeout <= 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    return float(timeout)


def flat_metadata(metadata) -> dict:
    """Simvue's nested metadata in runyard's flat form: ``{"solver": {"tol": 1e-6}}``
    becomes ``{"solver.tol": 1e-6}``, and a list of values its JSON text; then
    ``check_metadata``. A flat dict comes back as it was given."""
    if not isinstance(metadata, dict):
        return check_metadata(metadata)
    if not any(isinstance(v, dict | list | tuple) for v in metadata.values()):
        return check_metadata(metadata)
    flat: dict = {}
    _flatten(metadata, "", flat, 0)
    return check_metadata(flat)


def _flatten(value: dict, prefix: str, into: dict, depth: int) -> None:
    import json

    if depth > 8:
        raise ValueError(f"metadata nested deeper than 8 levels at {prefix!r}")
    for key, item in value.items():
        if not isinstance(key, str):
            raise ValueError(f"metadata keys must be strings, got {key!r}")
        name = f"{prefix}{key}"
        if isinstance(item, dict):
            _flatten(item, name + ".", into, depth + 1)
        elif isinstance(item, list | tuple):
            try:
                into[name] = json.dumps(item, allow_nan=False)
            except (TypeError, ValueError):
                raise ValueError(f"metadata list {name!r} must hold JSON values, got "
                                 f"{item!r}"[:300]) from None
        else:
            into[name] = item
