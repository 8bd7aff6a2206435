"""`from mlplatform import pipelines as dp`: Databricks' documentation examples on Spark, with the
tables they document, and the event log their updates write."""

from __future__ import annotations

import json
import runpy
import textwrap

import dagster as dg
import polars as pl
import pytest
from dagster_pyspark import PySparkResource

from mlplatform.dlt.columns import load_time_columns
from mlplatform.dlt.pipeline import DEFS_NAME
from mlplatform.lakehouse.delta import DeltaStore
from mlplatform.lakehouse.engines.spark_session import spark_config
from mlplatform.lakehouse.resource import LakehouseResource

pytestmark = pytest.mark.integration


def load(tmp_path, text, name):
    """Load a pipeline file as a fresh process does: with no Spark session running, columns
    built at load are Spark Connect expressions (this test process has a session)."""
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(text))
    with load_time_columns():
        return runpy.run_path(str(path))


def materialize(defs, select=None):
    return dg.materialize(
        [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)],
        selection=select,
        resources={
            "lakehouse": LakehouseResource(),
            "pyspark": PySparkResource(spark_config=spark_config()),
        },
        raise_on_error=False,
    )


def table(home, schema, name, sort=None):
    frame = pl.read_delta(str(home / "lakehouse" / schema / name))
    return frame.sort(sort or frame.columns).rows()


def land(folder, name, rows):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("\n".join(json.dumps(r) for r in rows) + "\n")


MEDALLION = """
from pyspark.sql.functions import col, desc, expr, sum
from mlplatform import pipelines as dp

EVENTS = []

@dp.on_event_hook
def remember(event):
    EVENTS.append(event)

@dp.on_event_hook(max_allowable_consecutive_failures=1)
def broken(event):
    raise RuntimeError("a hook that fails")

@dp.table(comment="Popular baby first names in New York, raw")
def baby_names_raw():
    return (spark.readStream.format("cloudFiles").option("cloudFiles.format", "json")
            .option("cloudFiles.schemaHints", "Year STRING, First_Name STRING, Count STRING")
            .load("landing/baby_names"))

@dp.table(comment="New York popular baby first name data cleaned and prepared for analysis.")
@dp.expect("valid_first_name", "First_Name IS NOT NULL")
@dp.expect_or_drop("valid_count", col("Count") > 0)
def baby_names_prepared():
    return spark.readStream.table("baby_names_raw").select(
        col("Year").cast("int").alias("Year_Of_Birth"),
        col("First_Name"),
        col("Count").cast("int").alias("Count"),
    )

@dp.materialized_view(comment="A table summarizing counts of the top baby names for 2021.")
def top_baby_names_2021():
    return (spark.read.table("baby_names_prepared").filter(expr("Year_Of_Birth == 2021"))
            .groupBy("First_Name").agg(sum("Count").alias("Total_Count"))
            .sort(desc("Total_Count")).limit(2))
"""


def test_medallion_with_expectations_and_its_event_log(home, spark, tmp_path, monkeypatch):
    import duckdb

    monkeypatch.delenv("MLPLATFORM_ENGINE", raising=False)
    module = load(tmp_path, MEDALLION, "babynames")
    rows = [
        {"Year": "2021", "First_Name": "Olivia", "Count": "100"},
        {"Year": "2021", "First_Name": "Liam", "Count": "120"},
        {"Year": "2021", "First_Name": "Emma", "Count": "90"},
        {"Year": "2021", "First_Name": None, "Count": "7"},
        {"Year": "2021", "First_Name": "Noah", "Count": "-1"},
        {"Year": "2020", "First_Name": "Ava", "Count": "300"},
    ]
    land(home / "landing" / "baby_names", "part1.json", rows)
    result = materialize(module[DEFS_NAME])
    assert result.success
    assert table(home, "babynames", "top_baby_names_2021", ["Total_Count"]) == [
        ("Olivia", 100),
        ("Liam", 120),
    ]
    assert len(table(home, "babynames", "baby_names_prepared")) == 5  # Noah's -1 dropped

    checks = {
        e.asset_check_evaluation_data.check_name: {
            k: e.asset_check_evaluation_data.metadata[k].value
            for k in ("passed_records", "failed_records")
        }
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }
    assert checks == {
        "valid_first_name": {"passed_records": 5, "failed_records": 1},
        "valid_count": {"passed_records": 5, "failed_records": 1},
    }

    path = str(home / "lakehouse" / "babynames" / "event_log")
    log = pl.read_delta(path)
    assert set(log.columns) >= {
        "id",
        "sequence",
        "origin",
        "timestamp",
        "message",
        "level",
        "error",
        "details",
        "event_type",
    }
    mine = log.filter(pl.col("origin").struct.field("update_id") == result.run_id)
    assert mine.filter(pl.col("event_type") == "create_update").height == 1
    progress = mine.filter(pl.col("event_type") == "flow_progress")
    assert sorted(progress["origin"].struct.field("flow_name").to_list()) == [
        "baby_names_prepared",
        "baby_names_raw",
        "top_baby_names_2021",
    ]
    prepared = json.loads(
        progress.filter(pl.col("origin").struct.field("flow_name") == "baby_names_prepared")[
            "details"
        ][0]
    )["flow_progress"]
    assert prepared["metrics"]["num_output_rows"] == 5
    assert {
        e["name"]: {"passed_records": e["passed_records"], "failed_records": e["failed_records"]}
        for e in prepared["data_quality"]["expectations"]
    } == checks

    # the README's query: expectations exploded and summed with DuckDB
    query = """
        SELECT e ->> 'name' AS expectation, SUM((e ->> 'passed_records')::INT) AS passed,
               SUM((e ->> 'failed_records')::INT) AS failed
        FROM (SELECT unnest(json_extract(details,
                 '$.flow_progress.data_quality.expectations[*]')) AS e
              FROM log WHERE event_type = 'flow_progress')
        GROUP BY 1 ORDER BY 1"""
    assert duckdb.sql(query).fetchall() == [("valid_count", 5, 1), ("valid_first_name", 5, 1)]

    # the hook saw every event once; the broken one was tried once, then left alone
    seen = [e["event_type"] for e in module["EVENTS"]]
    assert seen.count("create_update") == 1 and seen.count("flow_progress") == 3

    again = materialize(module[DEFS_NAME])  # a new update: a new update id
    log = pl.read_delta(path)
    assert log["origin"].struct.field("update_id").unique().len() == 2
    assert again.run_id != result.run_id


