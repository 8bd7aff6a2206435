"""DLT code on mlplatform: the seed's example unchanged, the expectation behaviours people are
examined on, polars-returning functions, and apply_changes, on the Spark engine."""

from __future__ import annotations

import json
import os
import runpy
import textwrap

import dagster as dg
import polars as pl
import pytest
from customer_churn.assets import TABLES
from customer_churn.demo_data import generate
from dagster_pyspark import PySparkResource
from polars.testing import assert_frame_equal

from mlplatform.dlt.pipeline import DEFS_NAME
from mlplatform.lakehouse.engines.spark_session import spark_config
from mlplatform.lakehouse.resource import LakehouseResource
from mlplatform.lakehouse.update.runner import TableRunner
from mlplatform.settings import get_settings
from tests.integration._cli import BIN, run

pytestmark = pytest.mark.integration

BEHAVIOURS = """
import os
from mlplatform import dlt

ROWS = [(1, 10.0), (2, -5.0), (None, 3.0)]

@dlt.table
def source():
    rows = ROWS[:1] if os.environ.get("GOOD_ONLY") else ROWS
    return spark.createDataFrame(rows, "id INT, amount DOUBLE")

@dlt.table
@dlt.expect("positive", "amount > 0")
def warned():
    return dlt.read("source")

@dlt.table
@dlt.expect_or_drop("positive", "amount > 0")
def dropped():
    return dlt.read("source")

@dlt.table
@dlt.expect_or_fail("positive", "amount > 0")
def failed():
    return dlt.read("source")

@dlt.table
@dlt.expect_all({"positive": "amount > 0", "has_id": "id IS NOT NULL"})
def warned_all():
    return dlt.read("source")

@dlt.table
@dlt.expect_all_or_drop({"positive": "amount > 0", "has_id": "id IS NOT NULL"})
def dropped_all():
    return dlt.read("source")

@dlt.table
def from_polars():
    import polars as pl
    return pl.DataFrame({"x": [1, 2, 3]})
"""


def load(tmp_path, text, name):
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(text))
    return runpy.run_path(str(path))[DEFS_NAME]


def materialize(defs, select=None):
    assets = list(defs.assets)
    return dg.materialize(
        assets,
        selection=select,
        resources={
            "lakehouse": LakehouseResource(),
            "pyspark": PySparkResource(spark_config=spark_config()),
        },
        raise_on_error=False,
    )


def checks(result, node):
    return {
        e.asset_check_evaluation_data.check_name: (
            e.asset_check_evaluation_data.passed,
            e.asset_check_evaluation_data.metadata["passed_records"].value,
            e.asset_check_evaluation_data.metadata["failed_records"].value,
        )
        for e in result.get_step_success_events() + result.all_node_events
        if e.step_key == node and e.event_type_value == "ASSET_CHECK_EVALUATION"
    }


def rows(home, name):
    return pl.read_delta(str(home / "lakehouse" / "behaviours" / name))


def test_the_expectation_behaviours(home, spark, tmp_path, monkeypatch):
    monkeypatch.delenv("MLPLATFORM_ENGINE", raising=False)
    defs = load(tmp_path, BEHAVIOURS, "behaviours")
    monkeypatch.setenv("GOOD_ONLY", "1")
    assert materialize(defs).success
    failed_before = len(rows(home, "failed"))
    monkeypatch.delenv("GOOD_ONLY")
    result = materialize(defs)
    assert not result.success  # expect_or_fail failed the update ...

    # expect keeps invalid rows and records them
    assert len(rows(home, "warned")) == 3
    assert checks(result, "behaviours__warned") == {"positive": (False, 2, 1)}
    # expect_or_drop drops them without failing the update
    assert sorted(rows(home, "dropped")["amount"].to_list()) == [3.0, 10.0]
    # (the drop was applied; the check warns because a third of the rows failed, above 5%)
    assert checks(result, "behaviours__dropped") == {"positive": (False, 2, 1)}
    # expect_or_fail fails the update and leaves the table unchanged
    assert len(rows(home, "failed")) == failed_before == 1
    failure = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert [e.step_key for e in failure] == ["behaviours__failed"]
    assert "expectation 'positive' (amount > 0) failed on 1 of 3 rows" in str(
        failure[0].event_specific_data.error
    )
    # expect_all is warn-only for several rules
    assert len(rows(home, "warned_all")) == 3
    assert checks(result, "behaviours__warned_all") == {
        "positive": (False, 2, 1),
        "has_id": (False, 2, 1),
    }
    # expect_all_or_drop drops a row failing any of them
    assert rows(home, "dropped_all").rows() == [(1, 10.0)]
    # a function returning a polars frame runs on the polars engine
    assert rows(home, "from_polars")["x"].to_list() == [1, 2, 3]


