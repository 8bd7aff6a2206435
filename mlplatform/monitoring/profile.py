"""Profile metrics of the inference table per window, per model version and over all versions.

For every recomputed window and each model version (plus `:all`, every version together):

- a `:table` row: the row count and the model quality on the rows whose label has arrived
  (`labelled_count`, `roc_auc`, `accuracy`, `precision`, `recall`, `f1_score`);
- a row per numeric column (the features and `prediction`, the prediction distribution): null,
  NaN, zero and distinct counts, min, max, mean, standard deviation, median and quantiles;
- a row per categorical column (`predicted_label`, `model_version`, `label`): null and distinct
  counts and the most frequent values.

With `problem_type` regression the `:table` row holds `mean_squared_error`,
`root_mean_squared_error`, `mean_absolute_error` and `r2_score` instead, `label` is profiled as
a numeric column and there is no `predicted_label`. Every row exists for the whole table and for
each slice (`mlplatform.monitoring.slices`); custom metrics add columns
(`mlplatform.monitoring.custom_metrics`).
"""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from mlplatform.catalog import FEATURES, INFERENCE
from mlplatform.catalog.schemas import PROFILE_SCHEMA
from mlplatform.monitoring import custom_metrics, slices
from mlplatform.monitoring.metrics import CATEGORICAL, NUMERIC
from mlplatform.monitoring.model_quality import (
    QUALITY_METRICS,
    REGRESSION_METRICS,
    classification_quality,
    regression_quality,
)
from mlplatform.monitoring.monitor_config import MonitorOptions
from mlplatform.monitoring.tables import ALL_VERSIONS, TABLE_COLUMN, profile_store, replace_windows
from mlplatform.monitoring.windows import Batch, claim
from mlplatform.settings import Settings

NUMERIC_COLUMNS = [*FEATURES, "prediction"]
CATEGORICAL_COLUMNS = ["predicted_label", "model_version", "label"]
QUANTILE_LEVELS = (0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99)
TOP_ITEMS = 10
KEYS = ["window_start", "group_version", "slice_key", "slice_value"]


def profiled_columns(options: MonitorOptions) -> tuple[list[str], list[str]]:
    """(numeric, categorical) columns profiled for the problem type."""
    if options.problem_type == "regression":
        return [*NUMERIC_COLUMNS, "label"], ["model_version"]
    return NUMERIC_COLUMNS, CATEGORICAL_COLUMNS


def _numeric(column: str) -> list[pl.Expr]:
    x = pl.col(column)
    v = x.filter(x.is_finite())
    return [
        x.is_null().sum().alias("num_nulls"),
        x.is_nan().sum().alias("num_nan"),
        (x == 0).sum().alias("num_zeros"),
        x.drop_nulls().n_unique().alias("distinct_count"),
        v.min().alias("min"),
        v.max().alias("max"),
        v.mean().alias("avg"),
        v.std().alias("stddev"),
        v.median().alias("median"),
        pl.concat_list([v.quantile(q, "linear") for q in QUANTILE_LEVELS]).alias("quantiles"),
    ]