APPEND = """
from mlplatform import pipelines as dp

@dp.table
def orders_eu():
    return (spark.readStream.format("cloudFiles").option("cloudFiles.format", "json")
            .option("cloudFiles.schemaHints", "id STRING, amount STRING").load("landing/eu"))

@dp.table
def orders_us():
    return (spark.readStream.format("cloudFiles").option("cloudFiles.format", "json")
            .option("cloudFiles.schemaHints", "id STRING, amount STRING").load("landing/us"))

dp.create_streaming_table("all_orders")

@dp.append_flow(target="all_orders")
def eu():
    return spark.readStream.table("orders_eu").select("id", "amount")

@dp.append_flow(target="all_orders")
def us():
    return spark.readStream.table("orders_us").select("id", "amount")

dp.create_sink("orders_sink", "delta", {"tableName": "exports.orders"})

@dp.append_flow(target="orders_sink")
def export():
    return spark.readStream.table("all_orders").where("amount > 10")
"""


def test_two_sources_appended_into_one_streaming_table_and_a_sink(home, spark, tmp_path):
    defs = load(tmp_path, APPEND, "shop")[DEFS_NAME]
    land(home / "landing" / "eu", "1.json", [{"id": "e1", "amount": "5"}])
    land(home / "landing" / "us", "1.json", [{"id": "u1", "amount": "50"}])
    assert materialize(defs).success
    assert table(home, "shop", "all_orders") == [("e1", "5"), ("u1", "50")]
    land(home / "landing" / "eu", "2.json", [{"id": "e2", "amount": "20"}])
    assert materialize(defs).success
    assert table(home, "shop", "all_orders") == [("e1", "5"), ("e2", "20"), ("u1", "50")]
    assert table(home, "exports", "orders") == [("e2", "20"), ("u1", "50")]


CHANGE_FEED = [  # Databricks' AUTO CDC example, in its order of arrival
    (124, "Raul", "Oaxaca", "INSERT", 1),
    (123, "Isabel", "Monterrey", "INSERT", 1),
    (125, "Mercedes", "Tijuana", "INSERT", 2),
    (126, "Lily", "Cancun", "INSERT", 2),
    (123, None, None, "DELETE", 6),
    (125, "Mercedes", "Guadalajara", "UPDATE", 6),
    (125, "Mercedes", "Mexicali", "UPDATE", 5),
    (123, "Isabel", "Chihuahua", "UPDATE", 5),
]

AUTO_CDC = """
from pyspark.sql.functions import col, expr
from mlplatform import pipelines as dp

@dp.temporary_view
def users():
    return spark.readStream.table("cdc_data.users")

for scd in ("1", "2"):
    dp.create_streaming_table(f"target_scd{scd}")
    dp.create_auto_cdc_flow(
        target=f"target_scd{scd}",
        source="users",
        keys=["userId"],
        sequence_by=col("sequenceNum"),
        apply_as_deletes=expr("operation = 'DELETE'"),
        except_column_list=["operation", "sequenceNum"],
        stored_as_scd_type=scd,
    )
"""


