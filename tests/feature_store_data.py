"""Small silver tables for the feature store tests (written as the silver table writes them)."""

from __future__ import annotations

from datetime import datetime

import polars as pl
from customer_churn.feature_assets import history_store, silver_store

from mlplatform.settings import Settings

SILVER_SCHEMA = {
    "customer_id": pl.String,
    "event_type": pl.String,
    "amount": pl.Float64,
    "event_timestamp": pl.Datetime("us"),
}


def events(*rows: tuple[str, str, float, str]) -> pl.DataFrame:
    """Silver rows from (customer, type, amount, ISO time) tuples."""
    return pl.DataFrame(
        [(c, t, a, datetime.fromisoformat(ts)) for c, t, a, ts in rows],
        schema=SILVER_SCHEMA,
        orient="row",
    )


def append_silver(settings: Settings, frame: pl.DataFrame) -> int:
    store = silver_store(settings)
    return store.write(frame, store.committed_batch() + 1, mode="append")


def history(settings: Settings) -> pl.DataFrame:
    return history_store(settings).read().sort("customer_id", "feature_timestamp")
