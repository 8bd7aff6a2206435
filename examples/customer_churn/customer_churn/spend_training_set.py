"""`ml/spend_training_set`: what each observed customer spent in the 30 days after the
observation, with their features as of the observation time (point in time).

The observations are the label rows of `bronze/raw_customer_labels` (customer, time); the label
`spend_30d` is the sum of the customer's valid silver event amounts in (time, time + 30 days],
0 when none. Only observations whose 30 days lie within the events seen so far are kept (a later
window would count spend that has not happened yet).
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from customer_churn.churn_training_set import BuiltTrainingSet, build_from, clean_labels
from customer_churn.tables import CLEANED_CUSTOMER_EVENTS, RAW_CUSTOMER_LABELS, SPEND_TRAINING_SET
from mlplatform.settings import Settings

LABEL = "spend_30d"
HORIZON = timedelta(days=30)


def spend_labels(observations: pl.DataFrame, events: pl.DataFrame) -> pl.DataFrame:
    """`customer_id`, `label_timestamp`, `spend_30d` for each observation whose horizon ended
    before the last event."""
    last = events["event_timestamp"].max()
    if last is None:
        return pl.DataFrame(
            schema={
                "customer_id": pl.String,
                "label_timestamp": pl.Datetime("us"),
                LABEL: pl.Float64,
            }
        )
    obs = (
        observations.select("customer_id", "label_timestamp")
        .unique()
        .filter(pl.col("label_timestamp") + HORIZON <= last)
    )
    joined = obs.join(
        events.select("customer_id", "event_timestamp", "amount"), on="customer_id", how="left"
    )
    within = (pl.col("event_timestamp") > pl.col("label_timestamp")) & (
        pl.col("event_timestamp") <= pl.col("label_timestamp") + HORIZON
    )
    return (
        joined.group_by("customer_id", "label_timestamp")
        .agg(pl.col("amount").filter(within).sum().fill_null(0.0).cast(pl.Float64).alias(LABEL))
        .sort("customer_id", "label_timestamp")
    )


def build(settings: Settings) -> BuiltTrainingSet | None:
    """The spend training set from the current labels, silver and history (None if missing)."""
    labels_store = RAW_CUSTOMER_LABELS.store(settings)
    silver = CLEANED_CUSTOMER_EVENTS.store(settings)
    if not (labels_store.exists() and silver.exists()):
        return None
    labels_version, silver_version = labels_store.version(), silver.version()
    raw = labels_store.read(labels_version)
    events = silver.read(silver_version).filter(pl.col("event_timestamp").is_not_null())
    labels = spend_labels(clean_labels(raw), events)
    read = {RAW_CUSTOMER_LABELS.key: labels_version, CLEANED_CUSTOMER_EVENTS.key: silver_version}
    return build_from(settings, raw, labels, LABEL, SPEND_TRAINING_SET, read)
