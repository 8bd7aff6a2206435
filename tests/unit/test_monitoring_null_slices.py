"""Slicing expressions that are null for some rows: the null value is a slice of its own (as in
Lakehouse Monitoring), in the profile and the drift table, for every kind of expression; and an
expression that cannot be evaluated is named in a short error, never printed with the data."""

import math

import dagster as dg
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlplatform.catalog import CHURN_TRAINING_SET, DRIFT_METRICS, FEATURES, PROFILE_METRICS
from mlplatform.definitions import monitoring_assets
from mlplatform.demo_monitor import CHURN_BASELINES
from mlplatform.lakehouse.delta import DeltaStore
from mlplatform.monitoring import drift, profile, slices
from mlplatform.monitoring.baseline import Baselines
from mlplatform.monitoring.config import DriftRules, MonitoringConfigError, Threshold
from mlplatform.monitoring.loader import load_options
from mlplatform.monitoring.report import plot_breaches
from mlplatform.monitoring.tables import drift_store, profile_store
from mlplatform.monitoring.thresholds import breaches, describe, slice_name
from mlplatform.settings import get_settings
from tests.platform_resources import platform_resources
from tests.serving_models import feature_frame
from tests.unit.test_monitoring_windows import HOURLY_DAILY, append_inference, hour, inference_rows

HOURLY = HOURLY_DAILY[:1]
PREDICATE = "total_events > 30"
COLUMN = "label"
NUMBERS = "floor(total_events / 100)"
STRINGS = "CASE WHEN total_events > 100 THEN 'high' WHEN total_events <= 100 THEN 'low' END"
EXPRS = [PREDICATE, COLUMN, NUMBERS, STRINGS]
BASELINE_ROWS = 2000


def _events_slices(events: float | None) -> dict[str, str | None]:
    """The slice value of each `total_events` expression, computed by hand."""
    if events is None:
        return {PREDICATE: None, NUMBERS: None, STRINGS: None}
    return {
        PREDICATE: "true" if events > 30 else "false",
        NUMBERS: f"{float(math.floor(events / 100))}",
        STRINGS: "high" if events > 100 else "low",
    }


def _expected(rows: pl.DataFrame) -> dict[str, dict[str | None, int]]:
    """{expression: {slice value: rows}} of the rows, by hand."""
    out: dict[str, dict[str | None, int]] = {e: {} for e in EXPRS}
    for events, label in rows.select("total_events", "label").iter_rows():
        values = _events_slices(events) | {COLUMN: None if label is None else str(label)}
        for expr, value in values.items():
            out[expr][value] = out[expr].get(value, 0) + 1
    return out


def _with_nulls(rows: pl.DataFrame, every: int, label_every: int) -> pl.DataFrame:
    index = pl.int_range(pl.len())
    return rows.with_columns(
        pl.when(index % every == 0)
        .then(None)
        .otherwise(pl.col("total_events"))
        .alias("total_events"),
        pl.when(index % label_every == 0).then(None).otherwise(pl.col("label")).alias("label"),
    )


def _training_set(every: int) -> int:
    """A training set (real Delta) whose `total_events` is null in every `every`-th row."""
    frame = pl.from_pandas(feature_frame(BASELINE_ROWS, seed=7))
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) % every == 0)
        .then(None)
        .otherwise(pl.col("total_events"))
        .alias("total_events"),
        pl.Series("customer_id", [f"t{i}" for i in range(BASELINE_ROWS)]),
    )
    store = DeltaStore(CHURN_TRAINING_SET.path(get_settings()), CHURN_TRAINING_SET.app_id)
    store.write(frame, 1)
    return store.table().version()


@pytest.fixture
def null_home(home):
    """Hours 0 and 1 of version 1 with `total_events` null in every 7th row and the label in
    every 5th; a training-set baseline with `total_events` null in every 9th row."""
    rows = pl.concat(
        [
            _with_nulls(inference_rows(700, hour(0), seed=1, labels=True), 7, 5),
            _with_nulls(inference_rows(700, hour(1), seed=2, labels=True), 7, 5),
        ]
    )
    append_inference(rows)
    version = _training_set(9)
    tags = {CHURN_TRAINING_SET.version_tag: str(version), "as_of": "2026-03-01T00:00:00"}
    baselines = Baselines(
        get_settings(), tags=lambda v: tags if v == "1" else {}, binding=CHURN_BASELINES
    )
    return rows, baselines, load_options({"slicing_exprs": EXPRS})


