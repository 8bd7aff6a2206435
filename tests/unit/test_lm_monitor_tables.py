"""Lakehouse Monitoring's metric tables computed for QualityMonitors on plain Delta tables:
exact profile values, model quality against scikit-learn, slices, `:table` rows, drift against
the baseline and the previous window, and a query in the Databricks docs' style run by duckdb."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import polars as pl
import pytest
from scipy import stats
from sklearn import metrics as sk

from mlplatform.lakehouse.delta import DeltaStore
from mlplatform.monitoring.api import monitor_from_fields
from mlplatform.monitoring.lm_schema import QUANTILE_LEVELS
from mlplatform.monitoring.names import table_location
from mlplatform.monitoring.refresh import refresh, store
from mlplatform.settings import get_settings


def _write(settings, name: str, frame: pl.DataFrame) -> None:
    DeltaStore(table_location(settings, name), name).write(frame, 1)


def _at(day: int, hour: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


@pytest.fixture
def settings(home):
    return get_settings()


def _orders() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "ts": [_at(1, 1), _at(1, 2), _at(1, 3), _at(1, 4), _at(2, 1), _at(2, 5)],
            "amount": [1.0, 2.0, None, 5.0, 10.0, 20.0],
            "city": ["a", "b", "a", "a", "a", None],
        }
    )


def test_time_series_profile_has_exact_counts_nulls_averages_and_quantiles(settings):
    _write(settings, "shop.sales.orders", _orders())
    monitor, _ = monitor_from_fields(
        "shop.sales.orders",
        {
            "output_schema_name": "shop.mon",
            "time_series": {"timestamp_col": "ts", "granularities": ["1 day"]},
        },
    )
    result = refresh(settings, monitor)
    assert result.state == "SUCCESS", result.message
    profile = store(settings, "shop.mon.orders_profile_metrics").read()
    assert (settings.lakehouse / "shop" / "mon" / "orders_profile_metrics").is_dir()
    day1 = profile.filter(
        (pl.col("window").struct.field("start") == _at(1)) & pl.col("slice_key").is_null()
    )
    table = day1.filter(pl.col("column_name") == ":table").row(0, named=True)
    assert (table["count"], table["granularity"], table["log_type"]) == (4, "1 day", "INPUT")
    assert table["window"] == {"start": _at(1), "end": _at(2)}
    assert table["model_id"] is None and table["slice_value"] is None
    assert table["logging_table_commit_version"] == 0 and table["monitor_version"] == 1
    amount = day1.filter(pl.col("column_name") == "amount").row(0, named=True)
    values = np.array([1.0, 2.0, 5.0])
    assert amount["count"] == 4 and amount["num_nulls"] == 1
    assert amount["percent_null"] == pytest.approx(25.0)
    assert (amount["min"], amount["max"]) == (1.0, 5.0)
    assert amount["avg"] == pytest.approx(8 / 3)
    assert amount["stddev"] == pytest.approx(np.std(values, ddof=1))
    assert amount["median"] == 2.0
    assert amount["quantiles"] == pytest.approx(list(np.quantile(values, QUANTILE_LEVELS)))
    assert amount["distinct_count"] == 3 and amount["data_type"] == "Float64"
    city = day1.filter(pl.col("column_name") == "city").row(0, named=True)
    assert city["frequent_items"] == [{"item": "a", "count": 3}, {"item": "b", "count": 1}]
    assert (city["distinct_count"], city["min_length"], city["max_length"]) == (2, 1, 1)
    # the timestamp column is the window, not a profiled column
    assert set(profile["column_name"]) == {":table", "amount", "city"}


def test_slices_give_rows_per_value_and_the_whole_table_has_null_keys(settings):
    _write(settings, "sales.orders", _orders())
    monitor, _ = monitor_from_fields(
        "sales.orders",
        {
            "output_schema_name": "mon",
            "time_series": {"timestamp_col": "ts", "granularities": ["1 day"]},
            "slicing_exprs": ["city", "amount > 3"],
        },
    )
    profile = refresh(settings, monitor).profile
    rows = profile.filter((pl.col("column_name") == ":table") & (pl.col("window_start") == _at(1)))
    counts = {(r["slice_key"], r["slice_value"]): r["count"] for r in rows.iter_rows(named=True)}
    assert counts == {
        (None, None): 4,
        ("city", "a"): 3,
        ("city", "b"): 1,
        ("amount > 3", "false"): 2,
        ("amount > 3", "true"): 1,
        ("amount > 3", None): 1,
    }


def _inference(problem: str) -> pl.DataFrame:
    rng = np.random.default_rng(7)
    n = 40
    if problem == "regression":
        label = rng.normal(100, 20, n).round(2)
        prediction = (label + rng.normal(0, 10, n)).round(2)
    else:
        label = rng.integers(0, 2, n)
        proba = np.clip(label * 0.4 + rng.uniform(0, 0.6, n), 0, 1).round(3)
        prediction = (proba >= 0.5).astype(np.int64)
    frame = pl.DataFrame(
        {
            "ts": [_at(1 + i // 20, i % 20) for i in range(n)],
            "version": ["1" if i % 2 else "2" for i in range(n)],
            "x": rng.normal(0, 1, n),
            "pred": prediction,
            "y": label,
        }
    )
    return frame.with_columns(pl.Series("p1", proba)) if problem != "regression" else frame


def _inference_monitor(problem: str, **extra):
    log = {
        "problem_type": f"PROBLEM_TYPE_{problem.upper()}",
        "prediction_col": "pred",
        "label_col": "y",
        "timestamp_col": "ts",
        "model_id_col": "version",
        "granularities": ["1 day"],
    }
    if problem == "classification":
        log["prediction_proba_col"] = "p1"
    return monitor_from_fields(
        "ml.scores", {"output_schema_name": "mon", "inference_log": log, **extra}
    )[0]


def _table_row(profile: pl.DataFrame, model: str, day: int = 1) -> dict:
    return profile.filter(
        (pl.col("column_name") == ":table")
        & (pl.col("model_id") == model)
        & pl.col("slice_key").is_null()
        & (pl.col("window_start") == _at(day))
    ).row(0, named=True)


def test_regression_inference_log_quality_matches_scikit_learn(settings):
    frame = _inference("regression")
    _write(settings, "ml.scores", frame)
    profile = refresh(settings, _inference_monitor("regression")).profile
    day1 = frame.filter(pl.col("ts") < _at(2))
    for model, rows in (("*", day1), ("1", day1.filter(pl.col("version") == "1"))):
        row = _table_row(profile, model)
        y, p = rows["y"].to_numpy(), rows["pred"].to_numpy()
        assert row["count"] == rows.height
        assert row["mean_squared_error"] == pytest.approx(sk.mean_squared_error(y, p))
        assert row["root_mean_squared_error"] == pytest.approx(sk.root_mean_squared_error(y, p))
        assert row["mean_absolute_error"] == pytest.approx(sk.mean_absolute_error(y, p))
        assert row["mean_average_error"] == row["mean_absolute_error"]
        assert row["r2_score"] == pytest.approx(sk.r2_score(y, p))
        assert row["mean_absolute_percentage_error"] == pytest.approx(
            sk.mean_absolute_percentage_error(y, p)
        )
        assert row["accuracy_score"] is None
    assert set(profile["model_id"]) == {"*", "1", "2"}


def test_classification_quality_matches_scikit_learn(settings):
    frame = _inference("classification")
    _write(settings, "ml.scores", frame)
    profile = refresh(settings, _inference_monitor("classification")).profile
    rows = frame.filter(pl.col("ts") < _at(2))
    row = _table_row(profile, "*")
    y, p = rows["y"].cast(pl.String).to_list(), rows["pred"].cast(pl.String).to_list()
    assert row["accuracy_score"] == pytest.approx(sk.accuracy_score(y, p))
    for name, fn in (("precision", sk.precision_score), ("recall", sk.recall_score)):
        assert row[name]["macro"] == pytest.approx(fn(y, p, average="macro"))
        assert row[name]["weighted"] == pytest.approx(fn(y, p, average="weighted"))
        per_class = fn(y, p, average=None, labels=["0", "1"])
        assert [e["value"] for e in row[name]["one_vs_all"]] == pytest.approx(list(per_class))
    assert row["f1_score"]["macro"] == pytest.approx(sk.f1_score(y, p, average="macro"))
    assert row["roc_auc"] == pytest.approx(sk.roc_auc_score(rows["y"], rows["p1"]))
    matrix = sk.confusion_matrix(y, p, labels=["0", "1"])
    cells = {(c["label"], c["prediction"]): c["count"] for c in row["confusion_matrix"]}
    assert cells == {
        (a, b): int(matrix[i][j])
        for i, a in enumerate("01")
        for j, b in enumerate("01")
        if matrix[i][j]
    }
    assert row["mean_squared_error"] is None


def test_drift_against_the_previous_window_and_the_baseline(settings):
    frame = _orders()
    baseline = pl.DataFrame({"amount": [1.0, 1.5, 2.0, 2.5], "city": ["a", "a", "b", "b"]})
    _write(settings, "sales.orders", frame)
    _write(settings, "sales.orders_baseline", baseline)
    monitor, _ = monitor_from_fields(
        "sales.orders",
        {
            "output_schema_name": "mon",
            "time_series": {"timestamp_col": "ts", "granularities": ["1 day"]},
            "baseline_table_name": "sales.orders_baseline",
        },
    )
    result = refresh(settings, monitor)
    drift = store(settings, "mon.orders_drift_metrics").read().filter(pl.col("slice_key").is_null())
    consecutive = drift.filter(pl.col("drift_type") == "CONSECUTIVE")
    assert consecutive.select("column_name", "window_start").rows() == [
        ("amount", _at(2)),
        ("city", _at(2)),
    ]
    row = consecutive.filter(pl.col("column_name") == "amount").row(0, named=True)
    assert row["window_cmp"] == {"start": _at(1), "end": _at(2)}
    expected = stats.ks_2samp([1.0, 2.0, 5.0], [10.0, 20.0])
    assert row["ks_test"]["statistic"] == pytest.approx(expected.statistic)
    assert row["ks_test"]["pvalue"] == pytest.approx(expected.pvalue)
    assert (row["count"], row["count_cmp"]) == (2, 3)
    base = drift.filter(pl.col("drift_type") == "BASELINE")
    assert sorted(base.select("window_start", "column_name").rows()) == [
        (_at(1), "amount"),
        (_at(1), "city"),
        (_at(2), "amount"),
        (_at(2), "city"),
    ]
    city = base.filter((pl.col("column_name") == "city") & (pl.col("window_start") == _at(1)))
    city = city.row(0, named=True)
    # window 1: a a a b against the baseline a a b b
    assert city["tv_distance"] == pytest.approx(0.25)
    assert city["l_infinity_distance"] == pytest.approx(0.25)
    chi = stats.chi2_contingency([[2, 2], [3, 1]], correction=False)
    assert city["chi_squared_test"]["statistic"] == pytest.approx(chi.statistic)
    assert city["window_cmp"] is None or city["window_cmp"]["start"] is None
    # the baseline is profiled too, with log_type BASELINE
    logged = result.profile.filter(pl.col("log_type") == "BASELINE")
    amount = logged.filter(pl.col("column_name") == "amount").row(0, named=True)
    assert (amount["count"], amount["avg"]) == (4, pytest.approx(1.75))


def test_a_query_in_the_databricks_docs_style_runs_on_the_delta_table(settings):
    """Unchanged Databricks SQL (`window.start`) through polars SQL over the Delta table (duckdb
    reserves `window`: there it is written `"window".start`)."""
    _write(settings, "sales.orders", _orders())
    monitor, _ = monitor_from_fields(
        "sales.orders",
        {
            "output_schema_name": "mon",
            "time_series": {"timestamp_col": "ts", "granularities": ["1 day"]},
            "slicing_exprs": ["city"],
        },
    )
    refresh(settings, monitor)
    path = table_location(settings, "mon.orders_profile_metrics")
    query = """
        SELECT window.start, column_name, count, num_nulls
        FROM orders_profile_metrics
        WHERE column_name = ':table' AND slice_key IS NULL AND log_type = 'INPUT'
        ORDER BY window.start
    """
    context = pl.SQLContext(orders_profile_metrics=pl.scan_delta(str(path)))
    rows = context.execute(query).collect().rows()
    assert rows == [(_at(1), ":table", 4, None), (_at(2), ":table", 2, None)]


def test_snapshot_monitor_adds_one_window_per_refresh(settings):
    _write(settings, "sales.stock", pl.DataFrame({"qty": [1, 2, 3], "sku": ["x", "y", "x"]}))
    monitor, _ = monitor_from_fields("sales.stock", {"output_schema_name": "mon", "snapshot": {}})
    assert refresh(settings, monitor).state == "SUCCESS"
    assert refresh(settings, monitor).state == "SUCCESS"
    profile = store(settings, "mon.stock_profile_metrics").read()
    table = profile.filter(pl.col("column_name") == ":table")
    assert table["count"].to_list() == [3, 3]
    assert table["window_start"].n_unique() == 2
    assert table["granularity"].to_list() == [None, None]


def test_a_missing_column_or_table_fails_the_refresh_naming_it(settings):
    _write(settings, "sales.orders", _orders())
    monitor, _ = monitor_from_fields(
        "sales.orders",
        {
            "output_schema_name": "mon",
            "time_series": {"timestamp_col": "when", "granularities": ["1 day"]},
        },
    )
    result = refresh(settings, monitor)
    assert result.state == "FAILED"
    assert result.message.startswith("timestamp_col 'when' not in sales.orders (columns: ts,")
    missing, _ = monitor_from_fields("sales.nothing", {"output_schema_name": "m", "snapshot": {}})
    assert refresh(settings, missing).message.startswith("table_name: no Delta table sales.nothing")


def test_custom_metrics_aggregate_derived_and_drift(settings):
    _write(settings, "sales.orders", _orders())
    metric = "CUSTOM_METRIC_TYPE_"
    monitor, _ = monitor_from_fields(
        "sales.orders",
        {
            "output_schema_name": "mon",
            "time_series": {"timestamp_col": "ts", "granularities": ["1 day"]},
            "custom_metrics": [
                {
                    "type": f"{metric}AGGREGATE",
                    "name": "total",
                    "input_columns": ["amount"],
                    "definition": "sum({{input_column}})",
                    "output_data_type": '{"name":"total","type":"double","nullable":true}',
                },
                {
                    "type": f"{metric}DERIVED",
                    "name": "total_per_row",
                    "input_columns": ["amount"],
                    "definition": "total / count",
                    "output_data_type": "double",
                },
                {
                    "type": f"{metric}DRIFT",
                    "name": "total_delta",
                    "input_columns": ["amount"],
                    "definition": "{{current_df}}.total - {{base_df}}.total",
                    "output_data_type": "double",
                },
            ],
        },
    )
    result = refresh(settings, monitor)
    amount = result.profile.filter(
        (pl.col("column_name") == "amount") & pl.col("slice_key").is_null()
    ).sort("window_start")
    assert amount["total"].to_list() == [8.0, 30.0]
    assert amount["total_per_row"].to_list() == [2.0, 15.0]
    drift = result.drift.filter(pl.col("column_name") == "amount")
    assert drift["total_delta"].to_list() == [22.0]


def test_monthly_windows_and_a_monitor_as_the_bundle_reader_builds_it(settings):
    """Calendar granularities, and custom metrics in the API's spelling, as a bundle's
    `resources.quality_monitors` gives them to the project model."""
    from mlplatform.project.model import QualityMonitor, TimeSeries

    frame = pl.DataFrame(
        {"ts": [_at(1), _at(31), datetime(2026, 4, 2, tzinfo=UTC)], "amount": [1.0, 3.0, 10.0]}
    )
    _write(settings, "sales.monthly", frame)
    monitor = QualityMonitor(
        key="monthly",
        table_name="sales.monthly",
        output_schema_name="mon",
        time_series=TimeSeries("ts", ("1 month",)),
        custom_metrics=(
            {
                "type": "CUSTOM_METRIC_TYPE_AGGREGATE",
                "name": "total",
                "input_columns": ["amount"],
                "definition": "sum({{input_column}})",
                "output_data_type": '{"type": "double"}',
            },
        ),
    )
    result = refresh(settings, monitor)
    assert result.state == "SUCCESS", result.message
    amount = result.profile.filter(pl.col("column_name") == "amount").sort("window_start")
    assert amount["window"].to_list() == [
        {"start": _at(1), "end": datetime(2026, 4, 1, tzinfo=UTC)},
        {"start": datetime(2026, 4, 1, tzinfo=UTC), "end": datetime(2026, 5, 1, tzinfo=UTC)},
    ]
    assert amount["total"].to_list() == [4.0, 10.0]
    consecutive = result.drift.filter(pl.col("drift_type") == "CONSECUTIVE")
    assert consecutive["window_cmp_start"].to_list() == [_at(1)]
