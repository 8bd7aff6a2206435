"""The drift metric columns (cheap to import: the definitions load them, the numeric code in
`metrics.py` is imported when a monitor runs)."""

from __future__ import annotations

import polars as pl

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
