"""The Metrics and System tabs: a grid of charts driven by keys (Pilot, the real app)."""

import math
import operator
from functools import partial

from runyard.app.dashboard import RunyardApp
from runyard.app.messages import OpenRun
from runyard.app.screens.detail import DetailScreen
from runyard.app.widgets.plot import Plot
from runyard.app.widgets.plot_data import Series, View, downsample, nice_ticks, prepare
from runyard.app.widgets.workspace import Workspace
from runyard.engine import finalize_run, init_run_meta, make_run, start_run
from runyard.engine.jsonl import append_records
from runyard.engine.layout import METRICS
from runyard.engine.series import metric_record

T0 = 1_800_000_000.0


def run_with(root, name: str, columns: dict, steps: int = 100, seconds: float = 1.0) -> str:
    """A finished run whose metric ``m`` has ``columns[m](step)`` at each step."""
    paths = make_run(root)
    init_run_meta(paths, name=name)
    start_run(paths)
    append_records(paths.meta(METRICS), [metric_record(
        i, i * seconds, T0 + i * seconds, {m: f(i) for m, f in columns.items()})
        for i in range(steps)])
    finalize_run(paths, "completed")
    return paths.id


async def until(pilot, predicate, timeout: float = 15.0) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await pilot.pause(0.05)
    return predicate()


async def opened(pilot, app, run_id: str) -> Workspace:
    await until(pilot, lambda: run_id in app.snapshot.view)
    app.post_message(OpenRun(run_id))
    assert await until(pilot, lambda: isinstance(app.screen, DetailScreen) and
                       app.screen.query("#metrics-grid"))
    grid = app.screen.query_one("#metrics-grid", Workspace)
    assert await until(pilot, lambda: any(p.title for p in shown(grid)))
    return grid


def shown(grid: Workspace) -> list[Plot]:
    return [p for p in grid.query(Plot) if p.display and p.title]


def plot_of(grid: Workspace, title: str) -> Plot:
    return next(p for p in shown(grid) if p.title == title)


# -- what the charts are given --------------------------------------------------------
def test_non_finite_points_are_dropped_and_counted():
    spans = ((0, 1.0, 1.0), (1, math.nan, math.nan), (2, math.inf, math.inf), (3, 2.0, 2.0))
    found = prepare([Series("a", spans, nonfinite=4)], View())
    assert [s[0] for s in found.lines[0][1]] == [0, 3]
    assert found.dropped == 6  # the run's own count and the two here


def test_a_log_axis_gets_no_zero_no_negative_and_no_empty_series():
    spans = ((0, 0.0, 0.0), (1, -5.0, -5.0), (2, -1.0, 100.0), (3, 10.0, 10.0))
    found = prepare([Series("a", spans), Series("none", ((0, -1.0, 0.0),))], View(log_y=True))
    assert found.nonpositive == 4
    assert found.lines[0][1] == [(2, 2.0, 2.0), (3, 1.0, 1.0)]  # log10, the top kept
    assert found.lines[1][1] == []


def test_huge_and_tiny_values_keep_a_finite_frame():
    found = prepare([Series("a", ((0, -1e308, -1e308), (1, 1e-308, 1e308)))], View())
    assert (found.y0, found.y1) == (-1e308, 1e308)
    assert nice_ticks(found.y0, found.y1, 4)  # no overflow, some ticks


def test_downsampling_keeps_spikes():
    spans = [(i, 1.0, 1.0) for i in range(10_000)]
    spans[5_000] = (5_000, 1.0, 500.0)
    points = downsample(spans, 100, 0, 9_999)
    assert len(points) <= 200 and max(y for _x, y in points) == 500.0


def test_ticks_are_round():
    assert nice_ticks(0, 100_000, 5) == [0, 25_000, 50_000, 75_000, 100_000]
    assert nice_ticks(0.013, 0.087, 4) == [0.025, 0.05, 0.075]


# -- the grid in the app ----------------------------------------------------------------
async def test_the_grid_fits_the_terminal_and_pages(app_root):
    run_id = run_with(app_root, "many", {f"m{i:02d}": partial(operator.mul, i)
                                        for i in range(12)})
    app = RunyardApp(app_root)
    async with app.run_test(size=(80, 24)) as pilot:
        grid = await opened(pilot, app, run_id)
        rows, columns = grid.grid_shape()
        assert columns == 1 and rows >= 1
        first = [p.title for p in shown(grid)]
        assert first == [f"m{i:02d}" for i in range(rows)]
        status = str(grid.query_one(".ws-status").render())
        assert f"page 1/{math.ceil(12 / rows)}" in status
        await pilot.press("pagedown")
        assert await until(pilot, lambda: [p.title for p in shown(grid)] ==
                           [f"m{i:02d}" for i in range(rows, 2 * rows)])
        await pilot.press("greater_than_sign", "plus")  # one more column, one more row
        assert await until(pilot, lambda: grid.grid_shape() == (rows + 1, 2))
    app = RunyardApp(app_root)
    async with app.run_test(size=(160, 48)) as pilot:
        grid = await opened(pilot, app, run_id)
        rows, columns = grid.grid_shape()
        assert columns >= 2 and rows >= 3
        assert await until(pilot, lambda: len(shown(grid)) == rows * columns)


