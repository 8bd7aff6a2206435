"""Silver: typed, validated customer events (a streaming table over bronze)."""

from __future__ import annotations

from customer_churn.tables import CLEANED_CUSTOMER_EVENTS, RAW_CUSTOMER_EVENTS
from mlplatform.lakehouse.engines.base import sql
from mlplatform.lakehouse.table import expect_or_quarantine, read_stream, table


@table(
    layer=CLEANED_CUSTOMER_EVENTS.layer,
    name=CLEANED_CUSTOMER_EVENTS.name,
    inputs=[read_stream(RAW_CUSTOMER_EVENTS.key)],
    columns=list(CLEANED_CUSTOMER_EVENTS.schema),
    properties={"quality": "silver"},
    schema=CLEANED_CUSTOMER_EVENTS.delta_schema(),
)
@expect_or_quarantine("valid_customer_id", "customer_id IS NOT NULL")
@expect_or_quarantine("valid_amount", "amount > 0")
def cleaned_customer_events(raw_customer_events):
    """Customer events with types applied: one row per valid event.

    Rows without a customer or with a non-positive (or non-numeric) amount are moved to
    `cleaned_customer_events_quarantine` with the rules they broke and their source values.
    """
    return sql(
        """
        SELECT customer_id,
               event_type,
               TRY_CAST(amount AS DOUBLE) AS amount,
               TRY_CAST(event_timestamp AS TIMESTAMP) AS event_timestamp
        FROM raw_customer_events
        """
    )
