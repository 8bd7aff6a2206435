"""Incremental file ingestion on Spark: each executor task parses whole files with the same
parser as the polars engine, so both engines give the same bronze rows and counts."""

from __future__ import annotations

import json

from mlplatform.lakehouse.engines.spark_executors import executor_import_error
from mlplatform.lakehouse.json_lines import RESCUED, SOURCE_FILE, new_columns_error

EXTRA = "_mlplatform_extra"  # new fields (addNewColumns) as JSON
STATS = "_mlplatform_stats"  # one row per file carrying its counts
_COUNTS = ("rows", "rescued_rows", "malformed_rows", "blank_lines", "invalid_utf8_lines")


def _parser(fields: list[str], mode: str):
    def parse(batches):
        import polars as pl
        import pyarrow as pa

        from mlplatform.lakehouse.json_lines import parse_files
        from mlplatform.lakehouse.landing import FilePart

        out_schema = pa.schema(
            [pa.field(c, pa.string()) for c in [*fields, RESCUED, SOURCE_FILE, EXTRA, STATS]]
        )
        for batch in batches:
            for spec in batch.column(0).to_pylist():
                parsed = parse_files([FilePart(*json.loads(spec))], fields, mode)
                frame = parsed.frame
                new = [c for c in frame.columns if c not in (*fields, RESCUED, SOURCE_FILE)]
                extra = pl.struct(new).struct.json_encode() if new else pl.lit(None, pl.String)
                rows = frame.select(
                    *fields,
                    RESCUED,
                    SOURCE_FILE,
                    extra.alias(EXTRA),
                    pl.lit(None, pl.String).alias(STATS),
                )
                unknown = parsed.ignored_fields or {
                    c: int(frame.get_column(c).is_not_null().sum()) for c in new
                }
                stats = {k: getattr(parsed, k) for k in _COUNTS} | {"unknown": unknown}
                stats_row = {c: [None] for c in out_schema.names} | {STATS: [json.dumps(stats)]}
                yield from pa.Table.from_pydict(stats_row, schema=out_schema).to_batches()
                yield from rows.to_arrow().cast(out_schema).to_batches()

    return parse


def _parallelism(spark) -> int:
    """Task slots to spread files over, from the session's settings (no SparkContext, so the
    same over Spark Connect): ``spark.default.parallelism`` if set, else the shuffle partitions."""
    value = spark.conf.get("spark.default.parallelism", None)
    return int(value or spark.conf.get("spark.sql.shuffle.partitions", "4") or 4)


def parse_on_executors(spark, paths: list, fields: list[str], mode: str):
    """Parse ``paths`` (``landing.FilePart``: the recorded bytes of each file, as the polars
    engine reads them) on the executors; return the bronze frame (cached) and the counts.

    Raises:
        NewColumnsError: ``failOnNewColumns`` and the files carry unknown fields.
    """
    from pyspark.sql import functions as F

    task_mode = "addNewColumns" if mode == "failOnNewColumns" else mode
    ddl = ", ".join(f"`{c}` STRING" for c in [*fields, RESCUED, SOURCE_FILE, EXTRA, STATS])
    specs = [json.dumps([p.source, p.start, p.end]) for p in paths]
    names = spark.createDataFrame([(s,) for s in specs], "path STRING")
    if paths:
        names = names.repartition(min(len(paths), _parallelism(spark) * 4))
    try:
        raw = names.mapInArrow(_parser(fields, task_mode), ddl).localCheckpoint(True)
    except Exception as err:  # a Python worker failure, as Spark reports it (classic or Connect)
        explained = executor_import_error(err)
        if explained is not None:
            raise explained from err
        raise
    counts = dict.fromkeys(_COUNTS, 0)
    unknown: dict[str, int] = {}
    for row in raw.where(F.col(STATS).isNotNull()).select(STATS).collect():
        stats = json.loads(row[STATS])
        for key in _COUNTS:
            counts[key] += stats[key]
        for name, n in stats["unknown"].items():
            unknown[name] = unknown.get(name, 0) + n
    if unknown and mode == "failOnNewColumns":
        raise new_columns_error(unknown)
    new_columns = sorted(unknown) if mode == "addNewColumns" else []
    data = raw.where(F.col(STATS).isNull())
    data = data.select(
        *fields,
        *[F.get_json_object(EXTRA, f"$.{c}").alias(c) for c in new_columns],
        RESCUED,
        SOURCE_FILE,
    )
    return data, {
        "files": len(paths),
        "rows": counts["rows"],
        "rescued_rows": counts["rescued_rows"],
        "malformed_rows": counts["malformed_rows"],
        "blank_lines_skipped": counts["blank_lines"],
        "new_columns": new_columns,
        "ignored_fields": unknown if mode == "none" else {},
        "invalid_utf8_lines": counts["invalid_utf8_lines"],
    }