async def test_log_smoothing_crosshair_zoom_pattern_and_time(app_root):
    run_id = run_with(app_root, "keys", {
        "loss": lambda s: 0.0 if s == 10 else (-1.0 if s == 11 else 10.0 ** (s / 25)),
        "acc": lambda s: float(s % 2),
        "lr": lambda s: math.nan if s in (3, 4) else 0.5,
    }, seconds=2.0)
    app = RunyardApp(app_root)
    async with app.run_test(size=(80, 24)) as pilot:
        grid = await opened(pilot, app, run_id)
        loss = plot_of(grid, "loss")
        assert loss.focused_chart
        await pilot.press("L")  # log-Y: the zero and the negative are left out, counted
        assert await until(pilot, lambda: "2 <=0 not on log" in loss.head_text().plain)
        drawn = loss.canvas.render().plain
        assert "100┤" in drawn and "  1┤" in drawn  # decades as ticks, real values
        await pilot.press("L")
        await pilot.press("down")  # the next chart: acc, 0 1 0 1 ...
        acc = plot_of(grid, "acc")
        assert await until(pilot, lambda: acc.focused_chart)
        raw = acc.prepared.lines[0][1]
        await pilot.press("s")
        assert await until(pilot, lambda: acc.prepared.lines[0][1] != raw)
        smoothed = [s[1] for s in acc.prepared.lines[0][1][20:]]
        assert all(0.3 < v < 0.7 for v in smoothed)  # averaged towards 0.5
        await pilot.press("s")
        # the crosshair: on acc alone; the other charts are not built again
        others = [p for p in shown(grid) if p is not acc]
        builds = [p.canvas.builds for p in others]
        await pilot.press("l")
        assert await until(pilot, lambda: acc.crosshair is not None)
        at = int(acc.crosshair)
        foot = acc.foot_text().plain
        assert f"step {at}:" in foot and f" {at % 2}" in foot
        await pilot.press("l", "l")
        assert await until(pilot, lambda: acc.crosshair > at + 1)
        at = int(acc.crosshair)
        assert f"step {at}: ━━ {at % 2}" in acc.foot_text().plain
        await pilot.pause(0.3)
        assert [p.canvas.builds for p in others] == builds
        # zoom in around the crosshair, out, back
        await pilot.press("z")
        assert await until(pilot, lambda: grid.xlim is not None)
        width = grid.xlim[1] - grid.xlim[0]
        assert width < 60 and grid.xlim[0] <= at <= grid.xlim[1]
        await pilot.press("z")
        assert await until(pilot, lambda: grid.xlim[1] - grid.xlim[0] < width)
        await pilot.press("Z")
        assert await until(pilot, lambda: abs(grid.xlim[1] - grid.xlim[0] - width) < 1e-9)
        await pilot.press("0")
        assert await until(pilot, lambda: grid.xlim is None)
        # NaN counted
        await pilot.press("slash", *"l?", "enter")  # a glob: lr only
        assert await until(pilot, lambda: [p.title for p in shown(grid)] == ["lr"])
        assert "2 non-finite not drawn" in plot_of(grid, "lr").head_text().plain
        await pilot.press("slash", *"LOSS", "enter")  # plain text, any case
        assert await until(pilot, lambda: [p.title for p in shown(grid)] == ["loss"])
        # x by time: 2 s a step
        await pilot.press("x")
        assert await until(pilot, lambda: "x: time" in str(
            grid.query_one(".ws-status").render()))
        loss = plot_of(grid, "loss")
        assert await until(pilot, lambda: loss.prepared.x1 == 198.0)
        ticks = loss.canvas.render().plain.splitlines()[-1].split()
        assert ticks[:3] == ["0s", "50s", "100s"]  # seconds, not steps
        assert app.return_code is None


async def test_the_system_tab_has_the_resource_metrics_with_units(app_root):
    run_id = run_with(app_root, "busy", {
        "loss": lambda s: 1 / (s + 1),
        "resources/cpu.usage.percentage": lambda s: 50.0 + s % 7,
        "resources/memory.usage": lambda s: 900.0 + s,
        "resources/gpu.utilisation.percentage.0": lambda s: 80,
        "resources/gpu.memory.usage.0": lambda s: 2048.0,
    })
    app = RunyardApp(app_root)
    async with app.run_test(size=(160, 48)) as pilot:
        grid = await opened(pilot, app, run_id)
        assert await until(pilot, lambda: [p.title for p in shown(grid)] == ["loss"])
        await pilot.press("left_square_bracket")  # the tab before the first: the last
        system = app.screen.query_one("#system-grid", Workspace)
        assert await until(pilot, lambda: {p.title for p in shown(system)} == {
            "CPU (%)", "memory (RSS) (MiB)", "GPU 0 utilisation (%)", "GPU 0 memory (MiB)"})
        assert app.focused is system, app.focused


def test_smoothing_weighs_each_logged_point_not_each_drawn_bucket():
    """40,000 points are drawn as ~1,000 buckets: an average with weight 0.99 per
    point (a memory of ~100 points) must follow a step within a few hundred points,
    as it would on the points themselves, not over a hundred buckets (~6,000 points)."""
    from runyard.app.widgets.plot_data import Series, View, prepare
    from runyard.engine.history import Envelope

    envelope = Envelope()
    steps = list(range(40_000))
    values = [0.0] * 20_000 + [1.0] * 20_000
    envelope.extend(steps, [float(s) for s in steps], values)
    assert envelope.per_bucket >= 32  # downsampled, or this proves nothing
    spans, counts = envelope.spans_and_counts(False)
    series = Series("loss", tuple(spans), counts=tuple(counts))
    (_one, drawn), = prepare([series], View(smoothing=0.99)).lines
    at = {x: y for x, y, _hi in drawn}

    def near(step):
        return at[min(at, key=lambda x: abs(x - step))]

    assert near(19_900) < 0.01
    assert near(20_600) > 0.99  # 600 points after the step: 0.99**600 < 0.003
    assert 0.2 < near(20_100) < 0.8  # and not at once either
