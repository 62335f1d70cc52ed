"""The supervisor of a plain command run (``runyard run -- COMMAND``).

Run by ``runyard.engine.supervisor`` for a run of kind ``command``. The command
runs in the run's folder, in its own process group (so pause and close reach
whatever it starts); its ``Run()`` attaches to this run through the environment,
and the run ends ``completed`` when it exits 0, ``terminated`` when it was killed
from outside (SIGKILL, SIGTERM, SIGINT, SIGHUP: kills.py) and ``failed`` otherwise.
"""

import contextlib
import os
import signal
import subprocess
import time

from .kills import describe_exit, killed_by
from .layout import OUTPUT_LOG
from .lifecycle import clear_pause_marker
from .meta import update_attrs
from .supervision import TICK, Supervisor
from .untrusted import open_log


class CommandSupervisor(Supervisor):
    """Runs a plain command; its Run() attaches to this run through the environment."""

    def main(self) -> None:
        env = {**self.env, "RUNYARD_WRITER": "cmd"}
        with open_log(self.paths.meta(OUTPUT_LOG)) as log:
            self.proc = subprocess.Popen(command_argv(self.spec), cwd=self.paths.run_dir,
                                         env=env,
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         start_new_session=True)
        self.log(f"Started {self.spec.argv!r} as pid {self.proc.pid}")
        self.began, self.progress_seen, self.next_progress = time.time(), None, 0.0
        while self.proc.poll() is None and not self.closing:
            self.tick()
            self.fold_progress()
            time.sleep(TICK)
        self.fold_progress(force=True)
        if self.proc.poll() is None:
            self.stop_command()
            self.finish("terminated", error="closed")
            return
        code = self.proc.returncode
        signame = killed_by(code) if code < 0 else None  # 143 may be its own exit
        if code == 0:
            self.finish("completed")
        elif signame:  # killed from outside (kills.py): not its failure; resumable
            self.finish("terminated",
                        error=f"the command was killed ({signame}): resume to run it again")
        elif code < 0:
            self.finish("failed", error=f"the command crashed ({describe_exit(code)})")
        else:
            self.finish("failed", error=f"exit code {code}")

    def fold_progress(self, force: bool = False) -> None:
        """The fraction the command's Run() reported, with the time left, into the
        run's attributes (eta.py); nothing to do, and nothing written, if it did not."""
        now = time.time()
        if now < self.next_progress and not force:
            return
        self.next_progress = now + 0.5
        from .eta import BAD, command_progress, eta_record, time_left

        entry = command_progress(self.paths.meta_dir)
        if entry is None or entry == self.progress_seen or entry["fraction"] in (None, BAD):
            return
        self.progress_seen = entry
        fraction = entry["fraction"]
        eta = eta_record(fraction, time_left(fraction, 0.0, entry["ts"] - self.began),
                         entry["ts"])
        update_attrs(self.paths.meta_dir, lambda attrs: attrs.update(eta=eta), None)

    def signal_work(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signum)

    def pause_work(self) -> None:
        self.signal_work(signal.SIGSTOP)  # the command's whole process group

    def resume_work(self) -> None:
        self.signal_work(signal.SIGCONT)

    def abandon_work(self) -> None:
        if getattr(self, "proc", None) is not None and self.proc.poll() is None:
            self.signal_work(signal.SIGCONT)  # a paused command must see its SIGTERM
            self.paused = False  # so no marker is written: finalize_run removes it
            self.stop_command()

    def stop_command(self) -> None:
        if self.paused:
            # continued before SIGTERM, so that it finds the process running (see
            # ModuleSupervisor.stop_workers; a command is not reminded: its own
            # handlers may count signals)
            self.signal_work(signal.SIGCONT)
            clear_pause_marker(self.paths)
        self.signal_work(signal.SIGTERM)
        try:
            self.proc.wait(self.spec.grace)
        except subprocess.TimeoutExpired:
            self.signal_work(signal.SIGKILL)
            self.proc.wait()


def command_argv(spec) -> list[str]:
    """The command, with arguments naming files where it was launched made absolute
    (it runs in the run's folder, where ``train.py`` would not be found)."""
    argv = []
    for arg in spec.argv:
        candidate = os.path.join(spec.cwd, arg) if spec.cwd else arg
        if arg and not arg.startswith("-") and not os.path.isabs(arg) and \
                os.path.exists(candidate):
            arg = os.path.abspath(candidate)
        argv.append(arg)
    return argv
