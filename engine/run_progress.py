"""``Run.log_progress``: the fraction done of what the code works on now (eta.py).

The call keeps the number only; the writer thread records it at most every
``WRITE_EVERY`` seconds and only when it changed, so a module that reports on
every step of a quick instance pays for an attribute, not a write.
"""

import time

from .atomic import write_atomic
from .eta import PREFIX, SUFFIX, WRITE_EVERY, check_fraction, eta_record, time_left

_time = time.time


class ProgressMixin:
    def _init_progress(self) -> None:
        self._progress: tuple | None = None  # (fraction, when), as last reported
        self._progress_written: tuple | None = None
        self._progress_next = 0.0
        self._unit: tuple | None = None  # (key, started) of an engine worker's instance
        self._began = _time()

    def log_progress(self, fraction: float) -> bool:
        """Report the fraction done (0 to 1) of the run, or inside a run module of
        the instance in progress; shown with an estimated time left."""
        if self._state != "running":
            gate = self._gate("log_progress", "running")
            return True if gate is None else gate
        self._progress = (check_fraction(fraction), _time())
        return True

    # -- an engine worker's instances (worker.py) --------------------------------
    def _begin_unit(self, key: str, started: float) -> None:
        self._unit = (key, started)

    def _end_unit(self) -> None:
        if self._progress is not None:  # said something: say it is over (key null)
            self._progress = (None, _time())
        self._unit = None

    # -- the writer thread ---------------------------------------------------------
    def _attach_progress(self, writer) -> None:
        self._began = _time()
        writer.tickers.append(self._write_progress)
        writer.closers.append(self._flush_progress)

    def _flush_progress(self) -> None:
        self._write_progress(_time(), force=True)

    def _write_progress(self, now: float, force: bool = False) -> None:
        progress = self._progress
        if progress is self._progress_written or (now < self._progress_next and not force):
            return
        self._progress_written, self._progress_next = progress, now + WRITE_EVERY
        fraction, when = progress
        if self._attached:
            unit = self._unit
            record = {"key": unit[0] if unit and fraction is not None else None,
                      "instance": self._context, "fraction": fraction, "ts": when,
                      "started": unit[1] if unit else self._began}
            if unit is None and self._context is None:  # an engine command's: the run's
                record["run"] = True
            from .meta import encode_record

            name = f"{PREFIX}{self._writer.suffix or 'main'}{SUFFIX}"
            write_atomic(self._paths.meta(name), encode_record(record, "progress"))
            return
        if fraction is None:
            return
        eta = eta_record(fraction, time_left(fraction, 0.0, when - self._began), when)
        from .meta import update_attrs

        update_attrs(self._paths.meta_dir, lambda attrs: attrs.update(eta=eta), None)