def test_polars_engine_gives_polars_frames(home, tmp_path, monkeypatch):
    monkeypatch.setenv("MLPLATFORM_ENGINE", "polars")
    defs = load(
        tmp_path,
        """
    import polars as pl
    from mlplatform import dlt

    @dlt.table
    def numbers():
        return pl.DataFrame({"n": [1, 2, 3, 4]})

    @dlt.table
    @dlt.expect_or_drop("even", "n % 2 = 0")
    def evens():
        frame = dlt.read("numbers")
        assert isinstance(frame, pl.LazyFrame)
        return frame.with_columns(double=pl.col("n") * 2)
    """,
        "polarsflow",
    )
    assert materialize(defs).success
    frame = pl.read_delta(str(home / "lakehouse" / "polarsflow" / "evens"))
    assert sorted(frame.rows()) == [(2, 4), (4, 8)]


def test_apply_changes_from_a_dlt_pipeline(home, spark, tmp_path, monkeypatch):
    monkeypatch.delenv("MLPLATFORM_ENGINE", raising=False)
    defs = load(
        tmp_path,
        """
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
    """,
        "crm",
    )
    landing = home / "landing" / "crm"
    landing.mkdir(parents=True)

    def land(name, events):
        keys = ("id", "name", "op", "ts")
        (landing / name).write_text(
            "\n".join(json.dumps(dict(zip(keys, e, strict=True))) for e in events)
        )

    land("b1.json", [(1, "a", "INSERT", 1), (2, "b", "INSERT", 1), (1, "a2", "UPDATE", 3)])
    assert materialize(defs).success
    target = str(home / "lakehouse" / "crm" / "customers")
    assert pl.read_delta(target).sort("id").rows() == [(1, "a2", 3), (2, "b", 1)]
    land("b2.json", [(1, "a1", "UPDATE", 2), (2, None, "DELETE", 4)])  # out of order, a delete
    assert materialize(defs).success
    assert pl.read_delta(target).sort("id").rows() == [(1, "a2", 3)]


def test_seed_example_runs_unchanged_and_equals_the_native_tables(tmp_path, monkeypatch):
    home = tmp_path / "home"
    generate(home, customers=150, events=3000, files=2, seed=4)
    env = {"SPARK_LOCAL_IP": "127.0.0.1"}
    run(
        [
            str(BIN / "dagster"),
            "asset",
            "materialize",
            "-f",
            "examples/customer_events_dlt.py",
            "--select",
            "*",
        ],
        home,
        **env,
    )
    monkeypatch.setenv("MLPLATFORM_HOME", str(home))
    for table in TABLES:
        TableRunner(table, get_settings()).run()
    pairs = [
        ("bronze/raw_customer_events", "raw_customer_events", None),
        ("silver/cleaned_customer_events", "cleaned_customer_events", None),
        (
            "gold/customer_ml_features",
            "customer_ml_features",
            ["customer_id", "total_events", "avg_amount", "event_count"],
        ),
    ]
    for native_key, name, cols in pairs:
        native = pl.read_delta(str(home / "lakehouse" / native_key))
        ported = pl.read_delta(str(home / "lakehouse" / "customer_events_dlt" / name))
        cols = cols or [c for c in native.columns if c != "_ingested_at"]
        assert len(native) > 0
        assert_frame_equal(native.select(cols).sort(cols), ported.select(cols).sort(cols))
    assert os.path.exists(home / "lakehouse" / "bronze")  # the native tables are untouched
