"""Gold: one row of ML features per customer (a live table over silver)."""

from __future__ import annotations

import polars as pl

from mlplatform.lakehouse.table import expect_or_fail, read, table

EVENT_TYPES = ["page_view", "login", "add_to_cart", "purchase", "support_ticket"]


@table(
    layer="gold",
    inputs=[read("silver/cleaned_customer_events")],
    properties={"quality": "gold"},
)
@expect_or_fail("has_customer_id", "customer_id IS NOT NULL")
def customer_ml_features(cleaned_customer_events: pl.LazyFrame) -> pl.LazyFrame:
    """Per-customer activity features for churn modelling.

    `total_events`, `avg_amount` and `event_count` are the seed's aggregation; `total_spend`,
    `purchase_count`, the share of each event type, `first_event_at` and `last_event_at` feed
    the model. Recency is computed against an explicit as-of time at training and scoring.
    """
    events = cleaned_customer_events
    mix = [
        (pl.col("event_type") == t).sum().cast(pl.Float64).truediv(pl.len()).alias(f"share_{t}")
        for t in EVENT_TYPES
    ]
    return (
        events.group_by("customer_id")
        .agg(
            pl.len().cast(pl.Int64).alias("total_events"),
            pl.col("amount").mean().alias("avg_amount"),
            pl.col("event_type").count().cast(pl.Int64).alias("event_count"),
            pl.col("amount").sum().alias("total_spend"),
            (pl.col("event_type") == "purchase").sum().cast(pl.Int64).alias("purchase_count"),
            *mix,
            pl.col("event_timestamp").min().alias("first_event_at"),
            pl.col("event_timestamp").max().alias("last_event_at"),
        )
        .sort("customer_id")
    )