def _categorical(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    x = pl.col(column).cast(pl.String)
    counts = frame.group_by(KEYS).agg(
        x.is_null().sum().alias("num_nulls"), x.drop_nulls().n_unique().alias("distinct_count")
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


def _quality(frame: pl.DataFrame, problem_type: str = "classification") -> pl.DataFrame:
    regression = problem_type == "regression"
    judge = regression_quality if regression else classification_quality
    rows = []
    for key, part in frame.group_by(KEYS):
        quality = judge(part["label"].cast(pl.Float64).to_numpy(), part["prediction"].to_numpy())
        rows.append(dict(zip(KEYS, key, strict=True)) | quality)
    schema = {
        "window_start": frame.schema["window_start"],
        "group_version": pl.String,
        "slice_key": pl.String,
        "slice_value": pl.String,
        "labelled_count": pl.Int64,
        **dict.fromkeys(REGRESSION_METRICS if regression else QUALITY_METRICS, pl.Float64),
    }
    return pl.DataFrame(rows, schema=schema)


def _join(left: pl.DataFrame, right: pl.DataFrame) -> pl.DataFrame:
    return left.join(right, on=KEYS, nulls_equal=True)


def profile_rows(
    rows: pl.DataFrame,
    granularity,
    batch_id: int,
    version: int,
    options: MonitorOptions | None = None,
    dropped: dict | None = None,
) -> pl.DataFrame:
    """The profile rows of every window in `rows` (inference rows with `window_start`).

    Args:
        rows: Inference rows with `window_start`, their role columns renamed (`windows.plan`).
        granularity: The windows' `Granularity`.
        batch_id: The monitoring batch.
        version: The inference table version read.
        options: Slicing, custom metrics and problem type (default: `MonitorOptions()`).
        dropped: Filled with `{expression: rows left out by the cap}` when given.
    """
    options = options or MonitorOptions()
    metrics = options.custom_metrics
    extra = {m.name: m.dtype for m in metrics if m.type != "drift"}
    if rows.is_empty():
        return pl.DataFrame(schema=PROFILE_SCHEMA | extra)
    sliced = slices.apply(rows, options.slicing_exprs, options.max_slice_values)
    if dropped is not None:
        for expr, n in sliced.dropped_rows.items():
            dropped[expr] = dropped.get(expr, 0) + n
    frame = pl.concat(
        [
            sliced.frame.with_columns(pl.col("model_version").alias("group_version")),
            sliced.frame.with_columns(pl.lit(ALL_VERSIONS).alias("group_version")),
        ]
    )
    sizes = frame.group_by(KEYS).agg(pl.len().cast(pl.Int64).alias("count"))
    table_stats = _quality(frame, options.problem_type)
    table_custom = custom_metrics.aggregate_exprs(metrics, TABLE_COLUMN)
    if table_custom:
        table_stats = _join(table_stats, frame.group_by(KEYS).agg(table_custom))
    parts = [
        _join(sizes, table_stats).with_columns(
            pl.lit(TABLE_COLUMN).alias("column_name"),
            pl.lit("table").alias("kind"),
            pl.lit("table").alias("data_type"),
        )
    ]
    numeric, categorical = profiled_columns(options)
    for column in numeric:
        stats = frame.group_by(KEYS).agg(
            _numeric(column) + custom_metrics.aggregate_exprs(metrics, column)
        )
        parts.append(
            _join(sizes, stats).with_columns(
                pl.lit(column).alias("column_name"),
                pl.lit(NUMERIC).alias("kind"),
                pl.lit(str(rows.schema[column])).alias("data_type"),
            )
        )
    for column in categorical:
        stats = _categorical(frame, column)
        custom = custom_metrics.aggregate_exprs(metrics, column)
        if custom:
            stats = _join(stats, frame.group_by(KEYS).agg(custom))
        parts.append(
            _join(sizes, stats).with_columns(
                pl.lit(column).alias("column_name"),
                pl.lit(CATEGORICAL).alias("kind"),
                pl.lit(str(rows.schema[column])).alias("data_type"),
            )
        )
    out = pl.concat(parts, how="diagonal_relaxed")
    non_null = pl.col("count") - pl.col("num_nulls")
    out = out.with_columns(
        pl.col("group_version").alias("model_version"),
        (pl.col("window_start") + pl.duration(seconds=granularity.length.total_seconds())).alias(
            "window_end"
        ),
        pl.lit(granularity.name).alias("granularity"),
        (100.0 * pl.col("num_nulls") / pl.col("count")).alias("percent_null"),
        pl.when(non_null > 0)
        .then(100.0 * pl.col("distinct_count") / non_null)
        .alias("percent_distinct"),
        pl.lit(batch_id).alias("batch_id"),
        pl.lit(version).alias("logging_table_commit_version"),
        pl.lit(datetime.now(UTC)).alias("computed_at"),
    )
    out = custom_metrics.evaluate_derived(out, metrics)
    schema = PROFILE_SCHEMA | extra | {m.name: m.dtype for m in metrics if m.type == "derived"}
    return out.select(
        pl.col(c).cast(t) if c in out.columns else pl.lit(None, t).alias(c)
        for c, t in schema.items()
    ).sort("window_start", "model_version", "slice_key", "slice_value", "column_name")


def compute(
    batch: Batch, options: MonitorOptions | None = None, dropped: dict | None = None
) -> pl.DataFrame:
    """The profile rows of every window the batch recomputes."""
    options = options or MonitorOptions()
    frames = [profile_rows(pl.DataFrame(), None, 0, 0, options)]
    for g in batch.granularities:
        windows = batch.windows.get(g.name) or []
        if not windows:
            continue
        rows = batch.rows[g.name]
        rows = rows.filter(pl.col("window_start").is_in(pl.Series(windows).implode()))
        frames.append(profile_rows(rows, g, batch.batch_id, batch.end, options, dropped))
    return pl.concat(frames)


def update(
    settings: Settings,
    granularities,
    full_refresh: bool = False,
    options: MonitorOptions | None = None,
) -> dict:
    """Bring the profile table up to the current inference table; return what was done."""
    options = options or MonitorOptions()
    store = profile_store(settings)
    batch = claim(settings, store, granularities, full_refresh, options.columns)
    if batch is None:
        return {"nothing_new": True, "batch_id": store.committed_batch(), "windows": 0, "rows": 0}
    dropped: dict[str, int] = {}
    frame = compute(batch, options, dropped)
    version = replace_windows(
        store,
        frame,
        batch.batch_id,
        batch.replaced(),
        comment=f"Profile metrics of {INFERENCE.key} per window and version.",
        metadata={"inference_versions": [batch.start, batch.end]},
        again=batch.again,
    )
    return {
        "nothing_new": False,
        "batch_id": batch.batch_id,
        "windows": batch.window_count,
        "rows": frame.height,
        "delta_version": version,
        "full": batch.full,
        "inference_versions": {"start_exclusive": batch.start, "end": batch.end},
        "windows_by_granularity": {k: [w.isoformat() for w in v] for k, v in batch.windows.items()},
        "slice_rows_over_cap": dropped,
    }
