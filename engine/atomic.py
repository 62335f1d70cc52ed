"""The one helper that writes whole files.

A whole-file record is written to a temporary file in the same folder, flushed,
optionally fsynced, then moved over the target with ``os.replace``. Readers see
either the old file or the new one, never half of either. The old file is never
removed first.
"""

import json
import os
import tempfile
from pathlib import Path


def write_atomic(path: Path | str, data: bytes | str, *, fsync: bool = False,
                 mode: int | None = None) -> None:
    """Replace ``path`` with ``data`` in one step."""
    path = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            if fsync:
                os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path | str, obj, *, fsync: bool = False,
                      mode: int | None = None) -> None:
    """Replace ``path`` with ``obj`` as indented JSON."""
    text = json.dumps(obj, indent=1, ensure_ascii=False, allow_nan=False) + "\n"
    write_atomic(path, text, fsync=fsync, mode=mode)
