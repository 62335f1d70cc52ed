"""The lock held by the process running an instance: ``instances/<key>.lock``.

A straggler of a killed attempt (a Dask worker taken for lost, a process still
dying) and the process that runs the instance after it must never run it at
once: each takes this lock before reading the record, and waits for it.

Creating a file is the dearest system call a trivial instance makes (a new
inode: 50 us on a quiet disk, close to 1 ms on a loaded one, as much as its whole
record write). So on Linux ``<key>.lock`` is a hard link to one file of the run,
``instances/.shared.lock`` (a link is a name, not an inode), and each instance locks
its own byte of that file (at its index and iteration) with an open file
description lock, which, like ``flock``, belongs to the open file and is released
when it is closed or its process dies, and works over NFS. Where a link cannot be
made (the filesystem's limit of links per file, or no links at all)
``<key>.lock`` is a file of its own, locked the same way; elsewhere than Linux
each is a file of its own, ``flock``ed whole. Like every lock file, it is its
owner's alone (``open_lock``): a stranger who could open it could hold it.
"""

import contextlib
import errno
import fcntl
import os
import struct
import sys

from .untrusted import open_lock

LOCKS = ".shared.lock"  # a lock file: its name ends in .lock, like every other
_OFD = hasattr(fcntl, "F_OFD_SETLKW") and sys.maxsize > 2**32  # struct flock below


def make_shared(folder: str) -> None:
    """The file every ``<key>.lock`` links to (made with the run's records)."""
    if _OFD:
        os.close(open_lock(os.path.join(folder, LOCKS), os.O_WRONLY))


def lock_instance(folder: str, key: str) -> int:
    """Hold ``key``'s lock, waiting for it: a descriptor, released when closed."""
    path = os.path.join(folder, f"{key}.lock")
    if _OFD and not os.path.lexists(path):
        _link(folder, path)
    fd = open_lock(path, os.O_WRONLY)  # never truncated, never via a link; owner-only
    try:
        if _OFD:
            index, _, iteration = key.partition("-")
            where = int(index) << 20 | int(iteration)  # both < 2**20: a run has <= 10**6
            fcntl.fcntl(fd, fcntl.F_OFD_SETLKW,
                        struct.pack("hhxxxxqqixxxx", fcntl.F_WRLCK, os.SEEK_SET, where, 1, 0))
        else:
            fcntl.flock(fd, fcntl.LOCK_EX)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _link(folder: str, path: str) -> None:
    shared = os.path.join(folder, LOCKS)
    try:
        os.link(shared, path)
    except FileExistsError:  # another process linked it first: the same lock
        pass
    except FileNotFoundError:  # a run from before the shared lock: make it, then link
        make_shared(folder)
        with contextlib.suppress(FileExistsError):
            os.link(shared, path)
    except OSError as exc:
        if exc.errno not in (errno.EMLINK, errno.EPERM, errno.EOPNOTSUPP):
            raise
        # no more links to it (or none here): open_lock makes a file
