"""The scale-out engine: the same tables and expectations on PySpark.

Landing files are parsed on the executors by the same parser the polars engine uses (so bronze text
is identical). Delta tables are read through the file list of a snapshot, never the bare folder.
Writes never collect to the driver: executors write parquet files into the table's folder and the
driver commits them with ``DeltaTable.create_write_transaction`` together with the batch's app
transaction; files written by a run that dies before the commit stay invisible.

Nothing here touches a SparkContext, an RDD or the JVM, so the same code runs on a classic session
(local or a cluster master) and as a Spark Connect client, where "the driver" above is this
process, the Connect client, committing files the server's executors wrote.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from deltalake.transaction import AddAction

from mlplatform.lakehouse.engines.base import (
    INGESTED_AT,
    ROW_ID,
    EngineEvaluation,
    FilesRead,
    ReturnedPolarsFrame,
    SqlQuery,
)
from mlplatform.lakehouse.engines.spark_files import parse_on_executors
from mlplatform.lakehouse.engines.spark_session import get_spark_session, is_connect
from mlplatform.lakehouse.engines.spark_storage import check_reachable, spark_uri
from mlplatform.lakehouse.engines.spark_types import spark_schema
from mlplatform.lakehouse.expectations import (
    FAILED_EXPECTATIONS,
    QUARANTINED_AT,
    Action,
    ExpectationError,
    RuleResult,
    raise_for_failures,
)
from mlplatform.lakehouse.failpoints import failpoint


class SparkEngine:
    """Runs table updates on a Spark session (local[2] or a cluster)."""

    name = "spark"

    def __init__(self, session=None):
        self._session = session

    @property
    def spark(self):
        return self._session or get_spark_session()

    # ---- reading ---------------------------------------------------------------------------
    def read_files(self, paths, fields, mode, ingested_at) -> FilesRead:
        from pyspark.sql import functions as F

        frame, counts = parse_on_executors(self.spark, paths, fields, mode)
        frame = frame.withColumn(INGESTED_AT, F.lit(ingested_at).cast("timestamp_ltz"))
        return FilesRead(frame, counts)

    def read_increment(self, store, start, end):
        files = store.added_files(start, end)
        return self._read_files_of(store, end, files)

    def read_table(self, store, version):
        return self._read_files_of(store, version, store.table(version).file_uris())

    def empty_like(self, store):
        return self.spark.createDataFrame([], spark_schema(_arrow_schema(store, None)))

    def read_quarantine(self, store, version):
        return self.read_table(store, version).drop(FAILED_EXPECTATIONS, QUARANTINED_AT)

    def _read_files_of(self, store, version, files):
        from pyspark.sql import functions as F

        schema = _arrow_schema(store, version)
        if not files:
            return self.spark.createDataFrame([], spark_schema(schema))
        self._reach(store)
        frame = self.spark.read.option("mergeSchema", "true").parquet(*map(_uri, files))
        target = spark_schema(schema)
        cols = [
            F.col(f.name) if f.name in frame.columns else F.lit(None).cast(f.dataType).alias(f.name)
            for f in target.fields
        ]
        return frame.select(*cols)

    def with_row_id(self, frame):
        from pyspark.sql import functions as F

        # materialized once, so the ids the quarantine joins on never change on recomputation
        return frame.withColumn(ROW_ID, F.monotonically_increasing_id()).localCheckpoint(True)

    # ---- computing ---------------------------------------------------------------------------
    def run_function(self, defn, frames, has_lineage):
        from pyspark.sql import DataFrame

        out = defn.func(*frames)
        if isinstance(out, SqlQuery):
            for name, frame in zip(defn.param_names, frames, strict=True):
                frame.createOrReplaceTempView(name)
            query = (out.with_lineage() if has_lineage else None) or out.text
            out = self.spark.sql(query)
        if type(out).__module__.startswith("polars"):
            raise ReturnedPolarsFrame(defn.key)
        if not isinstance(out, DataFrame):
            raise TypeError(
                f"table {defn.key}: the function returned {type(out).__name__}; on the spark "
                "engine return a Spark DataFrame, or sql('SELECT ...')"
            )
        return out

    def evaluate(self, frame, defn, source) -> EngineEvaluation:
        from pyspark.sql import functions as F

        exps = defn.expectations
        masks = {e.name: f"__expect_{e.name}" for e in exps}
        frame = _with_masks(frame, exps, masks, defn.key).cache()
        fail = {e.name: F.sum(F.when(~F.col(masks[e.name]), 1).otherwise(0)) for e in exps}
        drop_ok = _all([F.col(masks[e.name]) for e in exps if e.action is Action.DROP])
        quar_ok = _all([F.col(masks[e.name]) for e in exps if e.action is Action.QUARANTINE])
        row = frame.agg(
            F.count(F.lit(1)).alias("__total"),
            F.sum(F.when(~drop_ok, 1).otherwise(0)).alias("__dropped"),
            F.sum(F.when(drop_ok & ~quar_ok, 1).otherwise(0)).alias("__quarantined"),
            *[agg.alias(f"__fail_{name}") for name, agg in fail.items()],
        ).collect()[0]
        total, dropped, quarantined = (
            row["__total"],
            row["__dropped"] or 0,
            row["__quarantined"] or 0,
        )
        data_cols = [c for c in frame.columns if not c.startswith(("__expect_", "_mlplatform_"))]
        results = []
        for exp in exps:
            failed = row[f"__fail_{exp.name}"] or 0
            sample = []
            if failed:
                rows = frame.where(~F.col(masks[exp.name])).select(*data_cols).limit(5).collect()
                sample = [r.asDict() for r in rows]
            results.append(RuleResult(exp, total - failed, failed, sample))
        raise_for_failures(results, total, defn.key)
        kept = frame.where(drop_ok & quar_ok)
        kept = kept.select(*defn.columns) if defn.columns else kept.select(*data_cols)
        q = frame.where(drop_ok & ~quar_ok).withColumn(
            FAILED_EXPECTATIONS,
            F.filter(
                F.array(
                    *[
                        F.when(~F.col(masks[e.name]), F.lit(e.name))
                        for e in exps
                        if e.action is Action.QUARANTINE
                    ]
                    or [F.lit(None).cast("string")]
                ),
                lambda x: x.isNotNull(),
            ),
        )
        if source is not None and ROW_ID in q.columns:
            q = q.select(ROW_ID, FAILED_EXPECTATIONS).join(source, ROW_ID, "left")
            q = q.select(*[c for c in source.columns if c != ROW_ID], FAILED_EXPECTATIONS)
        else:
            q = q.select(*data_cols, FAILED_EXPECTATIONS)
        return EngineEvaluation(
            kept, q, results, total - dropped - quarantined, quarantined, dropped
        )

    def stamp(self, frame, column, ts):
        from pyspark.sql import functions as F

        return frame.withColumn(column, F.lit(ts).cast("timestamp_ltz"))

    # ---- writing ---------------------------------------------------------------------------
    def _reach(self, store) -> None:
        """Fail clearly, before any work, when the session has no file system for the table."""
        if store.remote:
            spark = self.spark
            ident = spark.session_id if is_connect(spark) else spark.sparkContext.applicationId
            check_reachable(spark, store.uri, ident)

    def write(self, store, frame, batch_id, mode, comment=None, evolve=False) -> int:
        self._reach(store)
        if _delta_connector(self.spark):
            return self._write_with_connector(store, frame, batch_id, mode, evolve)
        staging = f"spark-b{batch_id}-{uuid.uuid4().hex[:12]}"
        target = store.path / staging
        store.path.mkdir(parents=True, exist_ok=True)
        frame.write.mode("error").parquet(_uri(target))  # "error": Connect knows no alias
        files = _table_files(store)
        folder = staging if store.remote else str(target)  # the handler's paths are relative
        listed = files.get_file_info(pafs.FileSelector(folder))
        for junk in listed:
            if junk.base_name.startswith(".") or junk.base_name == "_SUCCESS":
                files.delete_file(junk.path)
        parts = [f for f in listed if f.base_name.endswith(".parquet")]
        parts.sort(key=lambda f: f.base_name)
        schema = (
            _plain(pq.read_schema(parts[0].path, filesystem=files))
            if parts
            else _plain(frame.limit(0).toArrow().schema)
        )
        failpoint("between_files_and_commit", store.app_id)
        actions = [
            AddAction(
                path=f"{staging}/{p.base_name}",
                size=p.size,
                partition_values={},
                modification_time=int(p.mtime.timestamp() * 1000) if p.mtime else _now_ms(),
                data_change=True,
                stats=json.dumps(
                    {"numRecords": pq.read_metadata(p.path, filesystem=files).num_rows}
                ),
            )
            for p in parts
        ]
        custom = {"mlplatform.batch_id": str(batch_id), "mlplatform.engine": "spark"}
        store.commit_files(actions, schema, batch_id, mode, comment, custom)
        return store.table().version()

    def _write_with_connector(self, store, frame, batch_id, mode, evolve) -> int:
        """``format("delta")`` with the connector's idempotent writes (txnAppId/txnVersion), the
        same app transaction the delta-rs commit records."""
        writer = (
            frame.write.format("delta")
            .mode(mode)
            .option("txnAppId", store.app_id)
            .option("txnVersion", batch_id)
        )
        if evolve:
            writer = writer.option("mergeSchema", "true")
        if mode == "overwrite":
            writer = writer.option("overwriteSchema", "true")
        writer.save(_uri(store.path))
        return store.table().version()


def _uri(path) -> str:
    """A local path as a ``file://`` URI: a cluster or Connect server whose default file system
    is another one (``fs.defaultFS``) still reads and writes the folder every process shares.
    An object-store URI as Hadoop names it (``s3://`` as ``s3a://``)."""
    text = str(path)
    return Path(text).as_uri() if "://" not in text else spark_uri(text)


def _table_files(store) -> pafs.FileSystem:
    """The file system of the table's folder, as pyarrow sees it (deltalake's object store for
    a remote table, with the table's storage options)."""
    if not store.remote:
        return pafs.LocalFileSystem()
    from deltalake.fs import DeltaStorageHandler

    return pafs.PyFileSystem(DeltaStorageHandler(store.uri, store.options))


def _now_ms() -> int:
    import time

    return int(time.time() * 1000)


def _delta_connector(spark) -> bool:
    """The Delta Spark connector is configured on the session (a cluster that has it)."""
    extensions = spark.conf.get("spark.sql.extensions", "") or ""
    # the platform's own sessions keep the parquet files + delta-rs commit (spark_jars)
    files = spark.conf.get("spark.mlplatform.engine.deltaWrites", "connector") == "files"
    return "DeltaSparkSessionExtension" in extensions and not files


def _with_masks(frame, exps, masks, table: str):
    """The frame with one null-safe boolean mask column per rule, evaluated by Spark SQL."""
    from pyspark.sql import functions as F

    def mask(exp):
        return F.coalesce(F.expr(exp.predicate).cast("boolean"), F.lit(False))

    try:
        return frame.select("*", *[mask(e).alias(masks[e.name]) for e in exps])
    except Exception as err:  # parse and analysis errors (unknown column, bad type)
        for exp in exps:
            try:
                frame.select(mask(exp))
            except Exception as single:
                raise ExpectationError(
                    f"table {table!r}: expectation {exp.name!r} ({exp.predicate}) cannot be "
                    f"evaluated on columns {frame.columns}: {single}"
                ) from err
        raise


def _all(cols):
    from functools import reduce

    from pyspark.sql import functions as F

    return reduce(lambda a, b: a & b, cols) if cols else F.lit(True)


def _arrow_schema(store, version) -> pa.Schema:
    return pa.schema(store.table(version).schema().to_arrow())


def _plain(schema: pa.Schema) -> pa.Schema:
    """Drop Spark's parquet metadata and use Delta's plain string and list types."""
    fields = []
    for f in schema:
        t = f.type
        if pa.types.is_large_string(t) or pa.types.is_string_view(t):
            t = pa.string()
        fields.append(pa.field(f.name, t, nullable=True))
    return pa.schema(fields)
