"""The Spark session the Spark engine runs on: ``local[2]`` by default, a cluster master
(``MLPLATFORM_SPARK_MASTER``, e.g. ``spark://host:7077``) or a Spark Connect server
(``MLPLATFORM_SPARK_REMOTE=sc://host:15002``). With both set, the Connect server is used.

Over Spark Connect the client sets only runtime settings (``spark.conf``); the server's own
configuration decides the master, memory and the executors' Python. On a cluster and over Connect
the executors import mlplatform's landing-file parser from a zip of this installation shipped
with the session (``spark.submit.pyFiles`` / ``addArtifacts(..., pyfile=True)``); they need polars
and pyarrow in their own Python (see ``spark_executors``).

Delta Lake's Spark connector (``spark_jars``): a classic session started here gets the fetched
jars as ``spark.jars`` with Delta's SQL extension and catalog (hadoop-aws only for an S3 table
root), so ``format("delta")``,
``DeltaTable``, ``MERGE INTO`` and ``CREATE TABLE ... USING DELTA`` work (``spark.jars`` also
ships them to a cluster's executors). Without the jars (never fetched) the session starts as
before and says how to fetch them: the engine itself reads Delta through file lists and commits
with delta-rs, so it needs no connector. A Spark Connect server is given them when it starts
(``connect_server_args``).

With the table root in an object store, the session gets the storage options as Hadoop settings
(``spark_storage``) when it is created, from the settings rather than the resource's config, so
credentials never show in Dagster's resource view.
"""

from __future__ import annotations

import logging
import os
import sys

from mlplatform.lakehouse.engines.spark_executors import mlplatform_zip
from mlplatform.lakehouse.engines.spark_jars import jar_paths, session_jars, with_delta
from mlplatform.lakehouse.engines.spark_storage import session_settings, spark_uri
from mlplatform.lakehouse.object_location import is_object_uri
from mlplatform.settings.variables import (
    SPARK_DRIVER_MEMORY,
    SPARK_MASTER,
    SPARK_REMOTE,
    SPARK_SHUFFLE_PARTITIONS,
)

log = logging.getLogger(__name__)

_SESSION = None
_SHIPPED: set[str] = set()  # Connect sessions that received mlplatform's code


def runtime_config() -> dict[str, str]:
    """Settings the engine's SQL relies on (UTC, naive TIMESTAMP, no ANSI), all runtime SQL
    settings: they are set on a Connect session too."""
    return {
        "spark.sql.session.timeZone": "UTC",
        # TIMESTAMP in table SQL is a naive timestamp, as polars' Datetime without a zone
        "spark.sql.timestampType": "TIMESTAMP_NTZ",
        # casts of bad text give NULL, as on Databricks' DLT runtime and in polars' strict=False:
        # existing DLT code (col("amount").cast("double")) must run unchanged
        "spark.sql.ansi.enabled": "false",
        "spark.sql.shuffle.partitions": SPARK_SHUFFLE_PARTITIONS.value(),
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        # Delta readers expect INT64 microsecond timestamps, not Spark's legacy INT96
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    }


def spark_config() -> dict[str, str]:
    """Session settings from the environment: ``spark.remote`` and the runtime settings for a
    Connect server, else the master, driver and runtime settings of a classic session."""
    remote = SPARK_REMOTE.value()
    if remote:
        return {"spark.remote": remote} | runtime_config()
    master = SPARK_MASTER.value()
    extra = {}
    if master.startswith("local"):
        # local Python workers must run this interpreter (with mlplatform and polars), not PATH's
        # python3: PySpark reads PYSPARK_PYTHON when it creates the context
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        extra = {"spark.pyspark.python": os.environ["PYSPARK_PYTHON"]}
    return (
        extra
        | {
            "spark.master": master,
            "spark.app.name": "mlplatform",
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
            "spark.driver.host": os.environ.get("SPARK_LOCAL_IP", "127.0.0.1"),
            "spark.driver.bindAddress": os.environ.get("SPARK_LOCAL_IP", "127.0.0.1"),
            "spark.driver.memory": SPARK_DRIVER_MEMORY.value(),
        }
        | runtime_config()
    )


