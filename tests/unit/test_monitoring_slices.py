"""Slices, custom metrics, regression quality and a baseline table, on small data."""

import numpy as np
import polars as pl
import pytest
from sklearn import metrics as skm

from mlplatform.customers.model_input import features_for_scoring
from mlplatform.lakehouse.delta import DeltaStore
from mlplatform.monitoring import drift, metrics, profile
from mlplatform.monitoring.config import DriftRules, MonitoringConfigError, RetrainPolicy
from mlplatform.monitoring.loader import load_options
from mlplatform.monitoring.sensors import persistent_drift
from mlplatform.monitoring.tables import drift_store, profile_store
from mlplatform.monitoring.thresholds import ERROR, breaches, describe
from mlplatform.monitoring.windows import prepare
from mlplatform.settings import get_settings
from tests.unit.test_monitoring_checks import _run_checks
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

HOURLY = HOURLY_DAILY[:1]
SLICE = "total_events > 180"
CUSTOM = [
    {
        "type": "aggregate",
        "name": "avg_log",
        "input_columns": ["avg_amount", "total_events"],
        "definition": "avg(ln({{input_column}} + 1))",
    },
    {
        "type": "aggregate",
        "name": "high_share",
        "input_columns": [":table"],
        "definition": "avg(CASE WHEN prediction >= 0.9 THEN 1.0 ELSE 0.0 END)",
    },
    {
        "type": "derived",
        "name": "avg_log_x2",
        "input_columns": ["avg_amount"],
        "definition": "avg_log * 2",
    },
    {
        "type": "drift",
        "name": "avg_log_delta",
        "input_columns": ["avg_amount"],
        "definition": "{{current_df}}.avg_log - {{base_df}}.avg_log",
    },
]


def _triple_in_slice(frame):
    frame.loc[frame["total_events"] > 180, "avg_amount"] *= 3
    return frame


@pytest.fixture
def sliced_home(home):
    """Baseline gold v0; hour 0 like it, hour 1 with avg_amount x3 in the slice only."""
    write_gold(5000)
    rows = pl.concat(
        [
            inference_rows(3000, hour(0), seed=1),
            inference_rows(3000, hour(1), seed=2, transform=_triple_in_slice),
        ]
    )
    append_inference(rows)
    options = load_options({"slicing_exprs": [SLICE, "model_version"], "custom_metrics": CUSTOM})
    return rows, options


def test_profile_rows_per_slice_with_custom_metrics(sliced_home):
    rows, options = sliced_home
    summary = profile.update(get_settings(), HOURLY, options=options)
    assert summary["slice_rows_over_cap"] == {SLICE: 0, "model_version": 0}
    table = profile_store(get_settings()).read().filter(pl.col("model_version") == "1")
    counts = table.filter(pl.col("column_name") == ":table").select(
        "window_start", "slice_key", "slice_value", "count", "high_share"
    )
    hour0 = rows.filter(pl.col("timestamp") < hour(1))
    high = int((hour0["total_events"] > 180).sum())
    got = counts.filter(pl.col("window_start") == hour(0)).sort("slice_key", "slice_value")
    assert got.select("slice_key", "slice_value", "count").rows() == [
        (None, None, 3000),
        ("model_version", "1", 3000),
        (SLICE, "false", 3000 - high),
        (SLICE, "true", high),
    ]
    assert got["high_share"][0] == pytest.approx(float((hour0["prediction"] >= 0.9).mean()))
    amount = table.filter(
        (pl.col("window_start") == hour(0))
        & (pl.col("column_name") == "avg_amount")
        & (pl.col("slice_value") == "true")
    ).row(0, named=True)
    values = hour0.filter(pl.col("total_events") > 180)["avg_amount"].to_numpy()
    assert amount["avg"] == pytest.approx(values.mean(), rel=1e-12)
    assert amount["avg_log"] == pytest.approx(np.log(values + 1).mean(), rel=1e-12)
    assert amount["avg_log_x2"] == pytest.approx(2 * np.log(values + 1).mean(), rel=1e-12)
    assert amount["count"] == high
    # a whole-table row is the profile computed without slices
    prepared = prepare(hour0.lazy()).collect().with_columns(window_start=pl.lit(hour(0)))
    plain = profile.profile_rows(prepared, *HOURLY, 1, 0)
    whole = table.filter(pl.col("slice_key").is_null() & (pl.col("window_start") == hour(0)))
    assert (
        whole.drop("avg_log", "high_share", "avg_log_x2", "computed_at")
        .sort("column_name")
        .select(pl.exclude("batch_id", "logging_table_commit_version"))
        .equals(
            plain.filter(pl.col("model_version") == "1")
            .sort("column_name")
            .select(pl.exclude("batch_id", "logging_table_commit_version", "computed_at"))
        )
    )


def test_slice_cap_counts_what_it_leaves_out(sliced_home):
    rows, _ = sliced_home
    options = load_options({"slicing_exprs": ["customer_id"], "max_slice_values": 5})
    summary = profile.update(get_settings(), HOURLY, options=options)
    # every id is as frequent as the others: the first five by value are kept
    assert summary["slice_rows_over_cap"] == {"customer_id": 6000 - 5}
    table = profile_store(get_settings()).read()
    sliced = table.filter(pl.col("slice_key") == "customer_id")
    assert sorted(set(sliced["slice_value"])) == ["c1-0", "c1-1", "c1-10", "c1-100", "c1-1000"]


