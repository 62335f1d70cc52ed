"""Start a run again with other parameters: S on a run opens the start form filled in
from what the engine recorded; the new run records the run it came from."""

import json
import os
import shlex

import pytest
from test_app import new_run, until

from runyard.app.dashboard import RunyardApp
from runyard.app.messages import StartWanted
from runyard.engine import load_run
from runyard.engine.control import start
from runyard.engine.spec import RunSpec

SIZE = (80, 24)
MODULE = "def run(instance, save, state):\n    pass\n"


@pytest.fixture
def engine_run(app_root, tmp_path, monkeypatch):
    """A run the engine started (and finished): a module over two instances."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "train.py").write_text(MODULE)
    data = [tmp_path / "a.txt", tmp_path / "b c.txt"]  # a space: quoted in the field
    for path in data:
        path.write_text(path.name)
    info = start(app_root, RunSpec(kind="module", module=str(tmp_path / "train.py"),
                                   instances=[str(p) for p in data], workers=2,
                                   iterations=2, max_attempts=4),
                 name="first", folder="/sweep", tags=["lr-sweep"],
                 metadata={"lr": 0.01, "model": "heat 2d", "ok": True})
    from runyard.engine.control import wait_for_end

    wait_for_end(app_root, info.id, timeout=60)
    return info


def field(app, key: str) -> str:
    widget = app.screen.query_one(f"#{key}")
    return str(widget.value)


async def until_form(pilot) -> None:
    assert await until(pilot, lambda: pilot.app.screen.__class__.__name__ == "StartScreen")


async def test_a_run_started_again_with_another_lr(app_root, engine_run, tmp_path, cli):
    app = RunyardApp(app_root)
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: "first" in [r.name for r in app.snapshot.runs.values()])
        await pilot.press("S")
        await until_form(pilot)
        assert field(app, "target") == str(tmp_path / "train.py")
        assert field(app, "instances") == f"{tmp_path / 'a.txt'} '{tmp_path / 'b c.txt'}'"
        assert field(app, "workers") == "2" and field(app, "executor") == "local"
        assert field(app, "name") == ""  # names are unique: a new one is chosen
        assert field(app, "folder") == "/sweep" and field(app, "tags") == "lr-sweep"
        assert field(app, "metadata") == "lr=0.01 'model=heat 2d' ok=true"
        kept = str(app.screen.query_one("#start-kept").render())
        assert "iterations 2" in kept and "max attempts 4" in kept
        assert "first" in str(app.screen.query_one("#start-title").render())
        app.screen.query_one("#metadata").value = "lr=0.1 'model=heat 2d' ok=true"
        assert await until(pilot, lambda: not app.screen.query_one("#go").disabled)
        await pilot.press("ctrl+s")
        assert await until(pilot, lambda: len(app.snapshot.runs) == 2, 30)
        new_id = next(i for i in app.snapshot.runs if i != engine_run.id)
    from runyard.engine.control import wait_for_end

    wait_for_end(app_root, new_id, timeout=60)
    again = load_run(app_root, new_id)
    assert again.status == "completed"
    assert again.attrs["metadata"] == {"lr": 0.1, "model": "heat 2d", "ok": True}
    assert again.attrs["origin"] == engine_run.id
    assert again.attrs["folder"] == "/sweep" and again.attrs["tags"] == ["lr-sweep"]
    spec = json.loads((again.meta_dir / "proc" / "spec.json").read_text())
    assert (spec["workers"], spec["iterations"], spec["max_attempts"]) == (2, 2, 4)
    assert spec["instances"] == [str(tmp_path / "a.txt"), str(tmp_path / "b c.txt")]
    shown = cli("show", new_id, "--root", app_root)
    assert f"started from: run {engine_run.id}" in shown.out
    assert cli("show", new_id, "--root", app_root, "--json").json()["origin"] == engine_run.id
    from runyard.app.tabs.run_text import info_text

    assert f"started from run {engine_run.id}" in info_text(again, [], []).plain


async def test_the_detail_screen_starts_a_run_again_too(app_root, engine_run):
    app = RunyardApp(app_root)
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: len(app.snapshot.runs) == 1)
        await pilot.press("enter")
        assert await until(pilot, lambda: app.screen.__class__.__name__ == "DetailScreen")
        await pilot.press("S")
        await until_form(pilot)
        assert field(app, "metadata").startswith("lr=0.01")
        await pilot.press("escape")  # nothing started
        assert await until(pilot, lambda: app.screen.__class__.__name__ == "DetailScreen")
    assert len([p for p in app_root.iterdir() if p.name.endswith(".meta")]) == 1


async def test_a_plain_tracked_run_says_it_has_no_spec(app_root):
    new_run(app_root, "tracked", end="completed")
    app = RunyardApp(app_root)
    seen = []
    app.notify = lambda message, **kw: seen.append(message)  # what the user would read
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: len(app.snapshot.runs) == 1)
        await pilot.press("S")
        assert await until(pilot, lambda: any("no recorded spec" in m for m in seen))
        assert app.screen.__class__.__name__ == "RunsScreen"
    assert "tracked" in next(m for m in seen if "no recorded spec" in m)


def plant_spec(app_root, spec) -> str:
    paths = new_run(app_root, "planted", end="failed")
    proc = paths.meta_dir / "proc"
    proc.mkdir()
    if spec == "fifo":
        os.mkfifo(proc / "spec.json")
    else:
        (proc / "spec.json").write_text(json.dumps(spec))
    return paths.id


async def test_a_hostile_spec_is_checked_field_by_field(app_root):
    plant_spec(app_root, {"kind": "module", "module": "/tmp/x\x1b]0;owned\x07.py",
                          "instances": ["/a", 3], "workers": -1, "executor": "rm -rf",
                          "iterations": True, "grace": "soon", "argv": ["sh"]})
    app = RunyardApp(app_root)
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: len(app.snapshot.runs) == 1)
        await pilot.press("S")
        await until_form(pilot)
        assert field(app, "target") == "" and field(app, "instances") == ""
        assert field(app, "workers") == "" and field(app, "executor") == "local"
        kept = str(app.screen.query_one("#start-kept").render())
        for what in ("module", "instances", "workers", "executor", "iterations", "grace"):
            assert what in kept, kept
        assert "\x1b" not in kept and "\x07" not in kept
        assert app.screen.query_one("#go").disabled  # nothing to start without a target


async def test_a_spec_that_is_a_fifo_is_refused_at_once(app_root):
    plant_spec(app_root, "fifo")
    app = RunyardApp(app_root)
    seen = []
    app.notify = lambda message, **kw: seen.append(message)
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: len(app.snapshot.runs) == 1)
        await pilot.press("S")
        assert await until(pilot, lambda: any("cannot be read" in m for m in seen))


async def test_a_command_run_comes_back_as_its_command(app_root, tmp_path, monkeypatch):
    import sys

    from runyard.engine.control import wait_for_end

    monkeypatch.chdir(tmp_path)
    argv = [sys.executable, "-c", "print('hello there')"]
    first = start(app_root, RunSpec(kind="command", argv=argv), name="cmd")
    wait_for_end(app_root, first.id, timeout=60)
    app = RunyardApp(app_root)
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: len(app.snapshot.runs) == 1)
        await pilot.press("S")
        await until_form(pilot)
        assert field(app, "target") == "-- " + shlex.join(argv)  # as runyard run -- takes
        assert await until(pilot, lambda: not app.screen.query_one("#go").disabled)
        await pilot.press("ctrl+s")
        assert await until(pilot, lambda: len(app.snapshot.runs) == 2, 30)
        new_id = next(i for i in app.snapshot.runs if i != first.id)
    again = wait_for_end(app_root, new_id, timeout=60)
    assert again.status == "completed" and again.attrs["origin"] == first.id
    spec = json.loads((again.meta_dir / "proc" / "spec.json").read_text())
    assert spec["kind"] == "command" and spec["argv"] == argv


@pytest.mark.timeout(120)
async def test_start_again_on_every_run_of_a_hostile_root(root):
    """Unreadable runs (attrs a FIFO, a link, deep JSON, wrong types) and tracked runs
    each say why they cannot be started again, in one line; none hangs or crashes."""
    from test_hostile_dashboard import hostile_root

    root.mkdir(parents=True)
    readable, bad = hostile_root(root)
    app = RunyardApp(root)
    seen = []
    app.notify = lambda message, **kw: seen.append(message)
    async with app.run_test(size=(100, 30)) as pilot:
        assert await until(pilot, lambda: len(app.snapshot.view) == len(readable) + len(bad))
        said = {}
        for run_id in [*(p.id for p in readable), *bad]:
            before = len(seen)
            app.post_message(StartWanted(again=True, run_id=run_id))
            assert await until(pilot, lambda before=before: len(seen) > before), run_id
            said[run_id] = seen[-1]
        assert app.screen.__class__.__name__ == "RunsScreen"
    for paths in readable:
        assert "no recorded spec" in said[paths.id]
    for run_id in bad:
        assert "cannot be read" in said[run_id] and "\n" not in said[run_id]


def test_starting_again_a_run_another_user_recorded_says_whose_it_is(app_root, engine_run):
    """S fills the form with what another user's run executed; pressing Start runs it
    as you (resume refuses such a run). The form says whose it is before that."""
    from runyard.app.clone import clone_form
    from runyard.engine.layout import PROC, SPEC

    mine = clone_form(app_root, engine_run.id)
    assert "recorded by user" not in mine.kept
    meta = engine_run.meta_dir
    for path in (meta / PROC, meta / SPEC):
        os.chown(path, 65534, 65534)  # nobody's, as in a shared root
    theirs = clone_form(app_root, engine_run.id)
    assert theirs.kept.startswith("recorded by user nobody (uid 65534), not you: read "
                                  "what it runs before you press Start"), theirs.kept
    assert theirs.values["target"].endswith("train.py")  # still shown, to read
