"""`gold/customer_ml_features_history`: the customer features as they were at the end of each day.

One row per customer and UTC period (a day by default) on which the customer had events. The row's
`feature_timestamp` is the end of the period (the next midnight, UTC, naive as silver's
`event_timestamp`); its features are those of `gold/customer_ml_features`, computed over every
silver event of the customer with `event_timestamp < feature_timestamp`. Events without a
timestamp cannot be placed in a period and are left out (counted in the metadata).
"""

from __future__ import annotations

import polars as pl

from customer_churn.tables import CUSTOMER_ML_FEATURES_HISTORY as HISTORY
from customer_churn.tables import EVENT_TYPES
from mlplatform.feature_store.table import Feature, FeatureTable, register
from mlplatform.feature_store.timeseries import SeriesSpec

OWNER = "ml-platform"
GRANULARITIES = {"1 day": "1d", "1 hour": "1h"}
"""Config values of the period length and their polars durations."""

_FEATURES = (
    Feature("total_events", "bigint", "Events of the customer before feature_timestamp.", OWNER),
    Feature("avg_amount", "double", "Mean amount of those events.", OWNER),
    Feature("event_count", "bigint", "Those events with an event type.", OWNER),
    Feature("total_spend", "double", "Sum of the amounts of those events.", OWNER),
    Feature("purchase_count", "bigint", "Purchase events among them.", OWNER),
    *(
        Feature(f"share_{t}", "double", f"Share of {t} events among them.", OWNER)
        for t in EVENT_TYPES
    ),
    Feature("first_event_at", "timestamp_ntz", "Time of the customer's first event.", OWNER),
    Feature(
        "last_event_at",
        "timestamp_ntz",
        "Time of the latest event before feature_timestamp (recency is computed from it "
        "against the label or request time).",
        OWNER,
    ),
)

CUSTOMER_FEATURES_HISTORY = register(
    FeatureTable(
        name=HISTORY.key,
        primary_keys=("customer_id", "feature_timestamp"),
        timestamp_key="feature_timestamp",
        features=_FEATURES,
        description="The customer features of gold/customer_ml_features as they were at the end "
        "of each UTC day with events (point-in-time correct training sets join on it).",
        key_types={"customer_id": "string", "feature_timestamp": "timestamp_ntz"},
    )
)


def duration(granularity: str) -> str:
    """The polars duration of a granularity config value.

    Raises:
        ValueError: not one of the allowed values.
    """
    try:
        return GRANULARITIES[granularity.strip().lower()]
    except KeyError:
        raise ValueError(
            f"granularity {granularity!r} is not supported; use one of {list(GRANULARITIES)}"
        ) from None


def period_end(every: str):
    """The end of the period an event time falls in (the first feature row counting it)."""
    return lambda ts: ts.dt.truncate(every).dt.offset_by(every)


def history_rows(events: pl.DataFrame, every: str) -> pl.DataFrame:
    """Every history row of the customers in `events` (silver rows), cumulative per customer."""
    ts = pl.col("event_timestamp")
    per_type = [
        (pl.col("event_type") == t).fill_null(False).sum().alias(f"_n_{t}") for t in EVENT_TYPES
    ]
    periods = (
        events.lazy()
        .filter(ts.is_not_null())
        .with_columns(period_end(every)(ts).cast(pl.Datetime("us")).alias("feature_timestamp"))
        .group_by("customer_id", "feature_timestamp")
        .agg(
            pl.len().alias("_n"),
            pl.col("event_type").count().alias("_n_type"),
            pl.col("amount").count().alias("_n_amount"),
            pl.col("amount").sum().alias("_sum_amount"),
            *per_type,
            ts.min().alias("_first"),
            ts.max().alias("_last"),
        )
        .sort("customer_id", "feature_timestamp")
    )
    cum = {
        c: pl.col(c).cum_sum().over("customer_id")
        for c in ["_n", "_n_type", "_n_amount", "_sum_amount", *(f"_n_{t}" for t in EVENT_TYPES)]
    }
    n = cum["_n"].cast(pl.Float64)
    return (
        periods.select(
            "customer_id",
            "feature_timestamp",
            cum["_n"].cast(pl.Int64).alias("total_events"),
            pl.when(cum["_n_amount"] > 0)
            .then(cum["_sum_amount"] / cum["_n_amount"])
            .alias("avg_amount"),
            cum["_n_type"].cast(pl.Int64).alias("event_count"),
            pl.when(cum["_n_amount"] > 0).then(cum["_sum_amount"]).alias("total_spend"),
            cum["_n_purchase"].cast(pl.Int64).alias("purchase_count"),
            *((cum[f"_n_{t}"].cast(pl.Float64) / n).alias(f"share_{t}") for t in EVENT_TYPES),
            pl.col("_first")
            .cum_min()
            .over("customer_id")
            .cast(pl.Datetime("us"))
            .alias("first_event_at"),
            pl.col("_last")
            .cum_max()
            .over("customer_id")
            .cast(pl.Datetime("us"))
            .alias("last_event_at"),
        )
        .with_columns(pl.col("avg_amount", "total_spend").cast(pl.Float64))
        .collect()
    )


def series_spec(granularity: str) -> SeriesSpec:
    """The refresh spec of the history table at `granularity` ("1 day" or "1 hour")."""
    every = duration(granularity)
    return SeriesSpec(
        key="customer_id",
        timestamp_key="feature_timestamp",
        source_time="event_timestamp",
        compute=lambda events: history_rows(events, every),
        period_end=period_end(every),
        settings={"granularity": granularity.strip().lower()},
    )