def test_drift_confined_to_a_slice_is_found_and_named(sliced_home, monkeypatch):
    _, options = sliced_home
    baselines = fake_baselines({"1": training_tags(0)})
    _, comp = drift.update(get_settings(), HOURLY, baselines=baselines, options=options)
    rules = DriftRules(min_rows=100)
    found = breaches(comp.frame, rules).filter(pl.col("level") == ERROR)
    sliced = found.filter(pl.col("slice_key") == SLICE)
    assert set(sliced.select("slice_value", "column_name", "drift_type").rows()) == {
        ("true", "avg_amount", "BASELINE"),
        ("true", "avg_amount", "CONSECUTIVE"),
    }
    assert f"version 1, slice {SLICE} = true: " in describe(sliced)
    # the slice's baseline is the baseline rows of the same slice
    gold = pl.read_delta(str(get_settings().table_path("gold", "customer_ml_features")))
    training = pl.from_pandas(features_for_scoring(gold, AS_OF.isoformat()))
    base = training.filter(pl.col("total_events") > 180)["avg_amount"]
    row = comp.frame.filter(
        (pl.col("slice_value") == "true")
        & (pl.col("column_name") == "avg_amount")
        & (pl.col("drift_type") == "BASELINE")
        & (pl.col("window_start") == hour(1))
    ).row(0, named=True)
    current = comp.parts["1 hour"][(hour(1), "1", SLICE, "true")]["avg_amount"]
    want = metrics.numeric_drift(metrics.NumericReference.of(base), current)
    assert row["count_cmp"] == base.len() and row["ks_test"] == want["ks_test"]
    assert row["avg_log_delta"] == pytest.approx(
        np.log(current.to_numpy() + 1).mean() - np.log(base.to_numpy() + 1).mean(), rel=1e-12
    )
    # the model_version slice has no column in the baseline: compared with all of it
    mv = comp.frame.filter(
        (pl.col("slice_key") == "model_version") & (pl.col("drift_type") == "BASELINE")
    )
    assert set(mv["count_cmp"]) == {5000}
    # the retraining sensor counts slice windows only when asked to
    table = drift_store(get_settings()).read()
    whole_only = persistent_drift(table, RetrainPolicy(violation_windows=1), rules)
    with_slices = persistent_drift(
        table, RetrainPolicy(violation_windows=1, count_slices=True), rules
    )
    assert with_slices.retrain and with_slices.columns == ["avg_amount"]
    assert set(whole_only.drifted) <= set(with_slices.drifted)
    # the check names the slice
    run_config = {
        "ops": {
            "monitoring__churn_predictor_inference_drift_metrics_"
            "baseline_drift_within_thresholds": {"config": {"min_rows": 100}}
        }
    }
    check = _run_checks(run_config)["baseline_drift_within_thresholds"]
    assert not check.passed and f"slice {SLICE} = true" in check.description
    assert f"slice {SLICE} = true" in check.metadata["drifted_slices"].value


def test_regression_profile_against_scikit_learn(home):
    rows = inference_rows(400, hour(0), seed=4, span_s=2 * 3600)
    rng = np.random.default_rng(5)
    truth = rows["prediction"].to_numpy() + rng.normal(0, 0.2, rows.height)
    truth[::7] = np.nan  # some labels have not arrived
    rows = rows.with_columns(pl.Series("truth", truth).fill_nan(None))
    append_inference(rows)
    options = load_options({"problem_type": "regression", "label_col": "truth"})
    profile.update(get_settings(), HOURLY, options=options)
    table = profile_store(get_settings()).read()
    quality = table.filter(
        (pl.col("column_name") == ":table") & (pl.col("model_version") == ":all")
    ).sort("window_start")
    assert quality.height == 2 and quality["roc_auc"].is_null().all()
    for row in quality.iter_rows(named=True):
        part = rows.filter(
            (pl.col("timestamp") >= row["window_start"])
            & (pl.col("timestamp") < row["window_end"])
            & pl.col("truth").is_not_null()
        )
        y, p = part["truth"].to_numpy(), part["prediction"].to_numpy()
        assert row["labelled_count"] == part.height
        assert row["mean_squared_error"] == pytest.approx(skm.mean_squared_error(y, p))
        assert row["root_mean_squared_error"] == pytest.approx(skm.root_mean_squared_error(y, p))
        assert row["mean_absolute_error"] == pytest.approx(skm.mean_absolute_error(y, p))
        assert row["r2_score"] == pytest.approx(skm.r2_score(y, p))
    label = table.filter(pl.col("column_name") == "label")
    assert set(label["kind"]) == {"numeric"}
    assert "predicted_label" not in set(table["column_name"])


def test_baseline_table_instead_of_training_data(home):
    append_inference(inference_rows(1000, hour(0), seed=1))
    reference = inference_rows(2000, hour(-48), seed=9).select(
        "model_version", "avg_amount", "total_events", "prediction"
    )
    DeltaStore(get_settings().table_path("ml", "baseline_rows"), "t").write(reference, 1)
    options = load_options({"baseline_table_name": "ml/baseline_rows"})
    summary, comp = drift.update(get_settings(), HOURLY, options=options)
    base = comp.frame.filter(pl.col("drift_type") == "BASELINE")
    assert sorted(base["column_name"]) == ["avg_amount", "prediction", "total_events"]
    assert set(base["baseline_gold_version"]) == {0}
    row = base.filter(pl.col("column_name") == "prediction").row(0, named=True)
    current = inference_rows(1000, hour(0), seed=1)["prediction"]
    want = metrics.numeric_drift(metrics.NumericReference.of(reference["prediction"]), current)
    assert row["ks_test"] == want["ks_test"] and row["count_cmp"] == 2000
    with pytest.raises(MonitoringConfigError, match="no Delta table at"):
        drift.update(
            get_settings(),
            HOURLY,
            full_refresh=True,
            options=load_options({"baseline_table_name": "ml/missing"}),
        )
