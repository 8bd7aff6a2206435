"""Silver: typed, validated customer events (a streaming table over bronze)."""

from __future__ import annotations

import polars as pl

from mlplatform.lakehouse.table import expect_or_quarantine, read_stream, table

SILVER_COLUMNS = ["customer_id", "event_type", "amount", "event_timestamp"]


def to_timestamp(column: str) -> pl.Expr:
    """ISO-8601 text to a UTC-naive timestamp; text that is not a timestamp becomes null."""
    return pl.col(column).str.to_datetime(time_unit="us", strict=False).cast(pl.Datetime("us"))


@table(
    layer="silver",
    inputs=[read_stream("bronze/raw_customer_events")],
    columns=SILVER_COLUMNS,
    properties={"quality": "silver"},
)
@expect_or_quarantine("valid_customer_id", "customer_id IS NOT NULL")
@expect_or_quarantine("valid_amount", "amount > 0")
def cleaned_customer_events(raw_customer_events: pl.LazyFrame) -> pl.LazyFrame:
    """Customer events with types applied: one row per valid event.

    Rows without a customer or with a non-positive (or non-numeric) amount are moved to
    `cleaned_customer_events_quarantine` with the rules they broke.
    """
    return raw_customer_events.with_columns(
        pl.col("amount").cast(pl.Float64, strict=False),
        to_timestamp("event_timestamp").alias("event_timestamp"),
    )
