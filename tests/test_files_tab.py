"""The Files tab (issue 12, item 5): a run's saved files and its folder, listed with
size, type and time; Enter shows a text file in the pager (a saved CSV read as
text, a growing file followed); a binary or huge file is named, never dumped; a
FIFO, a link out of the run and hostile names are refused or shown as text, and
nothing hangs. Before, the detail screen had no Files tab (the Info tab named the
files and nothing could open one)."""

import os
import time

from test_app import new_run, until

from runyard.app.dashboard import RunyardApp
from runyard.app.tabs.files import FilesTab
from runyard.app.widgets.pager import Pager
from runyard.engine import Run

SIZE = (100, 30)
FILES_TAB = 4  # presses of ] from the Metrics tab


async def open_files(pilot, app) -> FilesTab:
    assert await until(pilot, lambda: len(app.snapshot.view) == 1)
    await pilot.press("enter")
    assert await until(pilot, lambda: app.screen.__class__.__name__ == "DetailScreen")
    await pilot.press(*["right_square_bracket"] * FILES_TAB)
    tab = app.screen.query_one(FilesTab)
    assert await until(pilot, lambda: app.focused is tab.query_one("#file-table"))
    return tab


def row_names(tab: FilesTab) -> list[str]:
    table = tab.query_one("#file-table")
    return [str(table.get_row_at(i)[1]) for i in range(table.row_count)]


async def select(pilot, tab: FilesTab, shown_name: str) -> Pager:
    """Move the cursor to the row named so and press enter; the pager."""
    assert await until(pilot, lambda: shown_name in row_names(tab)), row_names(tab)
    table = tab.query_one("#file-table")
    table.move_cursor(row=row_names(tab).index(shown_name))
    await pilot.press("enter")
    return tab.query_one("#file-view", Pager)


def text_of(pager: Pager) -> str:
    return "\n".join(pager.lines)


async def test_a_saved_csv_opens_as_text_from_the_files_tab(app_root, tmp_path):
    source = tmp_path / "result.csv"
    source.write_text("step,loss\n0,1.5\n1,0.75\n")
    with Run(root=app_root) as run:
        run.config(disable_resources_metrics=True)
        run.init(name="saver")
        run.save_file(source, "output")
    app = RunyardApp(app_root)
    async with app.run_test(size=SIZE) as pilot:
        tab = await open_files(pilot, app)
        pager = await select(pilot, tab, "output/result.csv")
        assert await until(pilot, lambda: pager.lines[:1] == ["step,loss"])
        assert pager.lines[1:3] == ["0,1.5", "1,0.75"]
        assert "text/csv" in str(pager.border_title)
        row = tab.query_one("#file-table").get_row_at(row_names(tab).index(
            "output/result.csv"))
        assert [str(cell) for cell in row[2:4]] == ["23 B", "text/csv"]


async def test_a_growing_text_file_is_followed(app_root):
    paths = new_run(app_root, "writer")
    log = paths.run_dir / "progress.txt"
    log.write_text("first line\n")
    app = RunyardApp(app_root)
    async with app.run_test(size=SIZE) as pilot:
        tab = await open_files(pilot, app)
        pager = await select(pilot, tab, "progress.txt")
        assert await until(pilot, lambda: pager.lines == ["first line"])
        with open(log, "a") as growing:
            for n in range(60):
                growing.write(f"line {n}\n")
        assert await until(pilot, lambda: pager.lines[-1:] == ["line 59"])
        assert pager.lines.count("first line") == 1  # read on, not again
        assert await until(pilot, lambda: pager.is_vertical_scroll_end)
        assert "following" in str(pager.border_title)


