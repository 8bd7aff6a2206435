"""Delta Lake's Spark connector in the platform's Spark session (``spark.jars`` from the fetched
cache, Delta's extension and catalog): Spark and delta-rs read each other's tables, MERGE INTO,
CREATE TABLE ... USING DELTA, time travel, the platform's polars-written tables read by Spark,
and the same over a Spark Connect server started with the jars."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import polars as pl
import pyarrow as pa
import pytest
from customer_churn.demo_data import generate
from deltalake import DeltaTable, write_deltalake
from polars.testing import assert_frame_equal

from mlplatform.lakehouse.engines.spark_jars import jar_paths
from tests.integration._services import require
from tests.integration._spark_services import (
    MEDALLION,
    run_on_polars,
    start_connect_server,
    stop_all,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def delta_spark(spark):
    """The run's shared classic session; it must have been started with the connector."""
    require(jar_paths() is not None, "Spark jars not fetched: run `mlplatform spark fetch-jars`")
    conf = spark.sparkContext.getConf()
    assert "io.delta.sql.DeltaSparkSessionExtension" in conf.get("spark.sql.extensions", "")
    assert "delta-spark_2.13-4.4.0.jar" in conf.get("spark.jars", "")
    return spark


def _rows(df) -> list[tuple]:
    return sorted(tuple(r) for r in df.collect())


def _rs_rows(path, version=None) -> list[tuple]:
    table = DeltaTable(str(path), version=version).to_pyarrow_table()
    return sorted(tuple(r.values()) for r in table.to_pylist())


def test_spark_writes_delta_rs_reads_and_the_other_way(tmp_path, delta_spark):
    path = str(tmp_path / "t")
    df = delta_spark.createDataFrame([(1, "a", 1.5), (2, "b", None)], "id long, v string, x double")
    df.write.format("delta").save(path)
    assert _rs_rows(path) == [(1, "a", 1.5), (2, "b", None)]
    assert DeltaTable(path).protocol().min_reader_version == 1  # a plain table: no features

    # delta-rs appends to Spark's table; Spark reads both commits
    write_deltalake(path, pa.table({"id": [3], "v": ["c"], "x": [0.25]}), mode="append")
    got = delta_spark.read.format("delta").load(path)
    assert _rows(got) == [(1, "a", 1.5), (2, "b", None), (3, "c", 0.25)]

    # Spark appends after delta-rs; delta-rs sees version 2 with all rows
    delta_spark.createDataFrame([(4, "d", 2.0)], "id long, v string, x double").write.format(
        "delta"
    ).mode("append").save(path)
    assert DeltaTable(path).version() == 2
    assert _rs_rows(path) == [(1, "a", 1.5), (2, "b", None), (3, "c", 0.25), (4, "d", 2.0)]


def test_a_delta_rs_table_read_and_overwritten_by_spark(tmp_path, delta_spark):
    path = str(tmp_path / "rs")
    write_deltalake(path, pa.table({"id": pa.array([1, 2], pa.int64()), "v": ["x", "y"]}))
    assert _rows(delta_spark.read.format("delta").load(path)) == [(1, "x"), (2, "y")]
    delta_spark.createDataFrame([(9, "z")], "id long, v string").write.format("delta").mode(
        "overwrite"
    ).save(path)
    assert _rs_rows(path) == [(9, "z")]
    assert _rs_rows(path, version=0) == [(1, "x"), (2, "y")]


def test_merge_into_with_sql_and_the_python_api(tmp_path, delta_spark):
    from delta.tables import DeltaTable as SparkDeltaTable

    path = str(tmp_path / "target")
    delta_spark.createDataFrame([(1, "a"), (2, "b"), (3, "c")], "id long, v string").write.format(
        "delta"
    ).save(path)
    delta_spark.createDataFrame(
        [(2, "B"), (4, "D"), (3, None)], "id long, v string"
    ).createOrReplaceTempView("changes")
    delta_spark.sql(
        f"""MERGE INTO delta.`{path}` t USING changes s ON t.id = s.id
        WHEN MATCHED AND s.v IS NULL THEN DELETE
        WHEN MATCHED THEN UPDATE SET v = s.v
        WHEN NOT MATCHED THEN INSERT (id, v) VALUES (s.id, s.v)"""
    )
    assert _rs_rows(path) == [(1, "a"), (2, "B"), (4, "D")]

    target = SparkDeltaTable.forPath(delta_spark, path)
    source = delta_spark.createDataFrame([(1, "A"), (5, "E")], "id long, v string")
    (
        target.alias("t")
        .merge(source.alias("s"), "t.id = s.id")
        .whenMatchedUpdateAll()
        .whenNotMatchedInsertAll()
        .execute()
    )
    assert _rs_rows(path) == [(1, "A"), (2, "B"), (4, "D"), (5, "E")]
    history = target.history().select("version", "operation").orderBy("version")
    assert [tuple(r) for r in history.collect()] == [(0, "WRITE"), (1, "MERGE"), (2, "MERGE")]


