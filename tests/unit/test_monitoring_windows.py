"""Incremental windows: which windows a run recomputes, exactly once, from the inference table.

Also holds the helpers the other monitoring tests use to write inference rows and gold.
"""

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from deltalake import DeltaTable

from mlplatform.catalog import FEATURES, INFERENCE
from mlplatform.catalog.monitored import INFERENCE_SCHEMA
from mlplatform.catalog.schemas import DRIFT_SCHEMA, PROFILE_SCHEMA
from mlplatform.demo_monitor import CHURN_BASELINES
from mlplatform.lakehouse.delta import DeltaStore
from mlplatform.monitoring import drift, profile
from mlplatform.monitoring.baseline import Baselines
from mlplatform.monitoring.config import Granularity, MonitoringConfigError, parse_granularities
from mlplatform.monitoring.tables import drift_store, profile_store, window_predicate
from mlplatform.settings import get_settings
from tests.serving_models import feature_frame

INFERENCE_APP_ID = INFERENCE.app_id
inference_path = INFERENCE.path

T0 = datetime(2026, 3, 1, tzinfo=UTC)
AS_OF = datetime(2026, 3, 1)
HOURLY_DAILY = parse_granularities(["1 hour", "1 day"])


def inference_rows(n, start, version="1", seed=0, span_s=3600.0, transform=None, labels=False):
    """`n` inference rows with timestamps in [start, start + span_s), features like serving's."""
    rng = np.random.default_rng(seed)
    features = feature_frame(n, seed)
    if transform is not None:
        features = transform(features)
    ts = sorted(start + timedelta(seconds=float(s)) for s in rng.uniform(0, span_s, n))
    prediction = rng.uniform(size=n)
    return pl.DataFrame(
        {
            "request_id": [f"{version}-{seed}-{i}" for i in range(n)],
            "client_request_id": [None] * n,
            "row_index": [0] * n,
            "timestamp": ts,
            "date": [t.date() for t in ts],
            "model_name": ["churn_predictor"] * n,
            "model_version": [version] * n,
            "customer_id": [f"c{seed}-{i}" for i in range(n)],
            **{f: features[f].to_numpy() for f in FEATURES},
            "prediction": prediction,
            "label": (rng.uniform(size=n) < prediction).astype(int) if labels else [None] * n,
            "label_timestamp": [None] * n,
        }
    ).cast(INFERENCE_SCHEMA)


def inference_store() -> DeltaStore:
    return DeltaStore(inference_path(get_settings()), INFERENCE_APP_ID)


def append_inference(frame: pl.DataFrame) -> int:
    store = inference_store()
    return store.write(frame, store.committed_batch() + 1)


def write_gold(n=5000, seed=0) -> int:
    """A gold table drawn like `feature_frame`, recency turned back into `last_event_at`."""
    frame = pl.from_pandas(feature_frame(n, seed))
    last = pl.lit(AS_OF) - pl.duration(
        microseconds=(pl.col("recency_days") * 86_400e6).cast(pl.Int64)
    )
    gold = frame.with_columns(
        pl.Series("customer_id", [f"g{i}" for i in range(n)]), last.alias("last_event_at")
    ).drop("recency_days")
    store = DeltaStore(get_settings().table_path("gold", "customer_ml_features"), "gold")
    return store.write(gold, store.committed_batch() + 1)


def fake_baselines(tags_by_version: dict[str, dict]) -> Baselines:
    return Baselines(
        get_settings(), tags=lambda v: tags_by_version.get(v, {}), binding=CHURN_BASELINES
    )


def training_tags(gold_version=0) -> dict:
    return {
        "delta_version.gold/customer_ml_features": str(gold_version),
        "as_of": AS_OF.isoformat(),
    }


def hour(h: float) -> datetime:
    return T0 + timedelta(hours=h)


def test_fresh_home_creates_empty_tables(home):
    settings = get_settings()
    assert profile.update(settings, HOURLY_DAILY)["rows"] == 0
    assert drift.update(settings, HOURLY_DAILY)[0]["rows"] == 0
    assert profile_store(settings).read().schema == pl.Schema(PROFILE_SCHEMA)
    assert drift_store(settings).read().schema == pl.Schema(DRIFT_SCHEMA)
    assert profile.update(settings, HOURLY_DAILY)["nothing_new"] is True
    assert drift.update(settings, HOURLY_DAILY)[0]["nothing_new"] is True


