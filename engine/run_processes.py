"""Helper processes a ``Run`` launches and tracks (Simvue's ``add_process``).

Each process starts in a session of its own, so killing it kills what it
started too. Its command is recorded in the metadata as ``<identifier>_command``;
its output goes to ``<identifier>.out`` and ``<identifier>.err`` in the run's
``processes/`` folder and is saved as ``output`` artifacts when it ends; a user alert
``<identifier>_exit_status`` goes critical when it exits non-zero. As Simvue's,
``close()`` waits for the processes to end and a failed one ends the run
``failed``; an aborting alert, an exception in the ``with`` block, Ctrl-C,
SIGTERM and a script that ends without ``close()`` kill them.
"""

import contextlib
import os
import signal
import subprocess
import threading

from . import checks
from .errors import UsageError
from .untrusted import open_for_writing, open_regular, read_upto

TRUNCATE = os.O_WRONLY | os.O_TRUNC  # a process's output files, written afresh

GRACE = 5.0  # seconds between SIGTERM and SIGKILL


def command_of(args: tuple, executable, script, input_file, options: dict) -> list[str]:
    """The command line, assembled in the order Simvue assembles it."""
    rest = [str(a) for a in args]
    if executable is not None:
        command = [os.fspath(executable)]
    elif rest:
        command = [rest.pop(0)]
    else:
        command = [os.environ.get("SHELL") or "/bin/sh"]
    command += [os.fspath(p) for p in (script, input_file) if p is not None]
    for key, value in options.items():
        flag = key.replace("_", "-")
        flag = f"-{flag}" if len(flag) == 1 else f"--{flag}"
        command += [flag] if value is True else [flag, str(value)]
    return command + rest


class _Tracked:
    def __init__(self, identifier: str, popen: subprocess.Popen, out: str, err: str):
        self.identifier, self.popen, self.out, self.err = identifier, popen, out, err
        self.done = threading.Event()


class ProcessesMixin:
    def _init_processes(self) -> None:
        self._tracked: dict[str, _Tracked] = {}

    def add_process(self, identifier: str, *cmd_args, executable=None, script=None,
                    input_file=None, completion_callback=None, completion_trigger=None,
                    env: dict | None = None, cwd=None, **cmd_kwargs) -> None:
        """Launch a command tracked by the run (see the module's docstring)."""
        gate = self._gate("add_process", "running")
        if gate is not None:
            return None
        if not isinstance(identifier, str) or not identifier.strip() or \
                identifier in self._tracked or "/" in identifier:
            raise UsageError(f"add_process needs a new identifier without '/', got "
                             f"{identifier!r}")
        for what, value in (("completion_callback", completion_callback),):
            if value is not None and not callable(value):
                raise UsageError(f"{what} must be callable, got {value!r}")
        if completion_trigger is not None and not hasattr(completion_trigger, "set"):
            raise UsageError(f"completion_trigger must be an Event, got "
                             f"{completion_trigger!r}")
        if cwd is not None:
            cwd = checks.path("add_process's cwd", cwd)
        if env is not None and (not isinstance(env, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in env.items())):
            raise UsageError(f"env must be a dict of strings, got {env!r}"[:300])
        try:
            command = command_of(cmd_args, executable, script, input_file, cmd_kwargs)
        except TypeError as exc:
            raise UsageError(f"add_process: {exc}") from None
        import shlex  # here: a run that adds no process never loads them
        import shutil

        path = (os.environ.copy() | (env or {})).get("PATH")
        if not os.path.exists(command[0]) and not shutil.which(command[0], path=path):
            raise UsageError(f"add_process: executable {command[0]!r} does not exist")
        for what, name in ((script, "code"), (input_file, "input")):
            if what is not None:
                self.save_file(what, name)
        self.update_metadata({f"{identifier}_command": shlex.join(command)})
        self.create_user_alert(f"{identifier}_exit_status")
        tracked = self._launch(identifier, command, env, cwd)
        threading.Thread(target=self._watch_process, daemon=True, name="runyard-proc",
                         args=(tracked, completion_callback, completion_trigger)).start()
        return None

    def _launch(self, identifier: str, command: list, env, cwd) -> "_Tracked":
        folder = self._paths.meta("processes")
        os.makedirs(folder, mode=0o700, exist_ok=True)
        out, err = (os.path.join(folder, f"{identifier}.{s}") for s in ("out", "err"))
        try:  # never through a link or into a FIFO a group member planted there
            with os.fdopen(open_for_writing(out, TRUNCATE, 0o600), "wb") as stdout, \
                    os.fdopen(open_for_writing(err, TRUNCATE, 0o600), "wb") as stderr:
                popen = subprocess.Popen(command, stdout=stdout, stderr=stderr,
                                         stdin=subprocess.DEVNULL, cwd=cwd,
                                         env=None if env is None else {**os.environ, **env},
                                         start_new_session=True)
        except OSError as exc:
            raise UsageError(f"add_process {identifier!r}: {exc}") from None
        tracked = self._tracked[identifier] = _Tracked(identifier, popen, out, err)
        return tracked

    def _watch_process(self, tracked: _Tracked, callback, trigger) -> None:
        code = tracked.popen.wait()
        if code != 0 and self._state == "running":
            with contextlib.suppress(UsageError):  # closed meanwhile: nowhere to record
                self.log_alert(f"{tracked.identifier}_exit_status", state="critical")
        try:  # close() waits for this: the callback has run when close() returns
            if callback is not None:
                callback(code, _text(tracked.out), _text(tracked.err))
            if trigger is not None:
                trigger.set()
        finally:
            tracked.done.set()

    def kill_process(self, process_id: str) -> None:
        """Kill a process added with add_process (and what it started)."""
        tracked = self._tracked.get(process_id) if isinstance(process_id, str) else None
        if tracked is None:
            raise UsageError(f"no process {process_id!r} was added to run {self.name!r}")
        _kill_group(tracked.popen)

    def kill_all_processes(self) -> None:
        """Kill every process added with add_process."""
        for tracked in list(getattr(self, "_tracked", {}).values()):
            _kill_group(tracked.popen)

    @property
    def processes(self) -> list:
        """The live processes added (psutil.Process), with their children."""
        import psutil

        found = []
        for tracked in self._tracked.values():
            try:
                parent = psutil.Process(tracked.popen.pid)
                found += [parent, *parent.children(recursive=True)]
            except psutil.NoSuchProcess:
                continue
        return [p for p in found if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]

    def _finish_processes(self, kill: bool) -> bool:
        """Kill or wait for the processes, save their output; False if one failed."""
        if kill:
            self.kill_all_processes()
        ok = True
        for tracked in self._tracked.values():
            tracked.popen.wait()
            tracked.done.wait()
            ok = ok and tracked.popen.returncode == 0
            if self._state == "running":
                for path in (tracked.out, tracked.err):
                    self.save_file(path, "output")
        return ok


def _kill_group(popen: subprocess.Popen) -> None:
    if popen.poll() is not None:
        return
    try:
        os.killpg(popen.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        popen.wait(GRACE)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        popen.wait()


def _text(path: str) -> str:
    """What a process wrote (its first MiB), read as any run file: regular, no link."""
    try:
        with open_regular(path) as handle:
            return read_upto(handle, 1 << 20).decode("utf-8", "replace")
    except OSError:  # replaced or removed since: nothing to pass on
        return ""
