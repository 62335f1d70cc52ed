"""Where the traceback of an unexpected dashboard error goes.

A crash must not pour a traceback (with whatever run data it quotes) over the
user's terminal, nor vanish: it is written to a file in the user's log folder,
and ``runyard dash`` prints one line naming it and exits non-zero.
"""

import os
import time
import traceback
from pathlib import Path


def crash_folder() -> Path:
    from platformdirs import user_log_dir

    return Path(user_log_dir("runyard"))


def write_crash_report(error: BaseException) -> str | None:
    """The path the traceback was written to, or None if it could not be written."""
    text = "".join(traceback.format_exception(error))
    stamp = time.strftime("%Y%m%d-%H%M%S")
    try:
        folder = crash_folder()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"dashboard-crash-{stamp}-{os.getpid()}.txt"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as f:
            f.write(text)
    except OSError:
        return None
    return str(path)
