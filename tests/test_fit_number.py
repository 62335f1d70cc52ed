"""Numbers in a narrow column keep their meaning (issue 12, item 11): the METRIC
column at 80 columns showed `-6.11e-…` (cut), as W&B LEET does; now the most precise
form that fits is chosen, the exponent written short."""

import math
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st
from test_app import until

from runyard.app.dashboard import RunyardApp
from runyard.app.widgets.glyphs import fit_number
from runyard.engine import Run


def test_the_most_precise_form_that_fits():
    assert fit_number(-6.11e-05, 8) == "-6.11e-5"
    assert fit_number(123456789.0, 8) == "1.2346e8"
    assert fit_number(-1.2345678e100, 8) == "-1.2e100"
    assert fit_number(0.5, 8) == "0.5" and fit_number(3.14159, 8) == "3.142"
    assert fit_number(10**400, 8) == "1.00e400"  # beyond a float: from its digits
    assert fit_number(math.nan, 3) == "NaN" and fit_number(-math.inf, 4) == "-inf"
    assert fit_number(True, 8) == "true"


@given(st.one_of(st.floats(allow_nan=False, allow_infinity=False),
                 st.integers(-10**30, 10**30)), st.integers(7, 12))
def test_a_fitted_number_fits_and_reads_back_close(value, width):
    text = fit_number(value, width)
    assert len(text) <= width, text
    back, exact = Decimal(text), Decimal(value)  # 1.8e308 is past a float: no float()
    shown = len(text.partition("e")[0].lstrip("-").replace(".", "").lstrip("0")) or 1
    # off by at most half the last digit shown: rounded, not cut
    assert abs(back - exact) <= abs(exact) * Decimal(5) / 10**shown, (value, text)


async def test_the_metric_column_at_80_columns_shows_the_whole_number(app_root):
    run = Run(root=app_root)
    run.config(disable_resources_metrics=True)
    run.init(name="tiny")
    run.log_metrics({"loss": -6.11e-05})
    run._writer.flush()
    app = RunyardApp(app_root)
    async with app.run_test(size=(80, 24)) as pilot:
        assert await until(pilot, lambda: run.id in app.snapshot.cells)
        await pilot.pause()
        text = "".join(segment.text for segment in app.screen.table.render_line(0))
        assert "-6.11e-5" in text, text
    run.close()
