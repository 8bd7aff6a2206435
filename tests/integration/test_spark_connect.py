"""The Spark engine over Spark Connect: a real server from pyspark's ``spark-submit`` (its
``SparkConnectServer`` class, what ``start-connect-server.sh`` runs),
the platform as its client (``MLPLATFORM_SPARK_REMOTE``), executors whose Python lacks
mlplatform. The medallion pipeline twice, a client killed before its commit, the DLT example and
``apply_changes``, all equal to the polars engine on the same landing files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import polars as pl
import pytest
from customer_churn.demo_data import BadShares, generate
from deltalake import DeltaTable
from polars.testing import assert_frame_equal

from tests.integration._cli import BIN, materialize, run
from tests.integration._spark_services import (
    MEDALLION,
    assert_same_tables,
    homes_sharing_landing,
    run_on_polars,
    start_connect_server,
    stop_all,
)

pytestmark = pytest.mark.integration
SELECT = ",".join(MEDALLION)
SHARES = BadShares(malformed=0.01, unknown_field=0.01, blank_lines=0.01)


@pytest.fixture(scope="module")
def remote(tmp_path_factory):
    """One Spark Connect server (local[2] behind it) for the module."""
    folder = tmp_path_factory.mktemp("connect")
    proc, url = start_connect_server(folder)
    yield url
    stop_all([proc])


def on_connect(url: str, **extra: str) -> dict[str, str]:
    return {"MLPLATFORM_ENGINE": "spark", "MLPLATFORM_SPARK_REMOTE": url, **extra}


def test_medallion_twice_over_connect_equals_polars(tmp_path, monkeypatch, remote):
    homes = homes_sharing_landing(tmp_path, ("polars", "spark"))
    shared = tmp_path / "shared"
    generate(shared, customers=120, events=2400, files=2, seed=3, shares=SHARES)
    # both set: the remote wins, and the run says so
    first = materialize(homes["spark"], SELECT, **on_connect(remote, MLPLATFORM_SPARK_MASTER="x"))
    assert f"Spark Connect at {remote} (master x ignored)" in first.stdout + first.stderr
    run_on_polars(homes["polars"], monkeypatch)
    counts = assert_same_tables(homes["polars"], homes["spark"])
    assert counts["bronze/raw_customer_events"] == 2400  # malformed lines are rescued rows

    generate(shared, customers=120, events=600, files=1, seed=4, shares=SHARES, labels=False)
    materialize(homes["spark"], SELECT, **on_connect(remote))
    run_on_polars(homes["polars"], monkeypatch)
    again = assert_same_tables(homes["polars"], homes["spark"])
    assert again["bronze/raw_customer_events"] == 3000
    bronze = DeltaTable(str(homes["spark"] / "lakehouse" / "bronze" / "raw_customer_events"))
    assert bronze.version() == 1  # two appends: the second run read only the new file
    assert bronze.transaction_version("bronze/raw_customer_events") == 2


def test_client_killed_between_executor_writes_and_commit(tmp_path, monkeypatch, remote):
    homes = homes_sharing_landing(tmp_path, ("polars", "spark"))
    generate(tmp_path / "shared", customers=60, events=900, files=2, seed=5, labels=False)
    key = "silver/cleaned_customer_events"
    crashed = materialize(
        homes["spark"],
        "bronze/raw_customer_events,silver/cleaned_customer_events",
        check=False,
        **on_connect(remote, MLPLATFORM_FAILPOINT=f"between_files_and_commit:{key}"),
    )
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-3000:]
    silver = homes["spark"] / "lakehouse" / key
    assert list(silver.glob("spark-b1-*/*.parquet"))  # the executors wrote files ...
    assert not (silver / "_delta_log").exists()  # ... that the dead client never committed
    materialize(
        homes["spark"], f"bronze/raw_customer_events,{key},{key}_quarantine", **on_connect(remote)
    )
    run_on_polars(homes["polars"], monkeypatch)
    for table in ("bronze/raw_customer_events", key, f"{key}_quarantine"):
        a = pl.read_delta(str(homes["polars"] / "lakehouse" / table)).drop(
            "_ingested_at", "_quarantined_at", strict=False
        )
        b = pl.read_delta(str(homes["spark"] / "lakehouse" / table)).drop(
            "_ingested_at", "_quarantined_at", strict=False
        )
        assert_frame_equal(a.sort(a.columns), b.sort(a.columns))
    table = DeltaTable(str(silver))
    assert table.transaction_version(key) == 1  # the redone batch, committed once
    assert len(pl.read_delta(str(silver))) == len(
        pl.read_delta(str(homes["polars"] / "lakehouse" / key))
    )


def test_dlt_example_over_connect_equals_the_native_tables(tmp_path, monkeypatch, remote):
    home = tmp_path / "home"
    generate(home, customers=100, events=1500, files=2, seed=6)
    run(
        [str(BIN / "dagster"), "asset", "materialize", "-f", "examples/customer_events_dlt.py"]
        + ["--select", "*"],
        home,
        **on_connect(remote),
    )
    run_on_polars(home, monkeypatch)
    gold = ["customer_id", "total_events", "avg_amount", "event_count"]
    pairs = [
        ("bronze/raw_customer_events", "raw_customer_events", None),
        ("silver/cleaned_customer_events", "cleaned_customer_events", None),
        ("gold/customer_ml_features", "customer_ml_features", gold),
    ]
    for native_key, name, cols in pairs:
        native = pl.read_delta(str(home / "lakehouse" / native_key))
        ported = pl.read_delta(str(home / "lakehouse" / "customer_events_dlt" / name))
        cols = cols or [c for c in native.columns if c != "_ingested_at"]
        assert len(native) > 0
        assert_frame_equal(native.select(cols).sort(cols), ported.select(cols).sort(cols))


CRM = """
from pyspark.sql.functions import col
from mlplatform import dlt

