"""The dashboard tells one truth: its alert text, its drawn levels and its points agree on what
is judged (the minimum row count, the significance gate); one window gets a readable time axis.
Built from real metric tables (Delta), checked on the page's text and the figures' data."""

import polars as pl
import pytest

from mlplatform.monitoring import dashboard, drift, profile
from mlplatform.monitoring.charts import NOT_JUDGED
from mlplatform.monitoring.config import DriftRules, Granularity
from mlplatform.monitoring.loader import load_options
from mlplatform.monitoring.tables import drift_store, profile_store
from mlplatform.monitoring.thresholds import ERROR, breaches
from mlplatform.settings import get_settings
from tests.unit.test_monitoring_windows import (
    HOURLY_DAILY,
    append_inference,
    fake_baselines,
    hour,
    inference_rows,
    training_tags,
    write_gold,
)

RULES = DriftRules()  # 500 rows at least, alpha 0.001, JS error level 0.2
OPTIONS = load_options({"granularities": ["1 hour"]})


def _triple_amount(frame):
    frame["avg_amount"] = frame["avg_amount"] * 3
    return frame


def _naive(h: float):
    return hour(h).replace(tzinfo=None)


@pytest.fixture
def few_rows_drifted(home):
    """Hours 0 and 1 like the baseline (600 rows each); hour 2: 120 rows, avg_amount x3."""
    write_gold(3000)
    append_inference(
        pl.concat(
            [
                inference_rows(600, hour(0), seed=1),
                inference_rows(600, hour(1), seed=2),
                inference_rows(120, hour(2), seed=3, transform=_triple_amount),
            ]
        )
    )
    settings = get_settings()
    profile.update(settings, HOURLY_DAILY[:1], options=OPTIONS)
    baselines = fake_baselines({"1": training_tags(0)})
    drift.update(settings, HOURLY_DAILY[:1], baselines=baselines, options=OPTIONS)
    return profile_store(settings).read(), drift_store(settings).read()


def _js_per_column(figures):
    [fig] = [
        f for f in figures if f.layout.title.text == "js_distance against the baseline, per column"
    ]
    return fig


def test_points_over_a_level_without_an_alert_are_drawn_and_said_not_judged(few_rows_drifted):
    profile_rows, drift_rows = few_rows_drifted
    js = drift_rows.filter(
        (pl.col("drift_type") == "BASELINE")
        & (pl.col("column_name") == "avg_amount")
        & (pl.col("window_start") == hour(2))
    ).row(0, named=True)
    assert js["js_distance"] > 0.2 and js["count"] == 120  # above the error line, few rows
    found = breaches(drift_rows, RULES)
    assert found.filter(pl.col("window_start") == hour(2)).is_empty()  # so no alert

    page = dashboard.render(profile_rows, drift_rows, OPTIONS, RULES)
    assert "No drift beyond a warn or error level in the latest run." not in page
    assert "No judged drift beyond a warn or error level in the latest run." in page
    assert "fewer than 500 rows on a side" in page and "open grey circles" in page
    assert "at least 500 rows and its KS or chi-squared p-value is at most 0.001" in page

    axis = dashboard.time_axis(drift_rows["window_start"], Granularity.parse("1 hour"))
    fig = _js_per_column(dashboard.drift_figures(dashboard.naive_utc(drift_rows), RULES, axis))
    [unjudged] = [t for t in fig.data if t.name == NOT_JUDGED]
    assert unjudged.marker.symbol == "circle-open"
    names = [t.split(":")[0] for t in unjudged.text]
    points = dict(zip(zip(unjudged.x, names, strict=True), unjudged.y, strict=True))
    assert points[(_naive(2), "avg_amount")] == pytest.approx(js["js_distance"])
    assert "not judged (few rows; 120 rows on the smaller side, 500 needed)" in " ".join(
        unjudged.text
    )
    # every judged point on or over the error line is an ERROR alert, and only those
    errors = {
        (w.replace(tzinfo=None), c)
        for w, c in found.filter((pl.col("level") == ERROR) & (pl.col("metric") == "js_distance"))
        .select("window_start", "column_name")
        .iter_rows()
    }
    drawn = {
        (x, t.name)
        for t in fig.data
        if t.name != NOT_JUDGED
        for x, y in zip(t.x, t.y, strict=True)
        if y >= 0.2
    }
    assert drawn == errors
    judged_x = {x for t in fig.data if t.name != NOT_JUDGED for x in t.x}
    assert _naive(2) not in judged_x  # hour 2 has no judged point at all
    # every line runs forward in time (the profile rows are not read in window order)
    shuffled = dashboard.naive_utc(profile_rows.sort("window_start", descending=True))
    for fig in dashboard.profile_figures(dashboard._recent(shuffled, "1 hour"), OPTIONS, axis):
        for trace in fig.data:
            assert list(trace.x) == sorted(trace.x) and len(trace.x) == 3, fig.layout.title.text


def test_one_window_gets_an_axis_of_that_window_with_its_date(home):
    append_inference(inference_rows(600, hour(18), seed=1))
    settings = get_settings()
    profile.update(settings, HOURLY_DAILY[:1], options=OPTIONS)
    rows = profile_store(settings).read()
    page = dashboard.render(rows, pl.DataFrame(), OPTIONS, RULES)
    rows = dashboard.naive_utc(rows)
    axis = dashboard.time_axis(rows["window_start"], Granularity.parse("1 hour"))
    assert axis["range"] == [_naive(17.5), _naive(18.5)]  # half a window on either side
    assert axis["tickvals"] == [_naive(18)] and axis["ticktext"] == ["2026-03-01 18:00"]
    figures = dashboard.profile_figures(rows, OPTIONS, axis)
    assert len(figures) == 4
    for fig in figures:
        assert list(fig.layout.xaxis.range) == [_naive(17.5), _naive(18.5)]
        assert list(fig.layout.xaxis.ticktext) == ["2026-03-01 18:00"]
        assert [len(t.x) for t in fig.data] == [1] * len(fig.data)  # the one window
    # the page itself: every chart's axis is the window with its date
    axis_json = '"range":["2026-03-01T17:30:00","2026-03-01T18:30:00"]'
    assert page.count(axis_json) == 4
    assert page.count('"ticktext":["2026-03-01 18:00"]') == 4
    daily = dashboard.time_axis(rows["window_start"], Granularity.parse("1 day"))
    assert daily["ticktext"] == ["2026-03-01"]
