"""The online store on SQLite: full and incremental publishes, lookups, a crash mid-publish, and
the in-sync check."""

import os
import subprocess
import sys
from datetime import datetime

import dagster as dg
import pytest
from customer_churn.feature_assets import history_store, silver_store
from customer_churn.history import series_spec
from customer_churn.online_assets import online_store_in_sync
from customer_churn.tables import ONLINE_CUSTOMER_ML_FEATURES

from mlplatform.feature_store.online import OnlineStore, OnlineStoreError
from mlplatform.feature_store.publish import latest_rows, publish_latest
from mlplatform.feature_store.timeseries import refresh_series
from mlplatform.lakehouse.resource import LakehouseResource
from mlplatform.settings import get_settings
from tests.feature_store_data import append_silver, events

ONLINE_TABLE = ONLINE_CUSTOMER_ML_FEATURES.name

FIRST = events(
    ("a", "purchase", 10.0, "2026-10-01T10:00:00"),
    ("a", "login", 30.0, "2026-10-03T05:00:00"),
    ("b", "page_view", 4.0, "2026-10-02T09:00:00"),
)
SECOND = events(
    ("b", "purchase", 6.0, "2026-10-04T09:00:00"),
    ("c", "login", 1.0, "2026-10-04T10:00:00"),
)


@pytest.fixture
def settings(tmp_path, monkeypatch):
    monkeypatch.setenv("MLPLATFORM_HOME", str(tmp_path))
    monkeypatch.delenv("MLPLATFORM_ONLINE_STORE_URI", raising=False)
    return get_settings()


def refresh(settings):
    stores = history_store(settings), silver_store(settings)
    return refresh_series(*stores, series_spec("1 day"), checkpoints=settings.checkpoints)


def publish(settings):
    store = OnlineStore.from_settings(settings)
    return publish_latest(
        store, ONLINE_TABLE, history_store(settings), "customer_id", "feature_timestamp"
    )


def online_rows(settings) -> dict:
    return OnlineStore.from_settings(settings).lookup(
        ONLINE_TABLE, "customer_id", ["a", "b", "c", "zz"]
    )


def test_publishes_the_latest_row_per_key_then_only_changed_keys(settings):
    assert publish(settings).mode == "no_source"
    append_silver(settings, FIRST)
    refresh(settings)
    first = publish(settings)
    assert (first.mode, first.keys_published, first.offline_version) == ("full", 2, 0)
    assert (settings.home / "online" / "features.db").exists()
    rows = online_rows(settings)
    assert sorted(rows) == ["a", "b"]
    assert rows["a"]["total_events"] == 2 and rows["a"]["total_spend"] == 40.0
    assert rows["a"]["last_event_at"] == datetime(2026, 10, 3, 5)
    assert rows["a"]["feature_timestamp"] == datetime(2026, 10, 4)
    assert publish(settings).mode == "nothing_new"
    append_silver(settings, SECOND)
    refresh(settings)
    second = publish(settings)
    assert (second.mode, second.keys_published, second.published_before) == ("incremental", 2, 0)
    rows = online_rows(settings)
    assert sorted(rows) == ["a", "b", "c"] and rows["b"]["total_events"] == 2
    expected = latest_rows(history_store(settings).scan(), "customer_id", "feature_timestamp")
    assert {r["customer_id"]: r["total_spend"] for r in expected.to_dicts()} == {
        k: v["total_spend"] for k, v in rows.items()
    }
    assert OnlineStore.from_settings(settings).published_version(ONLINE_TABLE) == 1


def test_a_crash_inside_the_publish_transaction_loses_and_repeats_nothing(settings):
    append_silver(settings, FIRST)
    refresh(settings)
    publish(settings)
    append_silver(settings, SECOND)
    refresh(settings)
    code = (
        "from tests.unit.test_online_store import publish; "
        "from mlplatform.settings import get_settings; publish(get_settings())"
    )
    env = os.environ | {"MLPLATFORM_FAILPOINT": f"online_publish_before_commit:{ONLINE_TABLE}"}
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=os.getcwd(), timeout=120)
    assert done.returncode == -9  # killed between the rows and the version, before the commit
    store = OnlineStore.from_settings(settings)
    assert store.published_version(ONLINE_TABLE) == 0
    assert sorted(online_rows(settings)) == ["a", "b"]  # the rows rolled back with the version
    again = publish(settings)
    assert (again.mode, again.keys_published, again.published_before) == ("incremental", 2, 0)
    assert sorted(online_rows(settings)) == ["a", "b", "c"]
    assert publish(settings).mode == "nothing_new"


def test_in_sync_check_is_an_error_with_the_lag_when_behind(settings):
    append_silver(settings, FIRST)
    refresh(settings)
    publish(settings)
    assert online_store_in_sync(lakehouse=LakehouseResource()).passed
    append_silver(settings, SECOND)
    refresh(settings)
    result = online_store_in_sync(lakehouse=LakehouseResource())
    assert not result.passed and result.severity == dg.AssetCheckSeverity.ERROR
    assert result.metadata["lag_versions"].value == 1
    publish(settings)
    assert online_store_in_sync(lakehouse=LakehouseResource()).passed


def test_a_full_history_refresh_republishes_everything_and_drops_vanished_keys(settings):
    append_silver(settings, FIRST)
    refresh(settings)
    publish(settings)
    store = silver_store(settings)
    store.write(FIRST.head(2), store.committed_batch() + 1, mode="overwrite")
    refresh(settings)
    run = publish(settings)
    assert run.mode == "full" and "full recomputation" in run.reasons[0]
    assert sorted(online_rows(settings)) == ["a"]


def test_an_unsupported_uri_is_refused_by_name():
    with pytest.raises(OnlineStoreError, match="MLPLATFORM_ONLINE_STORE_URI='mysql://x'"):
        OnlineStore("mysql://x")


def test_row_count_of_an_online_table(settings):
    store = OnlineStore.from_settings(settings)
    assert store.row_count(ONLINE_TABLE) is None  # never published
    append_silver(settings, FIRST)
    refresh(settings)
    publish(settings)
    assert store.row_count(ONLINE_TABLE) == 2
    append_silver(settings, SECOND)
    refresh(settings)
    publish(settings)
    assert store.row_count(ONLINE_TABLE) == 3
