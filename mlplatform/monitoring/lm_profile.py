"""The profile metrics table of a monitor: per window, model group, slice and column.

For every window, model group and slice: a `:table` row (the row count, and for an inference
log with a label column the model quality of its labelled rows, `mlplatform.monitoring.
lm_quality`), and a row per profiled column: numeric columns get counts of nulls, NaN, zeros and
distinct values, `avg`, `min`, `max`, `stddev` (sample), `median` and `quantiles`
(`lm_schema.QUANTILE_LEVELS`, over the finite values); text and boolean columns get null and
distinct counts, `frequent_items` (the 10 most frequent) and text lengths. Custom `aggregate`
and `derived` metrics add columns (`mlplatform.monitoring.custom_metrics`).
"""

from __future__ import annotations

import polars as pl

from mlplatform.monitoring import custom_metrics, lm_quality
from mlplatform.monitoring.api import custom_metrics_of
from mlplatform.monitoring.lm_frame import GROUP_COLUMNS, KEYS
from mlplatform.monitoring.lm_schema import PROFILE_SCHEMA, QUANTILE_LEVELS, TABLE
from mlplatform.project.model import QualityMonitor

TOP_ITEMS = 10


def is_numeric(dtype: pl.DataType) -> bool:
    return dtype.is_numeric()


def is_categorical(dtype: pl.DataType) -> bool:
    return dtype in (pl.String, pl.Categorical, pl.Boolean) or isinstance(dtype, pl.Enum)


def profiled_columns(monitor: QualityMonitor, schema: pl.Schema) -> list[str]:
    """Every numeric, text and boolean column but the timestamp and the grouping columns."""
    spec = monitor.inference_log or monitor.time_series
    skip = GROUP_COLUMNS | ({spec.timestamp_col} if spec else set())
    return [c for c, t in schema.items() if c not in skip and (is_numeric(t) or is_categorical(t))]


def _numeric(column: str, dtype: pl.DataType) -> list[pl.Expr]:
    x = pl.col(column).cast(pl.Float64)
    finite = x.filter(x.is_finite())
    return [
        pl.col(column).is_null().sum().cast(pl.Int64).alias("num_nulls"),
        (x.is_nan().sum() if dtype.is_float() else pl.lit(0)).cast(pl.Int64).alias("num_nan"),
        (x == 0).sum().cast(pl.Int64).alias("num_zeros"),
        pl.col(column).drop_nulls().n_unique().cast(pl.Int64).alias("distinct_count"),
        finite.mean().alias("avg"),
        finite.min().alias("min"),
        finite.max().alias("max"),
        finite.std().alias("stddev"),
        finite.median().alias("median"),
        pl.concat_list([finite.quantile(q, "linear") for q in QUANTILE_LEVELS]).alias("quantiles"),
    ]


def _categorical(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    x = pl.col(column).cast(pl.String)
    lengths = x.str.len_chars()
    counts = frame.group_by(KEYS).agg(
        x.is_null().sum().cast(pl.Int64).alias("num_nulls"),
        x.drop_nulls().n_unique().cast(pl.Int64).alias("distinct_count"),
        lengths.min().cast(pl.Int64).alias("min_length"),
        lengths.max().cast(pl.Int64).alias("max_length"),
        lengths.mean().alias("avg_length"),
    )
    items = (
        frame.filter(x.is_not_null())
        .group_by([*KEYS, x.alias("item")])
        .agg(pl.len().cast(pl.Int64).alias("count"))
        .sort([*KEYS, "count", "item"], descending=[False] * len(KEYS) + [True, False])
        .group_by(KEYS, maintain_order=True)
        .agg(pl.struct("item", "count").head(TOP_ITEMS).alias("frequent_items"))
    )
    return counts.join(items, on=KEYS, how="left", nulls_equal=True)


def _quality(monitor: QualityMonitor, frame: pl.DataFrame) -> pl.DataFrame | None:
    log = monitor.inference_log
    if log is None or not log.label_col or log.label_col not in frame.columns:
        return None
    rows = []
    for key, part in frame.group_by(KEYS):
        labels, predictions = part[log.label_col].to_list(), part[log.prediction_col].to_list()
        if log.problem_type == "PROBLEM_TYPE_REGRESSION":
            quality = lm_quality.regression(labels, predictions)
        else:
            proba = log.prediction_proba_col
            scores = part[proba].to_list() if proba and proba in part.columns else None
            quality = lm_quality.classification(labels, predictions, scores)
        rows.append(dict(zip(KEYS, key, strict=True)) | quality)
    keys = {k: frame.schema[k] for k in KEYS}
    names = [c for c in PROFILE_SCHEMA if c in {n for r in rows for n in r} - set(KEYS)]
    return pl.DataFrame(
        [{k: r.get(k) for k in [*KEYS, *names]} for r in rows],
        schema=keys | {n: PROFILE_SCHEMA[n] for n in names},
        orient="row",
    )


def _join(left: pl.DataFrame, right: pl.DataFrame) -> pl.DataFrame:
    return left.join(right, on=KEYS, how="left", nulls_equal=True)


def profile_schema(monitor: QualityMonitor) -> dict:
    metrics = custom_metrics_of(monitor)
    return PROFILE_SCHEMA | {m.name: m.dtype for m in metrics if m.type != "drift"}


def profile_rows(monitor: QualityMonitor, frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """The profile rows of `frame` (prepared by `lm_frame`: windows, model groups, slices)."""
    schema = profile_schema(monitor)
    if frame.is_empty():
        return pl.DataFrame(schema=schema)
    metrics = custom_metrics_of(monitor)
    sizes = frame.group_by(KEYS).agg(pl.len().cast(pl.Int64).alias("count"))
    table = sizes
    custom = custom_metrics.aggregate_exprs(metrics, TABLE)
    if custom:
        table = _join(table, frame.group_by(KEYS).agg(custom))
    quality = _quality(monitor, frame)
    if quality is not None:
        table = _join(table, quality)
    parts = [
        table.with_columns(
            pl.lit(TABLE).alias("column_name"), pl.lit(None, pl.String).alias("data_type")
        )
    ]
    for column in columns:
        dtype = frame.schema[column]
        custom = custom_metrics.aggregate_exprs(metrics, column)
        if is_numeric(dtype):
            stats = frame.group_by(KEYS).agg(_numeric(column, dtype) + custom)
        else:
            stats = _categorical(frame, column)
            if custom:
                stats = _join(stats, frame.group_by(KEYS).agg(custom))
        parts.append(
            _join(sizes, stats).with_columns(
                pl.lit(column).alias("column_name"), pl.lit(str(dtype)).alias("data_type")
            )
        )
    out = pl.concat(parts, how="diagonal_relaxed")
    ends = frame.group_by("window_start").agg(pl.col("window_end").first())
    non_null = pl.col("count") - pl.col("num_nulls")
    out = out.join(ends, on="window_start", how="left", nulls_equal=True).with_columns(
        pl.struct(start="window_start", end="window_end").alias("window"),
        (100.0 * pl.col("num_nulls") / pl.col("count")).alias("percent_null"),
        (100.0 * pl.col("num_nan") / pl.col("count")).alias("percent_nan"),
        (100.0 * pl.col("num_zeros") / pl.col("count")).alias("percent_zeros"),
        pl.when(non_null > 0)
        .then(100.0 * pl.col("distinct_count") / non_null)
        .alias("percent_distinct"),
    )
    out = custom_metrics.evaluate_derived(out, metrics)
    return out.select(
        pl.col(c).cast(t) if c in out.columns else pl.lit(None, t).alias(c)
        for c, t in schema.items()
    )
