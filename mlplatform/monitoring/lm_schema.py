"""The columns of the metric tables, as Lakehouse Monitoring documents them (polars dtypes).

Both tables: `window` (struct `start`, `end`), `granularity`, `model_id` (`*`: all models;
null for time series and snapshot monitors), `log_type` (`INPUT` or `BASELINE`),
`slice_key`/`slice_value` (null: the whole table), `column_name` (`:table` for whole-table
rows), `data_type`, `logging_table_commit_version`, `monitor_version`. Beside LM's columns the
flat `window_start`/`window_end` (and `window_cmp_start` in the drift table) are kept for
filters and partition-style predicates. Map-typed fields of LM (`one_vs_all`) are lists of
`{key, value}` structs here (polars has no map type).
"""

from __future__ import annotations

import polars as pl

UTC_US = pl.Datetime("us", "UTC")
WINDOW = pl.Struct({"start": UTC_US, "end": UTC_US})
ONE_VS_ALL = pl.List(pl.Struct({"key": pl.String, "value": pl.Float64}))
AVERAGED = pl.Struct({"one_vs_all": ONE_VS_ALL, "macro": pl.Float64, "weighted": pl.Float64})
CONFUSION = pl.List(pl.Struct({"prediction": pl.String, "label": pl.String, "count": pl.Int64}))

TABLE = ":table"
ALL_MODELS = "*"
INPUT, BASELINE_LOG = "INPUT", "BASELINE"
BASELINE, CONSECUTIVE = "BASELINE", "CONSECUTIVE"

TEST = pl.Struct({"statistic": pl.Float64, "pvalue": pl.Float64})
METRIC_SCHEMA = {
    "count": pl.Int64,  # current values compared
    "count_cmp": pl.Int64,  # reference values
    "avg_delta": pl.Float64,
    "percent_null_delta": pl.Float64,
    "ks_test": TEST,
    "wasserstein_distance": pl.Float64,
    "population_stability_index": pl.Float64,
    "js_distance": pl.Float64,
    "chi_squared_test": TEST,
    "tv_distance": pl.Float64,
    "l_infinity_distance": pl.Float64,
}
"""The drift statistics (`mlplatform.monitoring.metrics` computes them)."""
KEYS_SCHEMA = {
    "window": WINDOW,
    "window_start": UTC_US,
    "window_end": UTC_US,
    "granularity": pl.String,
    "model_id": pl.String,
    "log_type": pl.String,
    "slice_key": pl.String,
    "slice_value": pl.String,
    "column_name": pl.String,
    "data_type": pl.String,
    "logging_table_commit_version": pl.Int64,
    "monitor_version": pl.Int64,
}
CLASSIFICATION_SCHEMA = {
    "accuracy_score": pl.Float64,
    "precision": AVERAGED,
    "recall": AVERAGED,
    "f1_score": AVERAGED,
    "roc_auc": pl.Float64,
    "confusion_matrix": CONFUSION,
}
REGRESSION_SCHEMA = {
    "mean_squared_error": pl.Float64,
    "root_mean_squared_error": pl.Float64,
    "mean_average_error": pl.Float64,
    "mean_absolute_error": pl.Float64,
    "r2_score": pl.Float64,
    "mean_absolute_percentage_error": pl.Float64,
}
PROFILE_SCHEMA = {
    **KEYS_SCHEMA,
    "count": pl.Int64,
    "num_nulls": pl.Int64,
    "percent_null": pl.Float64,
    "num_nan": pl.Int64,
    "percent_nan": pl.Float64,
    "num_zeros": pl.Int64,
    "percent_zeros": pl.Float64,
    "distinct_count": pl.Int64,
    "percent_distinct": pl.Float64,
    "avg": pl.Float64,
    "min": pl.Float64,
    "max": pl.Float64,
    "stddev": pl.Float64,
    "median": pl.Float64,
    "quantiles": pl.List(pl.Float64),
    "min_length": pl.Int64,
    "max_length": pl.Int64,
    "avg_length": pl.Float64,
    "frequent_items": pl.List(pl.Struct({"item": pl.String, "count": pl.Int64})),
    **CLASSIFICATION_SCHEMA,
    **REGRESSION_SCHEMA,
}
DRIFT_SCHEMA = {
    **KEYS_SCHEMA,
    "drift_type": pl.String,
    "window_cmp": WINDOW,
    "window_cmp_start": UTC_US,
    **METRIC_SCHEMA,
}
QUANTILE_LEVELS = (0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99)
"""`quantiles` holds these levels, linear interpolation (numpy's default)."""
