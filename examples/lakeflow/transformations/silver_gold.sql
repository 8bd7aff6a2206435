-- Silver: typed events; rows breaking a rule are dropped (the seed's two rules).
CREATE OR REFRESH STREAMING TABLE cleaned_customer_events (
  CONSTRAINT valid_customer_id EXPECT (customer_id IS NOT NULL) ON VIOLATION DROP ROW,
  CONSTRAINT valid_amount EXPECT (amount > 0) ON VIOLATION DROP ROW
)
COMMENT 'Cleaned customer events with types applied'
AS SELECT
  customer_id,
  event_type,
  TRY_CAST(amount AS DOUBLE) AS amount,
  TRY_CAST(event_timestamp AS TIMESTAMP) AS event_timestamp
FROM STREAM(raw_customer_events);

-- Gold: customer-level features, recomputed when silver changed.
CREATE MATERIALIZED VIEW customer_ml_features
COMMENT 'Customer-level features for the churn model'
AS SELECT
  customer_id,
  COUNT(*) AS total_events,
  AVG(amount) AS avg_amount,
  COUNT(event_type) AS event_count
FROM cleaned_customer_events
GROUP BY customer_id;