async def test_binary_and_huge_files_are_named_not_dumped(app_root):
    paths = new_run(app_root, "big", end="completed")
    (paths.run_dir / "weights.bin").write_bytes(b"\x00\x01SECRET-BYTES\xff" * 100)
    with open(paths.run_dir / "huge.log", "wb") as huge:
        chunk = b"HUGE-LINE " * 100 + b"\n"
        for _ in range(50 * 1024 * 1024 // len(chunk) + 1):
            huge.write(chunk)
    app = RunyardApp(app_root)
    async with app.run_test(size=SIZE) as pilot:
        tab = await open_files(pilot, app)
        pager = await select(pilot, tab, "weights.bin")
        assert await until(pilot, lambda: "binary" in text_of(pager))
        assert "SECRET-BYTES" not in text_of(pager) and "1.5 kB" in text_of(pager)
        pager = await select(pilot, tab, "huge.log")
        assert await until(pilot, lambda: "not shown" in text_of(pager))
        assert "HUGE-LINE" not in text_of(pager) and "50.0 MB" in text_of(pager)
        assert len(pager.lines) == 1


async def test_a_fifo_and_a_link_out_of_the_run_are_refused(app_root, tmp_path):
    paths = new_run(app_root, "traps", end="completed")
    os.mkfifo(paths.run_dir / "pipe")
    (paths.run_dir / "passwd").symlink_to("/etc/passwd")
    outside = os.path.relpath(tmp_path, paths.run_dir)  # ../..: relative, yet outside
    (paths.run_dir / "elsewhere").symlink_to(outside)
    (tmp_path / "private.txt").write_text("PRIVATE")
    (paths.run_dir / "ok.txt").write_text("fine\n")
    app = RunyardApp(app_root)
    async with app.run_test(size=SIZE) as pilot:
        tab = await open_files(pilot, app)
        started = time.monotonic()
        pager = await select(pilot, tab, "pipe")
        assert await until(pilot, lambda: "refused" in text_of(pager))
        assert "FIFO" in text_of(pager)
        pager = await select(pilot, tab, "passwd -> /etc/passwd")
        assert await until(pilot, lambda: "a link out of the run, never followed" in text_of(pager))
        assert "root:" not in text_of(pager)
        pager = await select(pilot, tab, f"elsewhere -> {outside}")
        assert await until(pilot, lambda: "a link out of the run, never followed" in text_of(pager))
        assert "private.txt" not in row_names(tab)
        pager = await select(pilot, tab, "ok.txt")  # and the tab still works
        assert await until(pilot, lambda: pager.lines == ["fine"])
        assert time.monotonic() - started < 10


async def test_folders_are_entered_and_hostile_names_shown_as_text(app_root):
    paths = new_run(app_root, "names", end="completed")
    hostile = "evil\x1b]0;PWNED\x07[bold]x[link=http:]\nname.txt"
    sub = paths.run_dir / "results"
    sub.mkdir()
    (sub / hostile).write_text("\x1b[2Jcleared?\n")
    app = RunyardApp(app_root)
    async with app.run_test(size=SIZE) as pilot:
        tab = await open_files(pilot, app)
        await select(pilot, tab, "results/")
        shown = "evil\\x1b]0;PWNED\\x07[bold]x[link=http:]\\nname.txt"
        pager = await select(pilot, tab, shown)
        assert await until(pilot, lambda: pager.lines == ["\\x1b[2Jcleared?"])
        # the title keeps markup as text: Textual stores it escaped ("\\[bold]")
        assert shown.replace("[", "\\[") in str(pager.border_title)
        await select(pilot, tab, "..")
        assert await until(pilot, lambda: "results/" in row_names(tab))
        await select(pilot, tab, "results/")
        assert await until(pilot, lambda: ".." in row_names(tab))
        await pilot.press("backspace")  # up a folder, by key
        assert await until(pilot, lambda: "results/" in row_names(tab))


async def test_the_help_screen_lists_the_files_and_instances_keys(app_root):
    new_run(app_root, "any", end="completed")
    app = RunyardApp(app_root)
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: len(app.snapshot.view) == 1)
        await pilot.press("question_mark")
        assert await until(pilot, lambda: app.screen.query("#help-text"))
        text = str(app.screen.query_one("#help-text").render())
        for wanted in ("Files tab", "backspace", "Up a folder", "Instances tab",
                       "Show the instance's own output", "an instance's output"):
            assert wanted in text, wanted


async def test_a_run_folder_that_is_a_link_is_not_followed(app_root, tmp_path):
    paths = new_run(app_root, "moved", end="completed")
    elsewhere = tmp_path / "home"
    elsewhere.mkdir()
    (elsewhere / "secret.txt").write_text("PRIVATE")
    paths.run_dir.rmdir()
    paths.run_dir.symlink_to(elsewhere)
    app = RunyardApp(app_root)
    async with app.run_test(size=SIZE) as pilot:
        tab = await open_files(pilot, app)
        where = tab.query_one("#files-where")
        assert await until(pilot, lambda: "symbolic link" in str(where.render()))
        assert "secret.txt" not in row_names(tab)


async def test_a_file_cut_or_replaced_while_shown_is_read_again(app_root):
    paths = new_run(app_root, "rewrites")
    shown = paths.run_dir / "state.txt"
    shown.write_text("old 1\nold 2\nold 3\n")
    app = RunyardApp(app_root)
    async with app.run_test(size=SIZE) as pilot:
        tab = await open_files(pilot, app)
        pager = await select(pilot, tab, "state.txt")
        assert await until(pilot, lambda: pager.lines == ["old 1", "old 2", "old 3"])
        shown.write_text("new\n")  # cut shorter, same file
        assert await until(pilot, lambda: pager.lines == ["new"])
        assert "read again" in str(pager.border_title)
        fresh = paths.run_dir / ".state.tmp"
        fresh.write_text("replaced 1\nreplaced 2\n")
        fresh.replace(shown)  # another file under the same name
        assert await until(pilot, lambda: pager.lines == ["replaced 1", "replaced 2"])
