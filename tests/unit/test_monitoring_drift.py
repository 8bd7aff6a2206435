"""Drift rows against the baseline of each model version and the previous window; the report."""

import polars as pl
import pytest

from mlplatform.catalog import FEATURES
from mlplatform.customers.model_input import features_for_scoring
from mlplatform.demo_monitor import CHURN_BASELINES
from mlplatform.monitoring import drift, metrics
from mlplatform.monitoring.config import DriftRules, threshold_for
from mlplatform.monitoring.report import markdown_table, plot_breaches
from mlplatform.monitoring.thresholds import breaches, describe
from mlplatform.settings import get_settings
from tests.unit.test_monitoring_windows import (
    AS_OF,
    HOURLY_DAILY,
    append_inference,
    fake_baselines,
    hour,
    inference_rows,
    training_tags,
    write_gold,
)


def _double_avg_amount(frame):
    frame["avg_amount"] = frame["avg_amount"] * 2
    return frame


@pytest.fixture
def drifted(home):
    """Gold v0 as baseline of version 1; hour 0 like the baseline, hour 1 with avg_amount x2;
    version 2 (untagged) in hour 1 too."""
    write_gold(5000)
    append_inference(
        pl.concat(
            [
                inference_rows(1000, hour(0), seed=1),
                inference_rows(1000, hour(1), seed=2, transform=_double_avg_amount),
                inference_rows(600, hour(1), version="2", seed=3),
            ]
        )
    )
    baselines = fake_baselines({"1": training_tags(0)})
    return drift.update(get_settings(), HOURLY_DAILY, baselines=baselines)


def test_baseline_rows_match_metrics_on_the_training_features(drifted):
    summary, comp = drifted
    assert summary["baseline_problems"] == {
        "2": "version 2 has no tag delta_version.gold/customer_ml_features or as_of"
    }
    frame = comp.frame.filter(pl.col("granularity") == "1 hour")
    base = frame.filter(pl.col("drift_type") == "BASELINE")
    assert set(base["model_version"]) == {"1"}  # no baseline rows for version 2
    assert sorted(base.filter(pl.col("window_start") == hour(1))["column_name"]) == sorted(FEATURES)
    assert set(base["baseline_gold_version"]) == {0}

    gold = pl.read_delta(str(get_settings().table_path("gold", "customer_ml_features")))
    training = features_for_scoring(gold, AS_OF.isoformat())
    window = inference_rows(1000, hour(1), seed=2, transform=_double_avg_amount)
    want = metrics.numeric_drift(
        metrics.NumericReference.of(training["avg_amount"].to_numpy()), window["avg_amount"]
    )
    got = base.filter((pl.col("window_start") == hour(1)) & (pl.col("column_name") == "avg_amount"))
    row = got.row(0, named=True)
    assert row["ks_test"] == want["ks_test"]
    assert row["population_stability_index"] == want["population_stability_index"]
    assert (row["count"], row["count_cmp"]) == (1000, 5000)
    assert row["window_end"] == hour(2) and row["kind"] == "numeric"


def test_consecutive_rows_compare_with_the_previous_window_of_the_same_version(drifted):
    _, comp = drifted
    cons = comp.frame.filter(
        (pl.col("drift_type") == "CONSECUTIVE") & (pl.col("granularity") == "1 hour")
    )
    assert set(cons["model_version"]) == {"1"}  # version 2 has no earlier window
    assert set(cons["window_cmp_start"]) == {hour(0)} and set(cons["window_cmp_end"]) == {hour(1)}
    assert sorted(cons["column_name"]) == sorted([*FEATURES, "prediction", "predicted_label"])
    label = cons.filter(pl.col("column_name") == "predicted_label").row(0, named=True)
    assert label["kind"] == "categorical" and label["chi_squared_test"] is not None
    assert label["population_stability_index"] is None


def test_breaches_name_the_drifted_column_and_window(drifted):
    _, comp = drifted
    found = breaches(comp.frame, DriftRules())
    assert set(found["column_name"]) == {"avg_amount"}
    hourly = found.filter(pl.col("granularity") == "1 hour")
    assert set(hourly["window_start"]) == {hour(1)}
    assert set(hourly["drift_type"]) == {"BASELINE", "CONSECUTIVE"}
    assert set(found["level"]) == {"ERROR"}
    text = describe(found.filter(pl.col("drift_type") == "BASELINE"))
    assert text.startswith("avg_amount (1 hour window 2026-03-01T01:00Z, version 1: ")
    assert "population_stability_index" in text and ">= 0.25" in text


def test_min_rows_and_significance_gate(drifted):
    _, comp = drifted
    assert breaches(comp.frame, DriftRules(min_rows=5001)).is_empty()
    strict = DriftRules(alpha=1e-300)  # no p-value is that small: nothing is significant
    assert breaches(comp.frame, strict).is_empty()


def test_report_plots_and_markdown(drifted, home):
    _, comp = drifted
    found = breaches(comp.frame, DriftRules())
    plots = plot_breaches(found, comp, home / "reports")
    assert sorted(plots) == [
        "plot_1_day_v1_baseline_avg_amount",
        "plot_1_hour_v1_baseline_avg_amount",
        "plot_1_hour_v1_consecutive_avg_amount",
    ]
    for path in plots.values():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000
    table = markdown_table(found)
    assert table.splitlines()[0].startswith("| level | granularity | window |")
    assert "| ERROR | 1 hour | 2026-03-01 01:00 UTC | 1 | BASELINE | `avg_amount` |" in table
    assert markdown_table(found.clear()) == "No column drifted beyond its thresholds."


def test_unreadable_gold_version_is_reported(home):
    write_gold(100)
    append_inference(inference_rows(10, hour(0), seed=1))
    baselines = fake_baselines({"1": training_tags(gold_version=7)})
    summary, comp = drift.update(get_settings(), HOURLY_DAILY, baselines=baselines)
    assert summary["baseline_problems"]["1"].startswith(
        "version 1: cannot read gold version 7 at as_of 2026-03-01T00:00:00"
    )
    assert comp.frame.filter(pl.col("drift_type") == "BASELINE").is_empty()


def test_p_value_thresholds_are_lower_is_worse(drifted):
    _, comp = drifted
    rules = DriftRules(
        thresholds={"ks_test.pvalue": threshold_for("ks_test.pvalue", 1e-3, 1e-6)}, alpha=None
    )
    found = breaches(comp.frame.filter(pl.col("granularity") == "1 hour"), rules)
    assert set(found["column_name"]) == {"avg_amount"}
    assert (found["value"] <= 1e-6).all() and set(found["level"]) == {"ERROR"}
    assert "ks_test.pvalue" in describe(found) and "<= 1e-06" in describe(found)


def test_a_version_missing_from_the_registry_only_loses_baseline_rows(home):
    append_inference(inference_rows(10, hour(0), seed=1))
    summary, comp = drift.update(
        get_settings(), HOURLY_DAILY, binding=CHURN_BASELINES
    )  # the home's empty sqlite store
    assert summary["baseline_problems"]["1"].startswith(
        "cannot read churn_predictor version 1 from the registry: "
    )
    assert comp.frame.is_empty() and summary["windows"] == 2
