"""The demo project's names: its tables (layer, name, schema), feature columns and event types."""

import polars as pl

from mlplatform.catalog import OnlineTable, Table

NAIVE_US = pl.Datetime("us")
EVENT_TYPES = ["page_view", "login", "add_to_cart", "purchase", "support_ticket"]
"""The event types gold counts a share of (`share_<type>`)."""
GOLD_NUMERIC_FEATURES = [
    "total_events",
    "avg_amount",
    "event_count",
    "total_spend",
    "purchase_count",
    *(f"share_{t}" for t in EVENT_TYPES),
]
"""Numeric gold columns the models read as they are."""
RECENCY = "recency_days"
"""Days between a customer's `last_event_at` and the as-of time (never negative)."""
FEATURES = [*GOLD_NUMERIC_FEATURES, RECENCY]
"""Every feature a model version may use, in model-input order."""
DERIVED_FROM = {RECENCY: "last_event_at"}
"""Gold column each derived feature is computed from."""
LOOKUP_KEY = "customer_id"

SILVER_SCHEMA = {
    "customer_id": pl.String,
    "event_type": pl.String,
    "amount": pl.Float64,
    "event_timestamp": NAIVE_US,
}
GOLD_SCHEMA = {
    "customer_id": pl.String,
    "total_events": pl.Int64,
    "avg_amount": pl.Float64,
    "event_count": pl.Int64,
    "total_spend": pl.Float64,
    "purchase_count": pl.Int64,
    **{f"share_{t}": pl.Float64 for t in EVENT_TYPES},
    "first_event_at": NAIVE_US,
    "last_event_at": NAIVE_US,
}

RAW_CUSTOMER_EVENTS = Table("bronze", "raw_customer_events")
RAW_CUSTOMER_LABELS = Table("bronze", "raw_customer_labels")
CLEANED_CUSTOMER_EVENTS = Table("silver", "cleaned_customer_events", SILVER_SCHEMA)
CLEANED_CUSTOMER_EVENTS_QUARANTINE = Table("silver", "cleaned_customer_events_quarantine")
CUSTOMER_ML_FEATURES = Table("gold", "customer_ml_features", GOLD_SCHEMA)
CUSTOMER_ML_FEATURES_HISTORY = Table("gold", "customer_ml_features_history")
CHURN_TRAINING_SET = Table("ml", "churn_training_set")
SPEND_TRAINING_SET = Table("ml", "spend_training_set")
ONLINE_CUSTOMER_ML_FEATURES = OnlineTable("online", "customer_ml_features")

TABLES = (
    RAW_CUSTOMER_EVENTS,
    RAW_CUSTOMER_LABELS,
    CLEANED_CUSTOMER_EVENTS,
    CLEANED_CUSTOMER_EVENTS_QUARANTINE,
    CUSTOMER_ML_FEATURES,
    CUSTOMER_ML_FEATURES_HISTORY,
    CHURN_TRAINING_SET,
    SPEND_TRAINING_SET,
)
"""Every Delta table of the project's pipeline and feature store."""
