"""The churn labels of `bronze/raw_customer_labels`, typed and validated once for every reader.

Bronze keeps the label lines as text; `label_rows` is the one rule that reads them: a row counts
when it has a customer and `churned` is 0 or 1 (spaces allowed). Training, the training set and
the inference table's labels all start from it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from customer_churn.tables import RAW_CUSTOMER_LABELS

if TYPE_CHECKING:
    from mlplatform.settings import Settings

LABEL = "churned"
LABEL_COLUMNS = ["customer_id", LABEL, "label_timestamp"]


def label_rows(raw: pl.DataFrame) -> pl.DataFrame:
    """Every valid label row once: `customer_id` (string), `churned` (Int8, 0/1) and
    `label_timestamp` (naive UTC microseconds; null when the text is not a time)."""
    return (
        raw.select(
            pl.col("customer_id").cast(pl.String),
            pl.col(LABEL).cast(pl.String).str.strip_chars().cast(pl.Int8, strict=False),
            pl.col("label_timestamp")
            .cast(pl.String)
            .str.to_datetime(time_unit="us", time_zone="UTC", strict=False)
            .dt.replace_time_zone(None),
        )
        .filter(pl.col("customer_id").is_not_null() & pl.col(LABEL).is_in([0, 1]))
        .unique(maintain_order=True)
    )


def latest_labels(raw: pl.DataFrame) -> pl.DataFrame:
    """One label per customer (the latest `label_timestamp`): `customer_id`, `churned`."""
    return (
        label_rows(raw)
        .sort("customer_id", "label_timestamp", nulls_last=False)
        .unique("customer_id", keep="last", maintain_order=True)
        .select("customer_id", LABEL)
    )


def read_labels(settings: Settings, version: int | None = None) -> pl.DataFrame | None:
    """The label columns of the labels table (at `version`, else the current one); None when
    there is no table yet."""
    store = RAW_CUSTOMER_LABELS.store(settings)
    if not store.exists():
        return None
    return store.scan(version).select(LABEL_COLUMNS).collect()
