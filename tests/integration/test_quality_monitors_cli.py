"""`mlplatform quality-monitors create | get | run-refresh | delete` in subprocesses."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import polars as pl
import pytest
from databricks.sdk.service import catalog

from mlplatform.lakehouse.delta import DeltaStore
from tests.integration._cli import mlplatform

pytestmark = pytest.mark.integration

FIELDS = {
    "output_schema_name": "main.monitoring",
    "assets_dir": "/Workspace/monitors",
    "time_series": {"timestamp_col": "ts", "granularities": ["1 day"]},
    "slicing_exprs": ["region"],
    "schedule": {"quartz_cron_expression": "0 0 6 * * ?", "timezone_id": "UTC"},
}


def test_create_get_refresh_delete(tmp_path):
    home = tmp_path / "home"
    at = datetime(2026, 3, 1, 5, tzinfo=UTC)
    rows = pl.DataFrame({"ts": [at, at, at], "qty": [1.0, 2.0, 6.0], "region": ["n", "s", "n"]})
    DeltaStore(home / "lakehouse" / "main" / "sales" / "orders", "orders").write(rows, 1)
    spec = tmp_path / "monitor.json"
    spec.write_text(json.dumps(FIELDS))

    missing = mlplatform(home, "quality-monitors", "get", "main.sales.orders", check=False)
    assert missing.returncode == 1
    assert "Monitor for table 'main.sales.orders' does not exist." in missing.stderr

    created = mlplatform(
        home, "quality-monitors", "create", "main.sales.orders", "--json", f"@{spec}"
    )
    info = json.loads(created.stdout)
    assert info["table_name"] == "main.sales.orders"
    assert info["profile_metrics_table_name"] == "main.monitoring.orders_profile_metrics"
    assert info["drift_metrics_table_name"] == "main.monitoring.orders_drift_metrics"
    assert info["status"] == "MONITOR_STATUS_ACTIVE"
    again = mlplatform(
        home, "quality-monitors", "create", "main.sales.orders", "--json", f"@{spec}", check=False
    )
    assert again.returncode == 1 and "already exists" in again.stderr

    got = json.loads(mlplatform(home, "quality-monitors", "get", "main.sales.orders").stdout)
    assert got == info
    # the Databricks SDK's own types read what the verbs print
    parsed = catalog.MonitorInfo.from_dict(got)
    assert parsed.status == catalog.MonitorInfoStatus.MONITOR_STATUS_ACTIVE
    assert parsed.time_series.granularities == ["1 day"]
    assert parsed.schedule.quartz_cron_expression == "0 0 6 * * ?"

    refreshed = json.loads(
        mlplatform(home, "quality-monitors", "run-refresh", "main.sales.orders").stdout
    )
    assert refreshed["state"] == "SUCCESS" and refreshed["refresh_id"] == 1
    parsed = catalog.MonitorRefreshInfo.from_dict(refreshed)
    assert parsed.trigger == catalog.MonitorRefreshInfoTrigger.MANUAL
    assert refreshed["end_time_ms"] >= refreshed["start_time_ms"]
    profile_path = home / "lakehouse" / "main" / "monitoring" / "orders_profile_metrics"
    profile = pl.read_delta(str(profile_path))
    table = profile.filter((pl.col("column_name") == ":table") & pl.col("slice_key").is_null())
    assert table["count"].to_list() == [3]
    qty = profile.filter((pl.col("column_name") == "qty") & (pl.col("slice_value") == "n"))
    assert qty["avg"].to_list() == [3.5]

    mlplatform(home, "quality-monitors", "delete", "main.sales.orders")
    gone = mlplatform(home, "quality-monitors", "run-refresh", "main.sales.orders", check=False)
    assert gone.returncode == 1 and "does not exist" in gone.stderr
    assert profile_path.is_dir()  # delete keeps the metric tables


def test_create_refuses_bad_json_and_missing_tables(tmp_path):
    home = tmp_path / "home"
    bad = mlplatform(
        home, "quality-monitors", "create", "sales.orders", "--json", "{oops", check=False
    )
    assert bad.returncode == 2 and "Invalid value for --json: not JSON (line 1" in bad.stderr
    absent = mlplatform(
        home,
        "quality-monitors",
        "create",
        "sales.orders",
        "--json",
        json.dumps(FIELDS),
        check=False,
    )
    assert absent.returncode == 1
    assert "Table 'sales.orders' does not exist." in absent.stderr
    wrong = mlplatform(
        home,
        "quality-monitors",
        "create",
        "sales.orders",
        "--json",
        json.dumps(FIELDS | {"time_series": {"timestamp_col": "ts"}}),
        check=False,
    )
    assert "time_series.granularities: must be a non-empty list" in wrong.stderr
