"""The fixed column schemas of the platform's tables, as polars dtypes (cheap to import).

Config-driven columns (slices, custom metrics) are added at run time; these are the columns every
version of the table has. An inference table's identifier, feature and label columns come from
the model's declaration (`inference_schema`).
"""

from collections.abc import Sequence

import polars as pl

UTC_US = pl.Datetime("us", "UTC")
NAIVE_US = pl.Datetime("us")

PAYLOAD_SCHEMA = {
    "request_id": pl.String,
    "client_request_id": pl.String,
    "timestamp": UTC_US,
    "date": pl.Date,
    "status_code": pl.Int32,
    "execution_time_ms": pl.Float64,
    "request": pl.String,
    "response": pl.String,
    "model_name": pl.String,
    "model_version": pl.String,
    "served_features": pl.String,  # JSON: looked-up features and their source per row
    "request_bytes": pl.Int64,  # the body's size; `request` keeps at most 64 KiB of a non-200
    "request_truncated": pl.Boolean,  # `request` holds only the body's first bytes
}


def inference_schema(
    id_columns: Sequence[str], features: Sequence[str], label_dtype: pl.DataType = pl.Int64
) -> dict[str, pl.DataType]:
    """The columns of a model's inference table: one row per prediction, the request's
    identifiers (the model's lookup keys) and features as columns, where the features came from
    (`features_from`: request, online or mixed), the prediction and the label that judges it."""
    return {
        "request_id": pl.String,
        "client_request_id": pl.String,
        "row_index": pl.Int32,
        "timestamp": UTC_US,
        "date": pl.Date,
        "model_name": pl.String,
        "model_version": pl.String,
        **{c: pl.String for c in id_columns},
        **{f: pl.Float64 for f in features},
        "features_from": pl.String,
        "prediction": pl.Float64,
        "label": label_dtype,
        "label_timestamp": UTC_US,
    }


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
TEST_STRUCT = pl.Struct({"statistic": pl.Float64, "pvalue": pl.Float64})
METRIC_SCHEMA = {
    "count": pl.Int64,
    "count_cmp": pl.Int64,
    "avg_delta": pl.Float64,
    "percent_null_delta": pl.Float64,
    "ks_test": TEST_STRUCT,
    "wasserstein_distance": pl.Float64,
    "population_stability_index": pl.Float64,
    "js_distance": pl.Float64,
    "chi_squared_test": TEST_STRUCT,
    "tv_distance": pl.Float64,
    "l_infinity_distance": pl.Float64,
}
"""One drift comparison: `count` current values, `count_cmp` reference values, then the metrics."""
DRIFT_SCHEMA = {
    **WINDOW_SCHEMA,
    "drift_type": pl.String,
    "window_cmp_start": UTC_US,  # the previous window (CONSECUTIVE); null for BASELINE
    "window_cmp_end": UTC_US,
    "baseline_gold_version": pl.Int64,  # gold Delta version of the baseline (BASELINE)
    **METRIC_SCHEMA,
    **RUN_SCHEMA,
}
QUALITY_SCHEMA = {
    "table": pl.String,  # <layer>/<table>
    "checked_at": UTC_US,
    "check": pl.String,  # freshness | completeness
    "status": pl.String,  # OK | WARN | ERROR | UNKNOWN
    "observed": pl.Float64,  # seconds since the last commit | rows of the last commit
    "expected_low": pl.Float64,
    "expected_high": pl.Float64,
    "detail": pl.String,
}