def test_rerun_recomputes_only_windows_with_new_rows(home):
    settings = get_settings()
    append_inference(inference_rows(300, hour(0), span_s=3 * 3600, seed=1))  # hours 0, 1, 2
    first = profile.update(settings, HOURLY_DAILY)
    assert first["windows_by_granularity"] == {
        "1 hour": [hour(h).isoformat() for h in range(3)],
        "1 day": [T0.isoformat()],
    }
    assert profile.update(settings, HOURLY_DAILY)["nothing_new"] is True

    append_inference(inference_rows(50, hour(2.5), span_s=3600, seed=2))  # hours 2 and 3
    second = profile.update(settings, HOURLY_DAILY)
    assert second["windows_by_granularity"] == {
        "1 hour": [hour(2).isoformat(), hour(3).isoformat()],
        "1 day": [T0.isoformat()],
    }
    table = profile_store(settings).read()
    counts = (
        table.filter((pl.col("column_name") == ":table") & (pl.col("model_version") == ":all"))
        .select("granularity", "window_start", "count", "batch_id")
        .sort("granularity", "window_start")
    )
    rows = pl.concat(
        [
            inference_rows(300, hour(0), span_s=3 * 3600, seed=1),
            inference_rows(50, hour(2.5), seed=2),
        ]
    )
    expected = rows.group_by(pl.col("timestamp").dt.truncate("1h")).len().sort("timestamp")
    hourly = counts.filter(pl.col("granularity") == "1 hour")
    assert hourly["count"].to_list() == expected["len"].to_list()
    assert hourly["batch_id"].to_list() == [1, 1, 2, 2]  # hours 0 and 1 were not rewritten
    assert counts.filter(pl.col("granularity") == "1 day")["count"].to_list() == [350]
    # the table records the inference version it reflects, in the same commit as the rows
    assert (
        DeltaTable(str(profile_store(settings).path)).transaction_version(
            profile_store(settings).app_id
        )
        == inference_store().version() + 1
    )


def test_labels_arriving_touch_their_windows(home):
    settings = get_settings()
    append_inference(inference_rows(200, hour(0), span_s=2 * 3600, seed=3))
    profile.update(settings, HOURLY_DAILY)
    path = str(inference_store().path)
    # a label merge rewrites the file holding hour 0 and 1 rows (what the inference asset does)
    DeltaTable(path).update(updates={"label": "1"}, predicate="timestamp < '2026-03-01T01:00:00Z'")
    run = profile.update(settings, HOURLY_DAILY)
    assert run["nothing_new"] is False and run["windows"] == 3
    quality = (
        profile_store(settings)
        .read()
        .filter(
            (pl.col("column_name") == ":table")
            & (pl.col("model_version") == ":all")
            & (pl.col("granularity") == "1 hour")
        )
        .sort("window_start")
    )
    labelled = pl.read_delta(path).filter(pl.col("timestamp") < hour(1)).height
    assert quality["labelled_count"].to_list() == [labelled, 0]
    assert quality["accuracy"][0] == pytest.approx(
        (pl.read_delta(path).filter(pl.col("timestamp") < hour(1))["prediction"] >= 0.5).mean()
    )


def test_consecutive_window_is_recomputed_when_its_previous_window_changes(home):
    settings = get_settings()
    append_inference(inference_rows(100, hour(0), seed=4))
    append_inference(inference_rows(100, hour(5), seed=5))  # next window with rows: hour 5
    summary, comp = drift.update(settings, HOURLY_DAILY, baselines=fake_baselines({}))
    consecutive = comp.frame.filter(pl.col("drift_type") == "CONSECUTIVE")
    assert set(consecutive["window_cmp_start"]) == {hour(0)}
    assert set(consecutive["window_start"]) == {hour(5)}
    append_inference(inference_rows(10, hour(0), seed=6, span_s=60))
    summary, comp = drift.update(settings, HOURLY_DAILY, baselines=fake_baselines({}))
    assert summary["windows"] == 3  # hour 0 (new rows), hour 5 (its comparison moved), day
    again = comp.frame.filter(pl.col("drift_type") == "CONSECUTIVE")
    assert again["count_cmp"].unique().to_list() == [110]


def test_window_predicate_and_granularities():
    assert window_predicate({"1 hour": [T0], "1 day": []}) == (
        "(granularity = '1 hour' AND window_start IN ('2026-03-01T00:00:00.000000Z'))"
    )
    assert window_predicate({}) is None
    g = Granularity.parse("30 minutes")
    assert (g.name, g.every, g.length) == ("30 minutes", "30m", timedelta(minutes=30))
    assert Granularity.parse("1 day").every == "1d"
    with pytest.raises(MonitoringConfigError, match="'hourly' is not"):
        Granularity.parse("hourly")
    with pytest.raises(MonitoringConfigError, match="repeat"):
        parse_granularities(["1 hour", "1 hours"])


def test_a_window_whose_rows_were_deleted_loses_its_rows(home):
    settings = get_settings()
    append_inference(inference_rows(100, hour(0), span_s=2 * 3600, seed=7))
    profile.update(settings, HOURLY_DAILY)
    DeltaTable(str(inference_store().path)).delete("timestamp >= '2026-03-01T01:00:00Z'")
    profile.update(settings, HOURLY_DAILY)
    hours = profile_store(settings).read().filter(pl.col("granularity") == "1 hour")
    assert hours["window_start"].unique().to_list() == [hour(0)]