@dlt.table
def raw_changes():
    return (spark.readStream.format("cloudFiles").option("cloudFiles.format", "json")
            .option("cloudFiles.schemaHints", "id STRING, name STRING, op STRING, ts STRING")
            .load("landing/crm"))

@dlt.table
def changes():
    return dlt.read_stream("raw_changes").select(
        col("id").cast("int").alias("id"), "name", "op", col("ts").cast("int").alias("ts"))

dlt.create_streaming_table("customers")
dlt.apply_changes(target="customers", source="changes", keys=["id"], sequence_by="ts",
                  apply_as_deletes="op = 'DELETE'", except_column_list=["op"],
                  stored_as_scd_type=1)
"""


def test_apply_changes_over_connect(tmp_path, remote):
    home = tmp_path / "home"
    landing = home / "landing" / "crm"
    landing.mkdir(parents=True)
    keys = ("id", "name", "op", "ts")
    events = [
        (1, "a", "INSERT", 1),
        (2, "b", "INSERT", 1),
        (3, "c", "INSERT", 1),
        (1, "a2", "UPDATE", 3),
        (1, "a1", "UPDATE", 2),  # out of order: older than a2
        (2, None, "DELETE", 4),
    ]
    (landing / "b1.json").write_text(
        "\n".join(json.dumps(dict(zip(keys, e, strict=True))) for e in events)
    )
    spec = tmp_path / "crm.py"
    spec.write_text(CRM)
    run(
        [str(BIN / "dagster"), "asset", "materialize", "-f", str(spec), "--select", "*"],
        home,
        **on_connect(remote),
    )
    target = pl.read_delta(str(home / "lakehouse" / "crm" / "customers"))
    assert target.sort("id").rows() == [(1, "a2", 3), (3, "c", 1)]
    changes = pl.read_delta(str(home / "lakehouse" / "crm" / "changes"))
    assert len(changes) == 6 and changes.schema["id"] == pl.Int32


def test_object_store_settings_over_connect(remote):
    """Over Connect the S3A settings are runtime settings (the server accepts them), and a server
    without hadoop-aws gets the clear error instead of a Hadoop stack trace. (In a process of
    its own: a remote session cannot start beside the suite's classic one.)"""
    code = textwrap.dedent(
        f"""
        from mlplatform.lakehouse.engines.spark_session import session_from_config
        from mlplatform.lakehouse.engines.spark_storage import SparkStorageError, check_reachable

        session = session_from_config({{"spark.remote": {remote!r}}})
        try:
            print(session.conf.get("fs.s3a.endpoint"))
            print(session.conf.get("fs.s3a.path.style.access"))
            print(session.conf.get("fs.s3a.connection.ssl.enabled"))
            try:
                check_reachable(session, "s3://bucket/lakehouse/bronze/t", session.session_id)
            except SparkStorageError as err:
                print("SparkStorageError:", err)
        finally:
            session.stop()
        """
    )
    options = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ALLOW_HTTP": "true"}
    env = {
        **os.environ,
        "MLPLATFORM_LAKEHOUSE": "s3://bucket/lakehouse",
        "MLPLATFORM_STORAGE_OPTIONS": json.dumps(options),
    }
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert lines[:3] == ["http://127.0.0.1:9", "true", "false"]
    assert "S3AFileSystem is not on its class path" in lines[3], done.stdout
