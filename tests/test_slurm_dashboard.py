"""The dashboard on a run queued on a real Slurm: the table says queued, the
detail title and the Info tab give its job, Slurm's reason and the job script."""

import contextlib
import subprocess
import textwrap

import pytest
from test_app import until

from runyard.app.dashboard import RunyardApp
from runyard.app.screens.detail import DetailScreen
from runyard.engine.control import close, start
from runyard.engine.errors import RunyardError
from runyard.engine.spec import RunSpec, read_spec

pytestmark = pytest.mark.usefixtures("slurm")
SIZE = (120, 30)
NEXT = "right_square_bracket"


async def test_a_queued_run_shows_its_job_and_why_it_waits(app_root, tmp_path):
    work = tmp_path / "w.py"
    work.write_text(textwrap.dedent("""
        def run(instance, save, state):
            pass
    """))
    (tmp_path / "a.txt").write_text("a")
    info = start(app_root, RunSpec(kind="module", module=str(work),
                                   instances=[str(tmp_path / "a.txt")], on="slurm",
                                   slurm={"extra": ["--hold"]}), name="waiting")
    job = info.attrs["slurm"]["job"]
    try:
        app = RunyardApp(app_root)
        async with app.run_test(size=SIZE) as pilot:
            assert await until(pilot, lambda: [r.status for r in app.snapshot.runs.values()]
                               == ["queued"])
            table = app.screen.query_one("RunsTable")  # its PROGRESS: why it waits
            assert await until(pilot, lambda: "JobHeldU" in "".join(
                str(table.render_line(y).text) for y in range(3)))
            # a run with a Slurm job on screen: the SLURM JOB column, with its id
            header = str(app.screen.query_one("TableHeader").render_line(0).text)
            assert "SLURM JOB" in header
            assert f" {job} " in str(table.render_line(0).text)
            await pilot.press("enter")
            assert await until(pilot, lambda: isinstance(app.screen, DetailScreen))
            title = app.screen.query_one("#run-title")
            assert await until(pilot, lambda: f"slurm job {job} (pending: JobHeldUser)"
                               in str(title.render()))
            await pilot.press(*[NEXT] * 5)
            info_text = app.screen.query_one("#info-text")
            assert await until(pilot, lambda: "job script" in str(info_text.render()))
            shown = str(info_text.render())
            assert f"slurm job {job} (pending: JobHeldUser)" in shown
            assert f"{info.meta_dir}/proc/slurm.sh" in shown
    finally:
        with contextlib.suppress(RunyardError):  # closed already
            close(app_root, info.id)
        subprocess.run(["scancel", job], timeout=30)


async def test_the_start_form_sends_a_run_to_slurm_with_the_projects_defaults(
        app_root, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "w.py").write_text("def run(instance, save, state):\n    pass\n")
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "runyard.toml").write_text(textwrap.dedent("""
        [slurm]
        partition = "debug"
        extra = ["--hold"]
        requeue = 1
    """))
    app = RunyardApp(app_root)
    job = None
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("s")
            await pilot.click("#target")
            await pilot.press(*"w.py", "tab", *"a.txt", "tab", "tab", *"to-slurm")
            form = app.screen
            form.query_one("#on").focus()
            await pilot.press("enter", "down", "enter")  # the list: here, slurm
            slurm = form.query_one("#slurm")
            assert await until(pilot, lambda: slurm.value ==
                               "partition=debug,extra=--hold,requeue=1")
            await pilot.click("#slurm")
            await pilot.press("end", *",time=00:03:00")
            await pilot.press("ctrl+s")
            assert await until(pilot, lambda: [r.status for r in app.snapshot.runs.values()]
                               == ["queued"], 20)
        info = next(iter(app.snapshot.runs.values()))
        job = info.attrs["slurm"]["job"]
        spec = read_spec(info.meta_dir)
        assert (spec.on, spec.requeue) == ("slurm", 1)
        assert spec.slurm == {"partition": "debug", "extra": ["--hold"], "time": "00:03:00"}
        assert info.name == "to-slurm"
    finally:
        if job is not None:
            subprocess.run(["scancel", job], timeout=30)