def test_create_table_using_delta_location_and_save_as_table(tmp_path, delta_spark):
    path = str(tmp_path / "made_by_sql")
    delta_spark.sql(
        f"CREATE TABLE delta_sql_t (id BIGINT, name STRING) USING DELTA LOCATION '{path}'"
    )
    try:
        delta_spark.sql("INSERT INTO delta_sql_t VALUES (1, 'one'), (2, 'two')")
        assert _rows(delta_spark.table("delta_sql_t")) == [(1, "one"), (2, "two")]
        assert _rs_rows(path) == [(1, "one"), (2, "two")]
        assert delta_spark.sql("DESCRIBE DETAIL delta_sql_t").first()["format"] == "delta"
    finally:
        delta_spark.sql("DROP TABLE IF EXISTS delta_sql_t")
    assert _rs_rows(path) == [(1, "one"), (2, "two")]  # an external table: the data stays

    saved = str(tmp_path / "saved")
    df = delta_spark.createDataFrame([(7, "seven")], "id long, name string")
    df.write.format("delta").option("path", saved).saveAsTable("delta_saved_t")
    try:
        assert _rows(delta_spark.sql("SELECT * FROM delta_saved_t")) == [(7, "seven")]
        assert _rows(delta_spark.sql(f"SELECT * FROM delta.`{saved}`")) == [(7, "seven")]
    finally:
        delta_spark.sql("DROP TABLE IF EXISTS delta_saved_t")
    assert _rs_rows(saved) == [(7, "seven")]


def test_time_travel_version_as_of(tmp_path, delta_spark):
    path = str(tmp_path / "tt")
    schema = "id long, v string"
    delta_spark.createDataFrame([(1, "v0")], schema).write.format("delta").save(path)
    delta_spark.createDataFrame([(2, "v1")], schema).write.format("delta").mode("append").save(path)
    write_deltalake(path, pa.table({"id": pa.array([3], pa.int64()), "v": ["v2"]}), mode="append")
    delta_spark.sql(f"DELETE FROM delta.`{path}` WHERE id = 1")

    def at(version):
        reader = delta_spark.read.format("delta").option("versionAsOf", version)
        return _rows(reader.load(path))

    assert at(0) == [(1, "v0")]
    assert at(1) == [(1, "v0"), (2, "v1")]
    assert at(2) == [(1, "v0"), (2, "v1"), (3, "v2")]  # delta-rs' commit
    assert at(3) == [(2, "v1"), (3, "v2")]
    assert _rows(delta_spark.sql(f"SELECT * FROM delta.`{path}` VERSION AS OF 1")) == at(1)
    assert _rs_rows(path, version=1) == at(1)
    assert _rs_rows(path) == at(3)


def test_the_platforms_polars_tables_read_by_spark(tmp_path, monkeypatch, delta_spark):
    home = tmp_path / "home"
    generate(home, customers=40, events=300, files=2, seed=11)
    run_on_polars(home, monkeypatch)
    for key in MEDALLION:
        path = home / "lakehouse" / key
        expected = pl.read_delta(str(path))
        got = pl.from_arrow(delta_spark.read.format("delta").load(str(path)).toArrow())
        assert got.columns == expected.columns, key
        assert len(got) == len(expected) > 0 or key.endswith("quarantine"), key
        # Spark reads Delta's timestamp as its session's zone (UTC), as delta-rs does
        assert_frame_equal(got.sort(got.columns), expected.sort(expected.columns))
        protocol = DeltaTable(str(path)).protocol()
        assert (protocol.min_reader_version, protocol.min_writer_version) in {(1, 2), (3, 7)}


CONNECT_CLIENT = textwrap.dedent(
    """
    import json, sys
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.remote(sys.argv[1]).getOrCreate()
    path = sys.argv[2]
    out = {}
    first = spark.createDataFrame([(1, "a"), (2, "b")], "id long, v string")
    first.write.format("delta").save(path)
    spark.createDataFrame([(2, "B"), (3, "c")], "id long, v string").createOrReplaceTempView("s")
    spark.sql(
        f"MERGE INTO delta.`{path}` t USING s ON t.id = s.id "
        "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *"
    )
    rows = lambda df: sorted([list(r) for r in df.collect()])
    out["now"] = rows(spark.read.format("delta").load(path))
    out["v0"] = rows(spark.read.format("delta").option("versionAsOf", 0).load(path))
    spark.sql(f"CREATE TABLE connect_t USING DELTA LOCATION '{path}'")
    out["table"] = rows(spark.table("connect_t"))
    out["history"] = [
        r["operation"] for r in spark.sql(f"DESCRIBE HISTORY delta.`{path}`").collect()
    ]
    print(json.dumps(out))
    """
)


def test_delta_over_spark_connect(tmp_path, delta_spark):
    folder = tmp_path / "connect"
    folder.mkdir()
    proc, url = start_connect_server(folder)
    try:
        path = str(tmp_path / "over_connect")
        done = subprocess.run(
            [sys.executable, "-c", CONNECT_CLIENT, url, path],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        out = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        stop_all([proc])
    assert out == {
        "now": [[1, "a"], [2, "B"], [3, "c"]],
        "v0": [[1, "a"], [2, "b"]],
        "table": [[1, "a"], [2, "B"], [3, "c"]],
        "history": ["MERGE", "WRITE"],
    }
    # the server's executors wrote a table delta-rs reads
    assert _rs_rows(path) == [(1, "a"), (2, "B"), (3, "c")]
