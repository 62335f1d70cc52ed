"""SIGTERM (Slurm's scancel and walltime limit) ends a tracked run ``terminated`` with
everything it logged on disk, as Ctrl-C does, and leaves other SIGTERM handlers be."""

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from runyard.engine import load_run

from conftest import read_series

LOGGER = """
    import signal, sys, time
    from runyard.engine import Run

    def work(run):
        step = 0
        while True:
            run.log_metrics({"x": step})
            if step % 200 == 0:
                print(step, flush=True)          # logged up to here, at least
            step += 1
            time.sleep(0.0005)

    MODE = sys.argv[2]
    if MODE == "with":
        with Run(root=sys.argv[1]) as run:
            run.config(disable_resources_metrics=True)
            run.init(name="scancelled")
            print(run.id, flush=True)
            work(run)
    elif MODE == "plain":                         # no with, no close()
        run = Run(root=sys.argv[1])
        run.config(disable_resources_metrics=True)
        run.init(name="scancelled")
        print(run.id, flush=True)
        work(run)
"""


def logger(root: Path, mode: str, script: str = LOGGER) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(script), str(root), mode],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    run_id = proc.stdout.readline().strip()
    assert run_id, proc.stderr.read()
    return proc, run_id


def sigterm_after(proc: subprocess.Popen, steps: int) -> tuple[int, str]:
    """SIGTERM once the process logged ``steps`` points; the last step it said it logged,
    and what it wrote on stderr."""
    last = 0
    while last < steps:
        last = int(proc.stdout.readline())
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    for line in out.split():
        last = int(line)
    return last, err


def assert_terminated_with_everything(root: Path, run_id: str, last: int) -> None:
    info = load_run(root, run_id)
    assert info.status == "terminated", info.attrs.get("exit")
    assert info.attrs["exit"]["error"] == "SIGTERM"
    steps = [r["s"] for r in read_series(root, run_id, "metrics.jsonl")]
    assert steps == list(range(len(steps)))  # in order, none missing
    assert len(steps) > last  # every point logged before the signal is on disk
    events = read_series(root, run_id, "events.jsonl")
    assert events[-1]["msg"] == "Interrupted (SIGTERM)"


def test_sigterm_inside_with_run_ends_it_terminated(root):
    proc, run_id = logger(root, "with")
    last, err = sigterm_after(proc, 1000)
    assert proc.returncode == 143  # as a shell reports a process ended by SIGTERM
    assert err == ""  # no traceback
    assert_terminated_with_everything(root, run_id, last)


def test_sigterm_without_with_ends_the_run_terminated(root):
    proc, run_id = logger(root, "plain")
    last, err = sigterm_after(proc, 1000)
    assert proc.returncode == 143 and err == ""
    assert_terminated_with_everything(root, run_id, last)


def test_a_users_own_sigterm_handler_keeps_working(root):
    """A handler installed before the run, or inside it, is the one that runs; the
    run ends as that code decides, and the handler is still there afterwards."""
    script = """
        import signal, sys, time
        from runyard.engine import Run

        stop = []
        def mine(signum, frame):
            stop.append(signum)

        if sys.argv[2] == "before":
            signal.signal(signal.SIGTERM, mine)
        with Run(root=sys.argv[1]) as run:
            run.config(disable_resources_metrics=True)
            run.init(name="own-handler-" + sys.argv[2])
            if sys.argv[2] == "inside":
                signal.signal(signal.SIGTERM, mine)
            print(run.id, flush=True)
            print(0, flush=True)
            while not stop:
                run.log_metrics({"x": 1})
                time.sleep(0.001)
        print("still mine" if signal.getsignal(signal.SIGTERM) is mine else "replaced",
              flush=True)
    """
    for where in ("before", "inside"):
        proc, run_id = logger(root, where, script)
        assert proc.stdout.readline() == "0\n"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        assert (proc.returncode, out, err) == (0, "still mine\n", ""), where
        assert load_run(root, run_id).status == "completed"


