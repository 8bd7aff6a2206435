"""Gold: one row of ML features per customer (a live table over silver)."""

from __future__ import annotations

from customer_churn.tables import CLEANED_CUSTOMER_EVENTS, CUSTOMER_ML_FEATURES, EVENT_TYPES
from mlplatform.lakehouse.engines.base import sql
from mlplatform.lakehouse.table import expect_or_fail, read, table

_SHARES = ",\n".join(
    f"CAST(SUM(CASE WHEN event_type = '{t}' THEN 1 ELSE 0 END) AS DOUBLE) / COUNT(*) AS share_{t}"
    for t in EVENT_TYPES
)


@table(
    layer=CUSTOMER_ML_FEATURES.layer,
    name=CUSTOMER_ML_FEATURES.name,
    inputs=[read(CLEANED_CUSTOMER_EVENTS.key)],
    properties={"quality": "gold"},
    schema=CUSTOMER_ML_FEATURES.delta_schema(),
)
@expect_or_fail("has_customer_id", "customer_id IS NOT NULL")
def customer_ml_features(cleaned_customer_events):
    """Per-customer activity features for churn modelling.

    `total_events`, `avg_amount` and `event_count` are the seed's aggregation; `total_spend`,
    `purchase_count`, the share of each event type, `first_event_at` and `last_event_at` feed
    the model. Recency is computed against an explicit as-of time at training and scoring.
    """
    return sql(
        f"""
        SELECT customer_id,
               CAST(COUNT(*) AS BIGINT) AS total_events,
               AVG(amount) AS avg_amount,
               CAST(COUNT(event_type) AS BIGINT) AS event_count,
               SUM(amount) AS total_spend,
               CAST(SUM(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) AS BIGINT)
                   AS purchase_count,
               {_SHARES},
               MIN(event_timestamp) AS first_event_at,
               MAX(event_timestamp) AS last_event_at
        FROM cleaned_customer_events
        GROUP BY customer_id
        ORDER BY customer_id
        """
    )