def session_from_config(config: dict):
    """A session for ``config`` (as ``spark_config()`` returns, or a resource's ``spark_config``).

    ``spark.remote`` makes it a Spark Connect session on which only ``spark.sql.*`` settings are
    set at runtime (a ``spark.master`` beside it is ignored, and logged); otherwise a classic
    session, which ships mlplatform's code to the executors of a non-local master.
    """
    from pyspark.sql import SparkSession

    config = {str(k): str(v) for k, v in _flat(config).items()}
    storage = _storage_settings()
    remote = config.pop("spark.remote", None)
    if remote:
        master = config.pop("spark.master", None) or SPARK_MASTER.raw()
        if master:
            log.warning("Spark engine: Spark Connect at %s (master %s ignored)", remote, master)
        else:
            log.info("Spark engine: Spark Connect at %s", remote)
        session = SparkSession.builder.remote(remote).getOrCreate()
        runtime = {k: v for k, v in config.items() if k.startswith("spark.sql.")}
        # Hadoop settings as runtime settings: Spark copies them into each job's configuration
        runtime |= {k.removeprefix("spark.hadoop."): v for k, v in storage.items()}
        for key, value in runtime.items():
            session.conf.set(key, value)
        ignored = sorted(set(config) - set(runtime))
        if ignored:
            log.info("not set over Spark Connect (server settings): %s", ", ".join(ignored))
        ship_code(session)
        return session
    master = config.get("spark.master", "local[*]")
    log.info("Spark engine: master %s", master)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    if not master.startswith("local"):
        zipped = str(mlplatform_zip())
        # spark.files fetches the zip onto every executor, spark.submit.pyFiles puts it on
        # the Python workers' path (what spark-submit --py-files does)
        for key in ("spark.files", "spark.submit.pyFiles"):
            config[key] = ",".join(p for p in (config.get(key), zipped) if p)
    config = _with_connector(config)
    builder = SparkSession.builder
    for key, value in (storage | config).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def _with_connector(config: dict[str, str]) -> dict[str, str]:
    """``config`` with Delta Lake's jars, extension and catalog when the jars are fetched."""
    jars = jar_paths()
    if jars is None:
        log.warning(
            "Delta Lake's Spark connector is not fetched: this session has no format('delta') "
            "(the engine does not need it); run `mlplatform spark fetch-jars` to add it"
        )
        return config
    out = with_delta(config, session_jars(jars, s3a=_root_in_s3()))
    # Delta rebuilds a snapshot's state in this many tasks: its default, 50, costs seconds per
    # small table on a few cores
    partitions = config.get("spark.sql.shuffle.partitions", SPARK_SHUFFLE_PARTITIONS.value())
    out.setdefault("spark.databricks.delta.snapshotPartitions", partitions)
    return out


def _root_in_s3() -> bool:
    from mlplatform.settings import get_settings

    root = str(get_settings().lakehouse)
    return is_object_uri(root) and spark_uri(root).startswith("s3a://")


def _storage_settings() -> dict[str, str]:
    from mlplatform.settings import get_settings

    settings = get_settings()
    return session_settings(settings.lakehouse, settings.storage_options)


def ship_code(session) -> None:
    """Give a Connect session's executors mlplatform's code (once per session)."""
    if session.session_id in _SHIPPED:
        return
    session.addArtifacts(str(mlplatform_zip()), pyfile=True)
    _SHIPPED.add(session.session_id)


def is_connect(session) -> bool:
    """Whether ``session`` is a Spark Connect session (no SparkContext, no JVM in this process)."""
    return type(session).__module__.startswith("pyspark.sql.connect")


def get_spark_session():
    """The shared session, created on first use (no JVM or connection before)."""
    global _SESSION
    if _SESSION is None or _stopped(_SESSION):
        _SESSION = session_from_config(spark_config())
    return _SESSION


def _stopped(session) -> bool:
    if is_connect(session):
        return session.is_stopped
    return session._jsc is None


def _flat(config: dict, prefix: str = "") -> dict:
    """Nested resource config ({"spark": {"sql": {...}}}) as dotted keys, as dagster-pyspark."""
    out = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out |= _flat(value, f"{name}.")
        else:
            out[name] = value
    return out
