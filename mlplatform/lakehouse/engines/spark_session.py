"""The Spark session the Spark engine runs on (local[2] by default, a cluster by config)."""

from __future__ import annotations

import os
import sys

_SESSION = None


def spark_config() -> dict[str, str]:
    """Session settings: the engine's SQL must mean the same as on polars (UTC, naive TIMESTAMP)."""
    master = os.environ.get("MLPLATFORM_SPARK_MASTER", "local[2]")
    local = {}
    if master.startswith("local"):
        # local Python workers must run this interpreter (with mlplatform and polars), not PATH's
        # python3: PySpark reads PYSPARK_PYTHON when it creates the context
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        local = {"spark.pyspark.python": os.environ["PYSPARK_PYTHON"]}
    return local | {
        "spark.master": master,
        "spark.app.name": "mlplatform",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.host": os.environ.get("SPARK_LOCAL_IP", "127.0.0.1"),
        "spark.driver.bindAddress": os.environ.get("SPARK_LOCAL_IP", "127.0.0.1"),
        "spark.sql.session.timeZone": "UTC",
        # TIMESTAMP in table SQL is a naive timestamp, as polars' Datetime without a zone
        "spark.sql.timestampType": "TIMESTAMP_NTZ",
        # casts of bad text give NULL, as on Databricks' DLT runtime and in polars' strict=False:
        # existing DLT code (col("amount").cast("double")) must run unchanged
        "spark.sql.ansi.enabled": "false",
        "spark.sql.shuffle.partitions": os.environ.get("MLPLATFORM_SPARK_SHUFFLE_PARTITIONS", "4"),
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        # Delta readers expect INT64 microsecond timestamps, not Spark's legacy INT96
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
        "spark.driver.memory": os.environ.get("MLPLATFORM_SPARK_DRIVER_MEMORY", "2g"),
    }


def get_spark_session():
    """The shared session, created on first use (no JVM is started before)."""
    global _SESSION
    from pyspark.sql import SparkSession

    if _SESSION is None or _SESSION._jsc is None:
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        builder = SparkSession.builder
        for key, value in spark_config().items():
            builder = builder.config(key, value)
        _SESSION = builder.getOrCreate()
    return _SESSION
