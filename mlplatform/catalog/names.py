"""Names shared across domains: the registered model, its aliases, tags and the feature list.

Cheap to import (dagster only): every domain reads these, none defines its own copy.
"""

import dagster as dg

MODEL_NAME = "churn_predictor"
"""The registered model (MLflow)."""
CHAMPION = "champion"
CHALLENGER = "challenger"
PREVIOUS_CHAMPION = "previous_champion"

MODEL_KEY = dg.AssetKey(["ml", "churn_model"])
EVALUATION_KEY = dg.AssetKey(["ml", "churn_model_evaluation"])

PROMOTE, SKIP = "promote", "skip"
"""Values of the evaluation's `decision` metadata (read by the promotion sensor)."""

AS_OF_TAG = "as_of"
"""Model version tag: the ISO time recency was measured against (score with the same)."""
FEATURES_TAG = "feature_columns"
"""Model version tag: JSON list of the model's input columns."""
DELTA_VERSION_TAG = "delta_version."
"""Prefix of the model version tags holding the Delta version of each table read, e.g.
`delta_version.ml/churn_training_set`: what the version was trained on, the baseline monitoring
compares the served features with (`Table.version_tag`)."""

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
"""Numeric gold columns the model reads as they are."""

RECENCY = "recency_days"
"""Days between a customer's `last_event_at` and the as-of time (never negative)."""

FEATURES = [*GOLD_NUMERIC_FEATURES, RECENCY]
"""Every feature a model version may use, in model-input order (the columns of the payload's
requests, of the inference table and of monitoring's metrics)."""

DERIVED_FROM = {RECENCY: "last_event_at"}
"""Gold column each derived feature is computed from."""

ID_COLUMNS = ("customer_id",)
"""Identifier columns a request may carry: logged with the prediction, never a model input."""
