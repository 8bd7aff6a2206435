"""Bronze: raw landing files ingested incrementally, every line accounted for."""

from __future__ import annotations

from customer_churn.tables import RAW_CUSTOMER_EVENTS, RAW_CUSTOMER_LABELS
from mlplatform.lakehouse.table import files, table

EVENT_FIELDS = ["customer_id", "event_type", "amount", "event_timestamp"]
LABEL_FIELDS = ["customer_id", "churned", "label_timestamp"]


@table(
    layer=RAW_CUSTOMER_EVENTS.layer,
    name=RAW_CUSTOMER_EVENTS.name,
    inputs=[files("customer_events", EVENT_FIELDS)],
    properties={"quality": "bronze"},
)
def raw_customer_events(landing_files):
    """Customer events (page views, purchases, support tickets...) exactly as they arrived.

    One row per non-blank line of the landing files. Source fields are kept as text; anything that
    does not fit (malformed lines, unknown fields) is kept in `_rescued_data`.
    """
    return landing_files


@table(
    layer=RAW_CUSTOMER_LABELS.layer,
    name=RAW_CUSTOMER_LABELS.name,
    inputs=[files("customer_labels", LABEL_FIELDS)],
    properties={"quality": "bronze"},
)
def raw_customer_labels(landing_files):
    """Churn labels (did the customer leave?) as they arrived, one row per non-blank line."""
    return landing_files
