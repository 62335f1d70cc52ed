"""Offline mode's spool and ``runyard sync``.

An offline run writes into a node-local spool (``RUNYARD_SPOOL``, default
``<user cache dir>/runyard/spool``) in exactly the runs-directory format.
``sync_spool`` brings the spool's runs into a root: series and logs are
appended incrementally (whole lines only), whole files are copied atomically
when they changed, the heartbeat's time is carried over. A run that has
finished and is fully copied is removed from the spool; a live one stays and
is synced again next time. Syncing twice copies nothing twice.
"""

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from .atomic import write_atomic, write_json_atomic
from .errors import RunyardError
from .layout import ATTRS, ATTRS_LOCK, HEARTBEAT, ROOT_META, RunPaths
from .meta import locked, read_attrs
from .names import claim_name, lookup_name, release_name
from .root import ensure_root
from .store import run_ids
from .untrusted import NotReadable, open_for_writing


def spool_root(explicit=None) -> Path:
    if explicit:
        return Path(os.path.expanduser(explicit)).absolute()
    env = os.environ.get("RUNYARD_SPOOL")
    if env:
        return Path(os.path.expanduser(env)).absolute()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("runyard")) / "spool"


@dataclass
class SyncReport:
    synced: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    bytes_copied: int = 0


def sync_spool(spool: Path, root: Path) -> SyncReport:
    """Bring every run of ``spool`` into ``root``; safe to repeat and to run while
    offline runs are still being written."""
    report = SyncReport()
    if not spool.is_dir():
        raise RunyardError(f"spool {spool} does not exist")
    ensure_root(root)
    with locked(root / ROOT_META / "sync.lock"):
        for run_id in run_ids(spool):
            try:
                _sync_run(RunPaths(spool, run_id), RunPaths(root, run_id), report)
            except (OSError, RunyardError) as exc:
                report.problems.append(f"run {run_id}: {exc}")
    return report


def _sync_run(src: RunPaths, dst: RunPaths, report: SyncReport) -> None:
    with locked(src.meta(ATTRS_LOCK)):
        attrs = read_attrs(src.meta_dir)  # an unreadable run stays in the spool
        finished = "exit" in attrs
        name = _dst_name(src, dst, attrs, report)
        attrs = {**attrs, "name": name}
        if not dst.meta_dir.exists():
            _first_copy(src, dst, attrs)
            report.bytes_copied += _tree_size(dst.meta_dir)
        else:
            report.bytes_copied += _copy_meta(src.meta_dir, dst.meta_dir)
            write_json_atomic(dst.meta(ATTRS), attrs)
        report.bytes_copied += _copy_user_files(src.run_dir, dst.run_dir)
        _carry_heartbeat(src, dst)
    report.synced.append(dst.id)
    if finished:
        release_name(src.root, attrs["name"], src.id)
        shutil.rmtree(src.run_dir, ignore_errors=True)
        shutil.rmtree(src.meta_dir)
        report.removed.append(dst.id)


def _dst_name(src: RunPaths, dst: RunPaths, attrs: dict, report: SyncReport) -> str:
    name = attrs["name"]
    owner = lookup_name(dst.root, name)
    if owner == dst.id:
        return name
    if dst.meta_dir.exists():  # synced before under another name
        return read_attrs(dst.meta_dir)["name"]
    if owner is not None:
        name = f"{name}-{dst.id[-5:]}"
        report.renamed[attrs["name"]] = name
    claim_name(dst.root, name, dst.id)
    return name


def _first_copy(src: RunPaths, dst: RunPaths, attrs: dict) -> None:
    tmp = dst.root / f".{dst.id}.sync"
    shutil.rmtree(tmp, ignore_errors=True)
    _copy_meta(src.meta_dir, tmp)
    write_json_atomic(tmp / ATTRS, attrs)
    dst.run_dir.mkdir(exist_ok=True)
    os.rename(tmp, dst.meta_dir)


def _copy_meta(src: Path, dst: Path) -> int:
    """runyard's own files: series and logs by their new whole lines, the rest whole."""
    copied = 0
    dst.mkdir(parents=True, exist_ok=True)
    for entry in sorted(src.rglob("*")):
        relative = entry.relative_to(src)
        if any(part.startswith(".") for part in relative.parts) or \
                str(relative) in (ATTRS, ATTRS_LOCK, HEARTBEAT):
            continue  # temporary files, and what sync writes itself
        target = dst / relative
        if entry.is_dir():
            target.mkdir(exist_ok=True)
            if target.is_symlink():  # planted in the root's copy: writes would go there
                raise NotReadable(target, "is a symbolic link (runyard never makes one)")
        elif entry.suffix == ".jsonl" or relative.parts[0] == "log":
            copied += _append_tail(entry, target)
        else:
            copied += _copy_if_changed(entry, target)
    if (dst / "paused").exists() and not (src / "paused").exists():
        (dst / "paused").unlink()
    return copied


def _copy_user_files(src: Path, dst: Path) -> int:
    """The user's files, every one (dot-files too), whole when changed."""
    copied = 0
    dst.mkdir(parents=True, exist_ok=True)
    for entry in sorted(src.rglob("*")):
        target = dst / entry.relative_to(src)
        if entry.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif entry.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            copied += _copy_if_changed(entry, target)
    return copied


def _append_tail(src: Path, dst: Path) -> int:
    """Append the whole lines ``src`` has beyond ``dst``'s length."""
    try:  # the root's copy: another user may have put a link there
        have = os.stat(dst, follow_symlinks=False).st_size
    except FileNotFoundError:
        have = 0
    with open(src, "rb") as f:
        if os.fstat(f.fileno()).st_size < have:  # replaced at the source: start over
            have = 0
            dst.unlink()
        f.seek(have)
        data = f.read()
    end = data.rfind(b"\n")
    if end < 0:
        return 0
    with os.fdopen(open_for_writing(dst), "ab") as out:  # never through a link
        out.write(data[: end + 1])
    return end + 1


def _copy_if_changed(src: Path, dst: Path) -> int:
    stat = src.stat()
    if dst.exists():
        mine = dst.stat()
        if mine.st_size == stat.st_size and mine.st_mtime == stat.st_mtime:
            return 0
    write_atomic(dst, src.read_bytes())
    os.utime(dst, (stat.st_atime, stat.st_mtime))
    return stat.st_size


def _carry_heartbeat(src: RunPaths, dst: RunPaths) -> None:
    try:
        stat = src.meta(HEARTBEAT).stat()
    except FileNotFoundError:
        return
    os.close(open_for_writing(dst.meta(HEARTBEAT), os.O_WRONLY))  # not through a link
    os.utime(dst.meta(HEARTBEAT), (stat.st_atime, stat.st_mtime), follow_symlinks=False)


def _tree_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())