def test_auto_cdc_scd1_and_scd2_from_a_change_feed(home, spark, tmp_path):
    feed = pl.DataFrame(
        CHANGE_FEED,
        schema={
            "userId": pl.Int64,
            "name": pl.String,
            "city": pl.String,
            "operation": pl.String,
            "sequenceNum": pl.Int64,
        },
        orient="row",
    )
    settings_path = home / "lakehouse" / "cdc_data" / "users"
    DeltaStore(settings_path, "cdc_data/users").write(feed, 1)
    defs = load(tmp_path, AUTO_CDC, "users_cdc")[DEFS_NAME]
    assert materialize(defs).success
    assert table(home, "users_cdc", "target_scd1") == [
        (124, "Raul", "Oaxaca"),
        (125, "Mercedes", "Guadalajara"),
        (126, "Lily", "Cancun"),
    ]
    assert table(home, "users_cdc", "target_scd2") == [
        (123, "Isabel", "Chihuahua", 5, 6),
        (123, "Isabel", "Monterrey", 1, 5),
        (124, "Raul", "Oaxaca", 1, None),
        (125, "Mercedes", "Guadalajara", 6, None),
        (125, "Mercedes", "Mexicali", 5, 6),
        (125, "Mercedes", "Tijuana", 2, 5),
        (126, "Lily", "Cancun", 2, None),
    ]
    assert materialize(defs).success  # the same feed again changes nothing
    assert len(table(home, "users_cdc", "target_scd2")) == 7


SNAPSHOTS = """
from mlplatform import pipelines as dp

SNAPSHOTS = {
    1: [(1, "Alice", "NY"), (2, "Bob", "SF"), (3, "Carol", "LA")],
    2: [(1, "Alice", "Boston"), (2, "Bob", "SF"), (4, "Dan", "Austin")],
    3: [(1, "Alice", "Boston"), (2, "Bob", "Seattle"), (3, "Carol", "LA"), (4, "Dan", "Austin")],
}
AVAILABLE = [1]

def next_snapshot_and_version(latest_snapshot_version):
    version = 1 if latest_snapshot_version is None else latest_snapshot_version + 1
    if version not in AVAILABLE:
        return None
    return spark.createDataFrame(SNAPSHOTS[version], "id LONG, name STRING, city STRING"), version

for scd in (1, 2):
    dp.create_streaming_table(f"customers_scd{scd}")
    dp.create_auto_cdc_from_snapshot_flow(
        target=f"customers_scd{scd}",
        source=next_snapshot_and_version,
        keys=["id"],
        stored_as_scd_type=scd,
    )
"""


def test_snapshot_cdc_over_three_snapshots(home, spark, tmp_path):
    module = load(tmp_path, SNAPSHOTS, "crm")
    defs = module[DEFS_NAME]
    assert materialize(defs).success
    module["AVAILABLE"].extend([2, 3])  # two more snapshots arrive before the next update
    assert materialize(defs).success
    assert table(home, "crm", "customers_scd1") == [
        (1, "Alice", "Boston"),
        (2, "Bob", "Seattle"),
        (3, "Carol", "LA"),
        (4, "Dan", "Austin"),
    ]
    assert table(home, "crm", "customers_scd2", ["id", "__START_AT"]) == [
        (1, "Alice", "NY", 1, 2),
        (1, "Alice", "Boston", 2, None),
        (2, "Bob", "SF", 1, 3),
        (2, "Bob", "Seattle", 3, None),
        (3, "Carol", "LA", 1, 2),  # missing from snapshot 2: deleted
        (3, "Carol", "LA", 3, None),
        (4, "Dan", "Austin", 2, None),
    ]
    assert materialize(defs).success  # no new snapshot: nothing changes
    assert len(table(home, "crm", "customers_scd2")) == 7


def test_unchanged_pyspark_pipelines_code_runs_from_a_spec(home, spark, tmp_path):
    from mlplatform.pipelines.spec import load as load_spec

    (tmp_path / "transformations").mkdir()
    (tmp_path / "spark-pipeline.yml").write_text(
        "name: oss\nstorage: storage\ndatabase: oss\n"
        "libraries:\n  - glob:\n      include: transformations/**\n"
    )
    (tmp_path / "transformations" / "flows.py").write_text(
        textwrap.dedent(
            """
        from pyspark import pipelines as dp
        from pyspark.sql.functions import col

        @dp.materialized_view
        def numbers():
            return spark.range(5).withColumn("square", col("id") * col("id"))

        @dp.temporary_view
        def evens():
            return spark.read.table("numbers").where("id % 2 = 0")

        @dp.materialized_view(comment="even squares")
        def even_squares():
            return spark.read.table("evens").select("square")
        """
        )
    )
    (tmp_path / "transformations" / "total.sql").write_text(
        "CREATE MATERIALIZED VIEW total AS SELECT sum(square) AS s FROM even_squares"
    )
    defs = load_spec(tmp_path / "spark-pipeline.yml").pipeline.definitions()
    assert materialize(defs).success
    assert table(home, "oss", "even_squares") == [(0,), (4,), (16,)]
    assert table(home, "oss", "total") == [(20,)]
    assert not (home / "lakehouse" / "oss" / "evens").exists()  # a view is never published
