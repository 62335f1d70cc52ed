"""The start form: every field on screen at 80x24, checked as the user types, and the
operation it saves to runyard.toml."""

import tomllib

import pytest
from test_app import status_of, until

from runyard.app.dashboard import RunyardApp
from runyard.engine import load_run

FIELDS = ("target", "instances", "workers", "name", "folder", "tags", "metadata",
          "executor")
QUICK = "def run(instance, save, state):\n    pass\n"


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "quick.py").write_text(QUICK)
    (tmp_path / "data").mkdir()
    for name in ("a.txt", "b.txt"):
        (tmp_path / "data" / name).write_text(name)
    return tmp_path


async def open_form(pilot) -> None:
    await pilot.press("s")
    assert await until(pilot, lambda: pilot.app.screen.__class__.__name__ == "StartScreen")


def error_of(app, key: str) -> str:
    label = app.screen.query_one(f"#{key}-error")
    return str(label.render()) if label.display else ""


async def fill(pilot, **values) -> None:
    for key, text in values.items():
        pilot.app.screen.query_one(f"#{key}").value = text
    await pilot.pause()


def start_button(app):
    return app.screen.query_one("#go")


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_every_field_is_on_screen_without_scrolling(app_root, project, size):
    app = RunyardApp(app_root)
    async with app.run_test(size=size) as pilot:
        await open_form(pilot)
        screen = app.screen.region
        for key in FIELDS:
            widget = app.screen.query_one(f"#{key}")
            region = widget.region
            assert region.height >= 1 and region.width >= 20, (key, region)
            assert screen.contains_region(region), (key, region, screen)
        for key in ("go", "stop", "save", "save-as"):
            assert screen.contains_region(app.screen.query_one(f"#{key}").region), key


async def test_errors_show_under_their_fields_as_the_user_types(app_root, project):
    from runyard.engine import init_run_meta, make_run

    init_run_meta(make_run(app_root), name="taken")
    app = RunyardApp(app_root)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_form(pilot)
        assert start_button(app).disabled  # nothing to start yet
        await fill(pilot, target="quick.py", instances="data/*.csv", workers="0",
                   name="taken", folder="runs/x", tags="a\tb", metadata="lr 0.1")
        expected = {"instances": "no instance file matches 'data/*.csv'",
                    "workers": "must be at least 1",
                    "name": "run name 'taken' is already used",
                    "folder": "a folder must start with '/'",
                    "metadata": "KEY=VALUE, got 'lr'"}
        assert await until(pilot, lambda: all(v in error_of(app, k)
                                              for k, v in expected.items())), \
            {k: error_of(app, k) for k in FIELDS}
        assert start_button(app).disabled
        assert error_of(app, "target") == "" and error_of(app, "tags") == ""
        await fill(pilot, name=".hidden")
        assert await until(pilot, lambda: "cannot start with '.'" in error_of(app, "name"))
        await pilot.press("ctrl+s")  # refused: the form stays, the first bad field focused
        await pilot.pause(0.3)
        assert app.screen.__class__.__name__ == "StartScreen"
        assert await until(pilot, lambda: app.focused.id == "instances")
        await fill(pilot, instances="data/*.txt", workers="2", name="fine", folder="/x/y",
                   metadata="lr=0.1 model='heat 2d'")
        assert await until(pilot, lambda: not start_button(app).disabled)
        assert all(error_of(app, k) == "" for k in FIELDS)
        await pilot.press("ctrl+s")
        assert await until(pilot, lambda: status_of(app, "fine") == "completed", 30)
    info = next(load_run(app_root, i) for i in app.snapshot.runs
                if app.snapshot.runs[i].name == "fine")
    assert info.attrs["folder"] == "/x/y"
    assert info.attrs["metadata"] == {"lr": 0.1, "model": "heat 2d"}
    assert info.attrs["tags"] == ["a", "b"]


async def test_a_module_without_run_and_an_unknown_operation(app_root, project):
    (project / "nothing.py").write_text("x = 1\n")
    app = RunyardApp(app_root)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_form(pilot)
        await fill(pilot, target="nothing.py", instances="data/a.txt")
        assert await until(pilot, lambda: "no run(instance, save, state)"
                           in error_of(app, "target"))
        await fill(pilot, target="nightly")
        assert await until(pilot, lambda: "no runyard.toml" in error_of(app, "target"))
        await fill(pilot, target="quick.py", instances="")
        assert await until(pilot, lambda: "needs instances" in error_of(app, "instances"))
        assert start_button(app).disabled


async def test_the_saved_operation_keeps_the_file_and_holds_every_field(app_root, project):
    (project / "runyard.toml").write_text("# our project\n[operations.other]  # keep me\n"
                                          "module = 'quick.py'\ninstances = ['data/a.txt']\n")
    app = RunyardApp(app_root)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_form(pilot)
        await fill(pilot, target="quick.py", instances="data/*.txt", workers="2",
                   folder="/sweep", tags="nightly gpu", metadata="lr=0.01 model=heat")
        app.screen.query_one("#save").value = True
        await fill(pilot, **{"save-as": "bad name"})
        assert await until(pilot, lambda: "operation name" in error_of(app, "save-as"))
        assert start_button(app).disabled
        await fill(pilot, **{"save-as": "sweep"})
        assert await until(pilot, lambda: not start_button(app).disabled)
        await pilot.press("ctrl+s")
        assert await until(pilot, lambda: any(r.status == "completed"
                                              for r in app.snapshot.runs.values()), 30)
    text = (project / "runyard.toml").read_text()
    assert text.startswith("# our project\n[operations.other]  # keep me\n"
                           "module = 'quick.py'\ninstances = ['data/a.txt']\n")
    saved = tomllib.loads(text)["operations"]["sweep"]
    assert saved == {"module": "quick.py", "instances": ["data/*.txt"], "workers": 2,
                     "executor": "local", "folder": "/sweep", "tags": ["nightly", "gpu"],
                     "metadata": {"lr": 0.01, "model": "heat"}}
