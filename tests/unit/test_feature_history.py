"""gold/customer_ml_features_history: hand-computed rows, incremental refresh equals full."""

from datetime import datetime

import polars as pl
import pytest
from customer_churn.feature_assets import history_store, silver_store
from customer_churn.history import CUSTOMER_FEATURES_HISTORY, series_spec
from polars.testing import assert_frame_equal

from mlplatform.feature_store.table import get_feature_table
from mlplatform.feature_store.timeseries import BATCH_COLUMN, refresh_series
from mlplatform.lakehouse.delta import DeltaStore
from mlplatform.settings import get_settings
from tests.feature_store_data import append_silver, events, history

DAY = series_spec("1 day")
FIRST = events(
    ("a", "purchase", 10.0, "2026-10-01T10:00:00"),
    ("a", "page_view", 20.0, "2026-10-01T23:59:59"),
    ("a", "login", 30.0, "2026-10-03T05:00:00"),
    ("b", "support_ticket", 5.0, "2026-10-02T00:00:00"),
)
LATER = events(
    ("a", "purchase", 40.0, "2026-09-30T12:00:00"),  # late: before every row of a
    ("c", "login", 7.0, "2026-10-04T08:00:00"),
    ("b", "login", 1.0, "2026-10-05T01:00:00"),
)


@pytest.fixture
def settings(tmp_path, monkeypatch):
    monkeypatch.setenv("MLPLATFORM_HOME", str(tmp_path))
    return get_settings()


def refresh(settings, spec=DAY, full=False):
    stores = history_store(settings), silver_store(settings)
    return refresh_series(*stores, spec, full, checkpoints=settings.checkpoints)


def test_the_declaration_is_registered_with_its_keys_and_documented_features():
    table = get_feature_table("gold/customer_ml_features_history")
    assert table is CUSTOMER_FEATURES_HISTORY
    assert table.primary_keys == ("customer_id", "feature_timestamp")
    assert table.lookup_keys == ("customer_id",)
    schema = table.column_schema()
    names = [c.name for c in schema.columns]
    assert names[:3] == ["customer_id", "feature_timestamp", "total_events"]
    assert all("owner: ml-platform" in c.description for c in schema.columns[2:])
    with pytest.raises(KeyError, match="not a declared feature table"):
        get_feature_table("gold/nope")


def test_rows_match_a_hand_computed_oracle(settings):
    append_silver(settings, FIRST)
    run = refresh(settings)
    assert run.mode == "full" and run.rows == 3
    rows = history(settings).drop(BATCH_COLUMN).to_dicts()
    a1, a2, b1 = rows
    assert a1["customer_id"] == "a" and a1["feature_timestamp"] == datetime(2026, 10, 2)
    assert (a1["total_events"], a1["avg_amount"], a1["total_spend"]) == (2, 15.0, 30.0)
    assert (a1["purchase_count"], a1["share_purchase"], a1["share_page_view"]) == (1, 0.5, 0.5)
    assert a1["last_event_at"] == datetime(2026, 10, 1, 23, 59, 59)
    assert a2["feature_timestamp"] == datetime(2026, 10, 4)
    assert (a2["total_events"], a2["avg_amount"], a2["share_login"]) == (3, 20.0, 1 / 3)
    assert a2["first_event_at"] == datetime(2026, 10, 1, 10)
    assert a2["last_event_at"] == datetime(2026, 10, 3, 5)
    # an event at midnight belongs to the day it starts
    assert b1["feature_timestamp"] == datetime(2026, 10, 3)
    assert b1["share_support_ticket"] == 1.0


def test_incremental_refresh_with_a_late_event_equals_a_full_recomputation(settings, tmp_path):
    append_silver(settings, FIRST)
    first = refresh(settings)
    before = history(settings)
    append_silver(settings, LATER)
    run = refresh(settings)
    assert run.mode == "incremental"
    assert (run.source_start_exclusive, run.source_end) == (0, 1)
    assert run.source_rows_read == 3 and run.keys_changed == 3
    # a: the late day-1 row plus both later rows restated; b: only the new day; c: new
    assert run.rows_restated == 3 + 1 + 1
    after = history(settings)
    full = refresh_series(
        DeltaStore(tmp_path / "full", "full"),
        silver_store(settings),
        DAY,
        full_refresh=True,
        checkpoints=settings.checkpoints,
    )
    assert full.rows == after.height == 6
    recomputed = (
        DeltaStore(tmp_path / "full", "full").read().sort("customer_id", "feature_timestamp")
    )
    assert_frame_equal(after.drop(BATCH_COLUMN), recomputed.drop(BATCH_COLUMN))
    # b's first row was not touched: it keeps the batch that computed it
    b_first = after.filter(
        (pl.col("customer_id") == "b") & (pl.col("feature_timestamp") == datetime(2026, 10, 3))
    )
    assert b_first[BATCH_COLUMN].item() == first.batch_id
    assert before.filter(pl.col("customer_id") == "a")["total_events"].to_list() == [2, 3]
    assert after.filter(pl.col("customer_id") == "a")["total_events"].to_list() == [1, 3, 4]


def test_nothing_new_commits_nothing_and_a_crash_before_commit_redoes_the_batch(settings):
    append_silver(settings, FIRST)
    first = refresh(settings)
    again = refresh(settings)
    assert again.mode == "nothing_new" and again.version == first.version
    assert history_store(settings).committed_batch() == first.batch_id == 1


def test_granularity_change_recomputes_and_hourly_rows_end_at_the_next_hour(settings):
    append_silver(settings, FIRST)
    refresh(settings)
    run = refresh(settings, series_spec("1 hour"))
    assert run.mode == "full" and "settings changed" in run.reasons[0]
    rows = history(settings).filter(pl.col("customer_id") == "a")
    assert rows["feature_timestamp"].to_list() == [
        datetime(2026, 10, 1, 11),
        datetime(2026, 10, 2, 0),
        datetime(2026, 10, 3, 6),
    ]
    with pytest.raises(ValueError, match="granularity '1 week' is not supported"):
        series_spec("1 week")


def test_a_rewritten_source_is_recomputed_in_full(settings):
    append_silver(settings, FIRST)
    refresh(settings)
    store = silver_store(settings)
    store.write(FIRST.head(2), store.committed_batch() + 1, mode="overwrite")
    run = refresh(settings)
    assert run.mode == "full" and "rewritten" in run.reasons[0]
    assert history(settings)["customer_id"].to_list() == ["a"]