def test_profile_keeps_null_values_as_slices_of_their_own(null_home):
    rows, _, options = null_home
    summary = profile.update(get_settings(), HOURLY, options=options)
    assert summary["slice_rows_over_cap"] == dict.fromkeys(EXPRS, 0)
    table = profile_store(get_settings()).read()
    counts = table.filter(
        (pl.col("column_name") == ":table")
        & (pl.col("model_version") == "1")
        & pl.col("slice_key").is_not_null()
    )
    for h in (0, 1):
        part = rows.filter((pl.col("timestamp") >= hour(h)) & (pl.col("timestamp") < hour(h + 1)))
        want = _expected(part)
        assert want[PREDICATE][None] == 100 and want[COLUMN][None] == 140  # nulls are there
        window = counts.filter(pl.col("window_start") == hour(h))
        for expr in EXPRS:
            got = window.filter(pl.col("slice_key") == expr).select("slice_value", "count")
            assert dict(got.rows()) == want[expr], (h, expr)
    # the null slice's numbers are those of the rows where the expression is null
    null_rows = rows.filter((pl.col("timestamp") < hour(1)) & pl.col("total_events").is_null())
    amount = table.filter(
        (pl.col("window_start") == hour(0))
        & (pl.col("model_version") == "1")
        & (pl.col("slice_key") == STRINGS)
        & pl.col("slice_value").is_null()
        & (pl.col("column_name") == "avg_amount")
    ).row(0, named=True)
    assert amount["count"] == null_rows.height == 100
    assert amount["avg"] == pytest.approx(null_rows["avg_amount"].mean(), rel=1e-12)
    events = table.filter(
        (pl.col("window_start") == hour(0))
        & (pl.col("model_version") == "1")
        & (pl.col("slice_key") == PREDICATE)
        & pl.col("slice_value").is_null()
        & (pl.col("column_name") == "total_events")
    ).row(0, named=True)
    assert (events["num_nulls"], events["percent_null"]) == (100, 100.0)


def test_drift_keeps_null_values_as_slices_of_their_own(null_home, tmp_path):
    rows, baselines, options = null_home
    summary, comp = drift.update(get_settings(), HOURLY, baselines=baselines, options=options)
    assert summary["baseline_problems"] == {}
    table = drift_store(get_settings()).read()
    assert table.height == comp.frame.height
    null = table.filter(pl.col("slice_key").is_not_null() & pl.col("slice_value").is_null())
    assert sorted(set(null["slice_key"])) == sorted(EXPRS)
    base_nulls = len(range(0, BASELINE_ROWS, 9))
    for expr in EXPRS:
        amount = null.filter(
            (pl.col("slice_key") == expr) & (pl.col("column_name") == "avg_amount")
        )
        base = amount.filter(pl.col("drift_type") == "BASELINE").sort("window_start")
        assert base["window_start"].to_list() == [hour(0), hour(1)], expr
        # current: the window's rows where the expression is null; reference: the baseline's
        # rows where it is null, or all of the baseline when it cannot be evaluated there
        assert base["count"].to_list() == ([140, 140] if expr == COLUMN else [100, 100]), expr
        want_cmp = BASELINE_ROWS if expr == COLUMN else base_nulls
        assert set(base["count_cmp"]) == {want_cmp}, expr
        assert base["js_distance"].is_not_null().all(), expr
        cons = amount.filter(pl.col("drift_type") == "CONSECUTIVE")
        assert cons.select("window_start", "window_cmp_start", "count", "count_cmp").rows() == [
            (hour(1), hour(0), *([140, 140] if expr == COLUMN else [100, 100]))
        ], expr
    # the samples behind a null slice's row are the null rows
    ref, cur = comp.samples("1 hour", hour(1), "1", "avg_amount", "BASELINE", None, PREDICATE, None)
    assert (ref.len(), cur.len()) == (base_nulls, 100)
    hour1 = rows.filter(pl.col("timestamp") >= hour(1))
    want = hour1.filter(pl.col("total_events").is_null())["avg_amount"].sort()
    assert cur.sort().to_list() == want.to_list()
    # the breaches, the description and the report name the null slice
    rules = DriftRules(thresholds={"js_distance": Threshold(warn=0.0)}, min_rows=1, alpha=None)
    found = breaches(table, rules)
    in_null = found.filter(pl.col("slice_key") == PREDICATE).filter(pl.col("slice_value").is_null())
    assert not in_null.is_empty()
    assert f"slice {PREDICATE} = null" in describe(in_null)
    assert slice_name(PREDICATE, None) == f"slice {PREDICATE} = null"
    amount = in_null.filter(pl.col("column_name") == "avg_amount")
    plots = plot_breaches(amount, comp, tmp_path)
    assert sorted(p.name for p in plots.values()) == [
        "1-hour_20260301T0100_v1_baseline_avg_amount_slice-total_events-30-null.png",
        "1-hour_20260301T0100_v1_consecutive_avg_amount_slice-total_events-30-null.png",
    ]


def test_the_slice_cap_counts_the_null_slice_like_any_value(null_home):
    rows, _, _ = null_home
    want = _expected(rows)
    assert want[STRINGS][None] == 200 < min(want[STRINGS]["low"], want[STRINGS]["high"])
    options = load_options({"slicing_exprs": [STRINGS], "max_slice_values": 2})
    summary = profile.update(get_settings(), HOURLY, options=options)
    assert summary["slice_rows_over_cap"] == {STRINGS: 200}  # the null rows, least frequent
    table = profile_store(get_settings()).read().filter(pl.col("slice_key") == STRINGS)
    assert set(table["slice_value"]) == {"low", "high"}


