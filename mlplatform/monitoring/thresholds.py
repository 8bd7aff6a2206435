"""Which drift rows cross their warn or error levels (shared by the checks, sensor and report)."""

from __future__ import annotations

import polars as pl

from mlplatform.monitoring.config import DriftRules, Threshold

WARN, ERROR = "WARN", "ERROR"
BREACH_SCHEMA = {
    "granularity": pl.String,
    "window_start": pl.Datetime("us", "UTC"),
    "window_cmp_start": pl.Datetime("us", "UTC"),
    "model_version": pl.String,
    "slice_key": pl.String,
    "slice_value": pl.String,
    "drift_type": pl.String,
    "column_name": pl.String,
    "metric": pl.String,
    "value": pl.Float64,
    "threshold": pl.Float64,
    "level": pl.String,
}


def metric_expr(metric: str) -> pl.Expr:
    """The drift table value a threshold applies to (`ks_test.pvalue` reads the struct field)."""
    if "." in metric:
        column, part = metric.split(".", 1)
        return pl.col(column).struct.field(part)
    if metric in ("ks_test", "chi_squared_test"):
        return pl.col(metric).struct.field("statistic")
    return pl.col(metric)


def _crosses(value: pl.Expr, level: float, threshold: Threshold) -> pl.Expr:
    return value <= level if threshold.lower_is_worse else value >= level


FEW_ROWS, NOT_SIGNIFICANT = "few rows", "not significant"
"""Why a drift row is not judged (`unjudged_reason`)."""


def _pvalue() -> pl.Expr:
    return pl.coalesce(
        pl.col("ks_test").struct.field("pvalue"), pl.col("chi_squared_test").struct.field("pvalue")
    )


def unjudged_reason(rules: DriftRules) -> pl.Expr:
    """Why a drift row is not judged (`FEW_ROWS`: fewer than `rules.min_rows` values on a
    side; `NOT_SIGNIFICANT`: its test's p-value is above `rules.alpha`), null when it is."""
    few = (pl.min_horizontal("count", "count_cmp") < rules.min_rows).fill_null(True)
    reason = pl.when(few).then(pl.lit(FEW_ROWS))
    if rules.alpha is not None:
        reason = reason.when(_pvalue().fill_null(1.0) > rules.alpha).then(pl.lit(NOT_SIGNIFICANT))
    return reason.otherwise(pl.lit(None, pl.String)).alias("unjudged")


def crossings(drift: pl.DataFrame, rules: DriftRules) -> pl.DataFrame:
    """One row per (drift row, metric) over its warn or error level, the worse level only,
    judged or not: `breaches` with a column `unjudged` (`unjudged_reason`, null when judged)."""
    schema = BREACH_SCHEMA | {"unjudged": pl.String}
    if drift.is_empty():
        return pl.DataFrame(schema=schema)
    for column in ("slice_key", "slice_value"):  # a table written before slices existed
        if column not in drift.columns:
            drift = drift.with_columns(pl.lit(None, pl.String).alias(column))
    drift = drift.with_columns(unjudged_reason(rules))
    found = [pl.DataFrame(schema=schema)]
    for metric, threshold in rules.thresholds.items():
        value = metric_expr(metric)
        for level, bound in ((ERROR, threshold.error), (WARN, threshold.warn)):
            if bound is None:
                continue
            hits = drift.filter(_crosses(value, bound, threshold).fill_null(False))
            if level == WARN and threshold.error is not None:
                hits = hits.filter(~_crosses(value, threshold.error, threshold).fill_null(False))
            found.append(
                hits.select(
                    "granularity",
                    "window_start",
                    "window_cmp_start",
                    "model_version",
                    "slice_key",
                    "slice_value",
                    "drift_type",
                    "column_name",
                    pl.lit(metric).alias("metric"),
                    value.alias("value"),
                    pl.lit(float(bound)).alias("threshold"),
                    pl.lit(level).alias("level"),
                    "unjudged",
                )
            )
    return (
        pl.concat(found, how="vertical_relaxed")
        .cast(schema)
        .sort(
            "granularity",
            "window_start",
            "model_version",
            "slice_key",
            "slice_value",
            "column_name",
            "metric",
            nulls_last=False,
        )
    )


def breaches(drift: pl.DataFrame, rules: DriftRules) -> pl.DataFrame:
    """One row per (drift row, metric) over its warn or error level, the worse level only.

    Rows with fewer than `rules.min_rows` values on either side, and, when `rules.alpha` is set,
    rows whose KS or chi-squared p-value is above it, never breach (`unjudged_reason`).
    """
    found = crossings(drift, rules)
    return found.filter(pl.col("unjudged").is_null()).drop("unjudged")


def slice_name(slice_key: str | None, slice_value: str | None) -> str:
    """`slice total_events > 50 = true` (`= null` for the rows where the expression is null), or
    "" for the whole table."""
    if slice_key is None:
        return ""
    return f"slice {slice_key} = {'null' if slice_value is None else slice_value}"


def describe(found: pl.DataFrame, limit: int = 12) -> str:
    """One line naming each drifted column and where, worst first, e.g. `avg_amount (1 hour
    window 2026-01-01T10:00Z, version 3: population_stability_index 1.23 >= 0.25)`."""
    keys = [
        "column_name",
        "granularity",
        "window_start",
        "model_version",
        "slice_key",
        "slice_value",
        "drift_type",
    ]
    grouped = (
        found.sort("level", "value", descending=[False, True])
        .group_by(keys, maintain_order=True)
        .agg("metric", "value", "threshold")
    )
    items = []
    for row in grouped.head(limit).iter_rows(named=True):
        values = ", ".join(
            f"{m} {v:.4g} {'<=' if m.endswith('pvalue') else '>='} {t:g}"
            for m, v, t in zip(row["metric"], row["value"], row["threshold"], strict=True)
        )
        where = slice_name(row["slice_key"], row["slice_value"])
        items.append(
            f"{row['column_name']} ({row['granularity']} window "
            f"{row['window_start']:%Y-%m-%dT%H:%MZ}, version {row['model_version']}"
            f"{', ' + where if where else ''}: {values})"
        )
    more = grouped.height - len(items)
    return "; ".join(items) + (f"; and {more} more" if more > 0 else "")
