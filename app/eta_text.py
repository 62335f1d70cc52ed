"""Progress and time left as the table, the detail screen and the CLI show them
(plain Python: the CLI imports it without textual). The figures are recorded by
the engine (runyard.engine.eta); everything is cleaned there, and a fraction
that is not a number reads ``bad`` here, never an error."""

import time

from runyard.engine.eta import BAD, fraction_text, left_text, run_eta, unit_eta

LIVE = ("running",)  # a time left means something only while the run goes on


def progress_text(info, now: float | None = None, width: int = 9) -> str:
    """``3/10 4m`` for a module run (done/total and the time left while it runs),
    ``42% 4m`` for a run that reports a fraction itself; the percentage instead of
    the counts when both do not fit in ``width``; ``?`` for a time left not known
    yet; for a queued run, why Slurm holds it (``Priority``). Empty when there is
    nothing to show."""
    if info.status == "queued":
        note = getattr(info, "note", None) or ""
        return note.rpartition(": ")[2] if note.startswith("pending") else note
    attrs = info.attrs
    progress = attrs.get("progress") or {}
    total = progress.get("total")
    counted = bool(total) and attrs.get("kind") != "command"
    base = f"{progress.get('done', 0)}/{total}" if counted else ""
    eta = run_eta(attrs)
    if eta is None:
        return base
    if eta.fraction == BAD:
        return f"{base} bad".strip()
    percent = fraction_text(eta.fraction)
    if info.status not in LIVE:
        return base or percent
    left = left_text(eta.left_now(time.time() if now is None else now))
    text = f"{base or percent} {left}".strip()
    return text if len(text) <= width else f"{percent} {left}".strip()


def run_progress_line(info, now: float | None = None) -> str:
    """For ``runyard show``: ``3/10 instances, 42% done, about 4m left``."""
    attrs = info.attrs
    progress = attrs.get("progress") or {}
    parts = []
    if progress.get("total") and attrs.get("kind") != "command":
        parts.append(f"{progress.get('done', 0)}/{progress['total']} instances")
    eta = run_eta(attrs)
    if eta is not None:
        parts.append("progress: bad value" if eta.fraction == BAD else
                     f"{fraction_text(eta.fraction)} done")
        if info.status in LIVE and eta.fraction != BAD:
            left = eta.left_now(time.time() if now is None else now)
            parts.append("time left not known yet" if left is None else
                         f"about {left_text(left)} left")
    return ", ".join(parts)


def instance_progress(entry: dict | None, status: str, now: float) -> tuple[str, str]:
    """(done, left) of an instance: its reported fraction and time left while it
    runs; ``100%`` once done; empty otherwise."""
    if status == "done":
        return "100%", ""
    if entry is None or status != "running":
        return "", ""
    eta = unit_eta(entry, now)
    if eta.fraction == BAD:
        return "bad", ""
    return fraction_text(eta.fraction), left_text(eta.left_now(now))


PROGRESS_KEY = "_progress"  # (done, left) added to a record for the Instances tab


def records_with_progress(meta_dir, records: dict, live: bool = True) -> dict:
    """The instance records, those running with their (done, left) under
    ``PROGRESS_KEY`` from their workers' progress files (copies: the book's own
    records stay as read); no time left unless the run is ``live``. Off the UI
    thread: it reads files."""
    from runyard.engine.eta import unit_progress

    entries = unit_progress(meta_dir)
    if not entries:
        return records
    now = time.time()
    shown = dict(records)
    for key, entry in entries.items():
        record = records.get(key)
        if record is not None and record.get("status") == "running":
            done, left = instance_progress(entry, "running", now)
            shown[key] = {**record, PROGRESS_KEY: (done, left if live else "")}
    return shown


def instance_cells(record: dict) -> tuple[str, str]:
    """The Instances tab's done and left cells of one record."""
    known = record.get(PROGRESS_KEY)
    if known is not None:
        return known
    return instance_progress(None, record.get("status"), 0.0)