def test_the_whole_table_rows_do_not_change_with_null_slices(null_home):
    _, baselines, options = null_home
    _, plain = drift.update(get_settings(), HOURLY, baselines=baselines)
    _, sliced = drift.update(
        get_settings(), HOURLY, full_refresh=True, baselines=baselines, options=options
    )
    keep = ["window_start", "drift_type", "column_name", "count", "count_cmp", "js_distance"]
    whole = sliced.frame.filter(pl.col("slice_key").is_null()).select(keep)
    assert whole.equals(plain.frame.select(keep))
    assert set(whole["column_name"]) >= set(FEATURES)


def test_an_expression_that_fails_is_named_without_the_data(home):
    n = 5000
    rows = inference_rows(n, hour(0), seed=3)
    append_inference(rows)
    expr = "CAST(customer_id AS DOUBLE) > 1"  # the engine's error quotes values
    with pytest.raises(MonitoringConfigError) as err:
        profile.update(get_settings(), HOURLY, options=load_options({"slicing_exprs": [expr]}))
    text = str(err.value)
    assert f"slicing expression {expr!r} cannot be evaluated on 5000 inference rows" in text
    assert "InvalidOperationError: conversion from `str` to `f64` failed" in text
    assert len(text) < 600, text
    assert text.count("c3-") <= 3  # not the column's values


def test_the_monitoring_assets_materialize_with_a_null_slice(null_home):
    """The reported failure, through Dagster: the drift asset with a baseline table whose
    `total_events` is null in some rows and a predicate over it."""
    frame = pl.from_pandas(feature_frame(BASELINE_ROWS, seed=8)).with_columns(
        pl.when(pl.int_range(pl.len()) % 4 == 0)
        .then(None)
        .otherwise(pl.col("total_events"))
        .alias("total_events"),
        pl.lit("1").alias("model_version"),
    )
    DeltaStore(get_settings().table_path("ml", "baseline_rows"), "baseline").write(frame, 1)
    config = {
        "slicing_exprs": [PREDICATE],
        "baseline_table_name": "ml/baseline_rows",
        "granularities": ["1 hour"],
    }
    ops = [f"monitoring__{t.name}" for t in (PROFILE_METRICS, DRIFT_METRICS)]
    result = dg.materialize(
        monitoring_assets,
        run_config={"ops": {op: {"config": config} for op in ops}},
        resources=platform_resources(),
    )
    assert result.success
    table = drift_store(get_settings()).read()
    null = table.filter(
        (pl.col("slice_key") == PREDICATE)
        & pl.col("slice_value").is_null()
        & (pl.col("drift_type") == "BASELINE")
        & (pl.col("column_name") == "avg_amount")
    ).sort("window_start")
    assert null.select("window_start", "count", "count_cmp").rows() == [
        (hour(0), 100, BASELINE_ROWS // 4),
        (hour(1), 100, BASELINE_ROWS // 4),
    ]
    profile_rows = (
        profile_store(get_settings())
        .read()
        .filter(
            (pl.col("slice_key") == PREDICATE)
            & pl.col("slice_value").is_null()
            & (pl.col("column_name") == ":table")
            & (pl.col("model_version") == "1")
        )
    )
    assert profile_rows["count"].to_list() == [100, 100]


# ---- every slicing expression kind, over random rows with nulls (no Delta: the slicing alone) ----

KINDS = {
    "x > 0.5": lambda x, s, b: None if x is None else ("true" if x > 0.5 else "false"),
    "s": lambda x, s, b: s,
    "b": lambda x, s, b: None if b is None else str(b).lower(),
    "floor(x * 3)": lambda x, s, b: None if x is None else str(float(math.floor(x * 3))),
    "CASE WHEN x > 0.5 THEN 'hi' WHEN x <= 0.5 THEN 'lo' END": lambda x, s, b: (
        None if x is None else ("hi" if x > 0.5 else "lo")
    ),
}
_rows = st.lists(
    st.tuples(
        st.none() | st.floats(0, 1, allow_nan=False),
        st.none() | st.sampled_from(["a", "b", "c", "d"]),
        st.none() | st.booleans(),
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(rows=_rows, cap=st.integers(1, 5))
def test_each_row_is_in_exactly_one_slice_per_expression_nulls_included(rows, cap):
    frame = pl.DataFrame(
        rows, schema={"x": pl.Float64, "s": pl.String, "b": pl.Boolean}, orient="row"
    )
    out = slices.apply(frame, list(KINDS), cap)
    got = out.frame.group_by("slice_key", "slice_value").len()
    assert got.filter(pl.col("slice_key").is_null())["len"].to_list() == (
        [len(rows)] if rows else []
    )
    for expr, value_of in KINDS.items():
        counts: dict[str | None, int] = {}
        for row in rows:
            value = value_of(*row)
            counts[value] = counts.get(value, 0) + 1
        # the most frequent values are kept, ties by value, the null slice last among equals
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0] is None, kv[0] or ""))
        kept = dict(ranked[:cap])
        sliced = got.filter(pl.col("slice_key") == expr).select("slice_value", "len")
        assert dict(sliced.rows()) == kept, expr
        assert out.dropped_rows[expr] == len(rows) - sum(kept.values()), expr
        assert out.dropped_values[expr] == len(counts) - len(kept), expr
