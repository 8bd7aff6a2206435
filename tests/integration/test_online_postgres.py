"""The online store on the real PostgreSQL server: publish, incremental publish, batched lookup,
and a publish killed inside its transaction (own role and database, dropped after)."""

import os
import secrets
import subprocess
import sys
import uuid
from datetime import datetime

import pytest
from customer_churn.tables import ONLINE_CUSTOMER_ML_FEATURES

from mlplatform.feature_store.online import OnlineStore
from mlplatform.settings import get_settings
from tests.feature_store_data import append_silver
from tests.integration._services import ROOT, PgAdmin, require
from tests.unit.test_online_store import FIRST, SECOND, publish, refresh

ONLINE_TABLE = ONLINE_CUSTOMER_ML_FEATURES.name

pytestmark = pytest.mark.integration


@pytest.fixture
def pg_uri(tmp_path, monkeypatch):
    admin = PgAdmin()
    ok, reason = admin.available()
    require(ok, reason)
    name = f"mlp_online_{uuid.uuid4().hex[:10]}"
    password = secrets.token_hex(16)
    admin.execute(
        f"CREATE ROLE {name} LOGIN PASSWORD '{password}'", f"CREATE DATABASE {name} OWNER {name}"
    )
    uri = f"postgresql://{name}:{password}@{admin.host}:{admin.port}/{name}"
    monkeypatch.setenv("MLPLATFORM_HOME", str(tmp_path))
    monkeypatch.setenv("MLPLATFORM_ONLINE_STORE_URI", uri)
    try:
        yield uri
    finally:
        admin.execute(
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'",
            f"DROP DATABASE IF EXISTS {name}",
            f"DROP ROLE IF EXISTS {name}",
        )


def test_publish_and_lookup_on_postgres_survive_a_crash(pg_uri):
    settings = get_settings()
    store = OnlineStore.from_settings(settings)
    assert store.dialect == "postgres"
    assert store.lookup(ONLINE_TABLE, "customer_id", ["a"]) == {}  # nothing published yet
    append_silver(settings, FIRST)
    refresh(settings)
    first = publish(settings)
    assert (first.mode, first.keys_published) == ("full", 2)
    rows = store.lookup(ONLINE_TABLE, "customer_id", ["a", "b", "nope"])
    assert sorted(rows) == ["a", "b"]
    assert rows["a"]["last_event_at"] == datetime(2026, 10, 3, 5)
    assert rows["a"]["total_events"] == 2 and rows["b"]["avg_amount"] == 4.0
    append_silver(settings, SECOND)
    refresh(settings)
    code = (
        "from tests.unit.test_online_store import publish; "
        "from mlplatform.settings import get_settings; publish(get_settings())"
    )
    env = os.environ | {"MLPLATFORM_FAILPOINT": f"online_publish_before_commit:{ONLINE_TABLE}"}
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, timeout=120)
    assert done.returncode == -9
    assert store.published_version(ONLINE_TABLE) == 0
    assert sorted(store.lookup(ONLINE_TABLE, "customer_id", ["a", "b", "c"])) == ["a", "b"]
    again = publish(settings)
    assert (again.mode, again.keys_published) == ("incremental", 2)
    rows = store.lookup(ONLINE_TABLE, "customer_id", ["a", "b", "c"])
    assert sorted(rows) == ["a", "b", "c"] and rows["b"]["total_events"] == 2
    assert store.published_version(ONLINE_TABLE) == 1
    password = pg_uri.split(":")[2].split("@")[0]
    assert password not in store.location and store.location.startswith("postgresql://127.")
    store.close()