def test_the_default_comes_back_and_threads_are_left_alone(root):
    """In a fresh interpreter (this one may hold runs other tests left open)."""
    script = """
        import signal, sys, threading
        from runyard.engine import Run, list_runs
        from pathlib import Path

        shown = [signal.getsignal(signal.SIGTERM) is signal.SIG_DFL]
        with Run(root=sys.argv[1]) as run:
            run.config(disable_resources_metrics=True)
            run.init(name="in-main")
            shown.append(signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL)
        shown.append(signal.getsignal(signal.SIGTERM) is signal.SIG_DFL)  # back once ended
        seen = []

        def in_a_thread():  # handlers belong to the main thread: none is touched
            with Run(root=sys.argv[1]) as other:
                other.config(disable_resources_metrics=True)
                other.init(name="in-thread")
                other.log_metrics({"x": 1})
                seen.append(signal.getsignal(signal.SIGTERM) is signal.SIG_DFL)

        thread = threading.Thread(target=in_a_thread)
        thread.start()
        thread.join(60)
        shown += [seen == [True], signal.getsignal(signal.SIGTERM) is signal.SIG_DFL]
        print(shown, [r.status for r in list_runs(Path(sys.argv[1]))], flush=True)
    """
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(script), str(root)],
                          capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert done.stdout == "[True, True, True, True, True] ['completed', 'completed']\n"


def test_a_second_sigterm_does_not_cut_the_ending_short(root):
    """A repeat SIGTERM while the run writes its last data (here a full queue) is
    ignored: the run still ends terminated with everything on disk."""
    script = """
        import sys, time
        from runyard.engine import Run

        with Run(root=sys.argv[1]) as run:
            run.config(disable_resources_metrics=True, queue_size=400_000)
            run.init(name="twice")
            print(run.id, flush=True)
            step = 0
            while True:
                run.log_metrics({"x": step, "y": step, "z": step})
                if step % 100_000 == 0:
                    print(step, flush=True)  # the index of a point logged, as above
                step += 1
    """
    proc, run_id = logger(root, "with", script)
    last = 0
    while last < 300_000:
        last = int(proc.stdout.readline())
    proc.send_signal(signal.SIGTERM)
    for _ in range(20):  # again and again while it writes what it queued
        time.sleep(0.01)
        proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    # 143 from Terminated; or, once everything is written and Python has put the
    # default handlers back on its way out, a late repeat ends the process by SIGTERM
    assert proc.returncode in (143, -signal.SIGTERM) and err == "", err
    for line in out.split():
        last = int(line)
    assert_terminated_with_everything(root, run_id, last)


def test_sigterm_during_close_waits_until_everything_is_written(root):
    """close() writing a full queue, then SIGTERM: the data is written and the run
    ended first, then the process dies by the signal, as by default."""
    script = """
        import sys, time
        from runyard.engine import Run

        run = Run(root=sys.argv[1])
        run.config(disable_resources_metrics=True, queue_size=400_000)
        run.init(name="closing")
        print(run.id, flush=True)
        for step in range(300_000):
            run.log_metrics({"x": step, "y": step, "z": step})
        # said from the writer thread once close() has asked it to stop, so the
        # signal surely arrives while close() is under way (not just before it)
        run._writer.closers.append(lambda: print(step, flush=True))
        run.close()
        print("closed", flush=True)
        time.sleep(60)
    """
    proc, run_id = logger(root, "plain", script)
    last = int(proc.stdout.readline())
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGTERM and err == "", err
    assert "closed" not in out  # it died in close(), once close() had done its work
    info = load_run(root, run_id)
    assert info.status == "completed"
    steps = [r["s"] for r in read_series(root, run_id, "metrics.jsonl")]
    assert steps == list(range(last + 1))


def test_sigterm_while_the_run_is_starting_ends_it_terminated(root):
    """A SIGTERM that lands after the run's lock is written but before the run is
    open (the window repro 14 of the red team hit) waits for the start."""
    script = """
        import os, signal, sys
        from runyard.engine import Run, run_start

        real = run_start.start_run
        def start_run(paths, *args):
            attrs = real(paths, *args)  # the lock is on disk now
            print(paths.id, flush=True)
            os.kill(os.getpid(), signal.SIGTERM)
            return attrs
        run_start.start_run = start_run

        with Run(root=sys.argv[1]) as run:
            run.config(disable_resources_metrics=True)
            run.init(name="starting")
            print("never", flush=True)
    """
    proc, run_id = logger(root, "plain", script)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and "never" not in out, err
    info = load_run(root, run_id)
    assert info.status == "terminated" and info.attrs["exit"]["error"] == "SIGTERM"
