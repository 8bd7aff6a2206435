"""The monitoring tables: asset keys, Delta paths, schemas and the window-replacing writer.

Both tables hold one row per window (`window_start`, `window_end`, `granularity`), model version
and column, like Lakehouse Monitoring's metric tables. A run replaces the rows of the windows it
recomputed in one Delta commit that carries the app transaction `(app_id, batch_id)`, where
`batch_id` is the inference table version it read plus one: the transaction version records which
inference versions the table reflects, atomically with the rows.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import dagster as dg
import polars as pl

from mlplatform.lakehouse.delta import DeltaStore
from mlplatform.monitoring.metric_schema import METRIC_SCHEMA
from mlplatform.serving.tables import INFERENCE, LAYER
from mlplatform.settings import Settings

MONITORING = "monitoring"
PROFILE = f"{INFERENCE}_profile_metrics"
DRIFT = f"{INFERENCE}_drift_metrics"
PROFILE_KEY = dg.AssetKey([MONITORING, PROFILE])
DRIFT_KEY = dg.AssetKey([MONITORING, DRIFT])
INFERENCE_KEY = dg.AssetKey([LAYER, INFERENCE])

ALL_VERSIONS = ":all"
"""`model_version` of the profile rows over every model version of a window."""
TABLE_COLUMN = ":table"
"""`column_name` of the profile rows about the whole window (row count, model quality)."""
BASELINE, CONSECUTIVE = "BASELINE", "CONSECUTIVE"
"""`drift_type`: against the served version's training data, or against the previous window."""

UTC_US = pl.Datetime("us", "UTC")
WINDOW_SCHEMA = {
    "window_start": UTC_US,
    "window_end": UTC_US,
    "granularity": pl.String,
    "slice_key": pl.String,  # the slicing expression; null: the whole table
    "slice_value": pl.String,  # the expression's value as text
    "model_version": pl.String,
    "column_name": pl.String,
    "data_type": pl.String,
    "kind": pl.String,  # numeric | categorical | table
}
RUN_SCHEMA = {
    "batch_id": pl.Int64,
    "logging_table_commit_version": pl.Int64,  # the inference table version read
    "computed_at": UTC_US,
}
PROFILE_SCHEMA = {
    **WINDOW_SCHEMA,
    "count": pl.Int64,  # rows of the window (and version)
    "num_nulls": pl.Int64,
    "percent_null": pl.Float64,
    "num_nan": pl.Int64,
    "num_zeros": pl.Int64,
    "distinct_count": pl.Int64,
    "percent_distinct": pl.Float64,  # of the non-null values
    "min": pl.Float64,
    "max": pl.Float64,
    "avg": pl.Float64,
    "stddev": pl.Float64,
    "median": pl.Float64,
    "quantiles": pl.List(pl.Float64),  # at QUANTILE_LEVELS
    "frequent_items": pl.List(pl.Struct({"item": pl.String, "count": pl.Int64})),
    "labelled_count": pl.Int64,
    "roc_auc": pl.Float64,
    "accuracy": pl.Float64,
    "precision": pl.Float64,
    "recall": pl.Float64,
    "f1_score": pl.Float64,
    "mean_squared_error": pl.Float64,  # problem_type regression
    "root_mean_squared_error": pl.Float64,
    "mean_absolute_error": pl.Float64,
    "r2_score": pl.Float64,
    **RUN_SCHEMA,
}
DRIFT_SCHEMA = {
    **WINDOW_SCHEMA,
    "drift_type": pl.String,
    "window_cmp_start": UTC_US,  # the previous window (CONSECUTIVE); null for BASELINE
    "window_cmp_end": UTC_US,
    "baseline_gold_version": pl.Int64,  # gold Delta version of the baseline (BASELINE)
    **METRIC_SCHEMA,
    **RUN_SCHEMA,
}


def profile_store(settings: Settings) -> DeltaStore:
    return DeltaStore(settings.table_path(MONITORING, PROFILE), f"{MONITORING}/{PROFILE}")


def drift_store(settings: Settings) -> DeltaStore:
    return DeltaStore(settings.table_path(MONITORING, DRIFT), f"{MONITORING}/{DRIFT}")


def reports_dir(settings: Settings) -> Path:
    return settings.home / MONITORING / "reports"


def _literal(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def window_predicate(windows: dict[str, list[datetime]]) -> str | None:
    """SQL predicate selecting the rows of the given windows (None when there are none)."""
    parts = [
        f"(granularity = '{name}' AND window_start IN ({', '.join(repr(_literal(w)) for w in ws)}))"
        for name, ws in sorted(windows.items())
        if ws
    ]
    return " OR ".join(parts) or None


def replace_windows(
    store: DeltaStore,
    frame: pl.DataFrame,
    batch_id: int,
    windows: dict[str, list[datetime]] | None,
    comment: str,
    metadata: dict | None = None,
    again: bool = False,
) -> int:
    """Replace the rows of `windows` (all rows when None) by `frame` in one commit carrying
    `(app_id, batch_id)`; return the new table version.

    Every row of `frame` must belong to one of `windows`.
    """
    exists = store.exists()
    predicate = None if windows is None else window_predicate(windows)
    mode = "append"
    if exists and (windows is None or predicate is not None):
        mode = "overwrite"
    return store.write(
        frame,
        batch_id,
        mode=mode,
        comment=comment,
        metadata=metadata,
        predicate=predicate if mode == "overwrite" else None,
        evolve_schema=exists,  # slices and custom metrics add columns
        again=again,  # a full refresh may recompute the version the table reflects
    )
