"""The lock held by the process running an instance.

A straggler of a killed attempt (a Dask worker taken for lost, a process still
dying) and the process that runs the instance after it must never run it at
once: each takes this lock before reading the record, and waits for it.

Creating a file is the dearest system call a trivial instance makes (a new
inode: from 20 us on a quiet disk to 0.7 ms on a busy one, as much as the rest
of the instance's work). So on Linux every instance locks its own byte (at its
index and iteration) of one file of the run, ``instances/.shared.lock``, made
with the run's plan, with an open file description lock, which, like ``flock``,
belongs to the open file, is released when it is closed or its process dies, and
works over NFS. (Runs made by earlier versions also have ``<key>.lock`` hard
links to that file: the same file, so the same locks.) Elsewhere than Linux
each instance has a file of its own, ``instances/<key>.lock``, ``flock``ed
whole. Like every lock file, it is its owner's alone (``open_lock``): a
stranger who could open it could hold it.
"""

import fcntl
import os
import struct
import sys

from .untrusted import open_lock

LOCKS = ".shared.lock"  # a lock file: its name ends in .lock, like every other
_OFD = hasattr(fcntl, "F_OFD_SETLKW") and sys.maxsize > 2**32  # struct flock below


def make_shared(folder: str) -> None:
    """The file the instances' locks are taken on (made with the run's plan)."""
    if _OFD:
        os.close(open_lock(os.path.join(folder, LOCKS), os.O_WRONLY))


def lock_instance(folder: str, key: str) -> int:
    """Hold ``key``'s lock, waiting for it: a descriptor, released when closed."""
    if not _OFD:
        fd = open_lock(os.path.join(folder, f"{key}.lock"), os.O_WRONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
        return fd
    fd = open_lock(os.path.join(folder, LOCKS), os.O_WRONLY)  # made if a run has none
    try:
        index, _, iteration = key.partition("-")
        where = int(index) << 20 | int(iteration)  # both < 2**20: a run has <= 10**6
        fcntl.fcntl(fd, fcntl.F_OFD_SETLKW,
                    struct.pack("hhxxxxqqixxxx", fcntl.F_WRLCK, os.SEEK_SET, where, 1, 0))
    except BaseException:
        os.close(fd)
        raise
    return fd
