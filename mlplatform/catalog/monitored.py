"""The demo model's names that `mlplatform.monitoring` still imports: a leftover, removed when
monitoring takes the project's `QualityMonitor` (`mlplatform.project.model`) instead.

Nothing but `mlplatform.monitoring` (and its tests) may import these: the platform's training,
serving and feature store take every name from the project's declaration. The values copy the
demo project's (under `examples/`), which declares them for itself.
"""

from mlplatform.catalog import schemas
from mlplatform.catalog.tables import Table, inference_table, payload_table

MODEL_NAME = "churn_predictor"
EVENT_TYPES = ["page_view", "login", "add_to_cart", "purchase", "support_ticket"]
GOLD_NUMERIC_FEATURES = [
    "total_events",
    "avg_amount",
    "event_count",
    "total_spend",
    "purchase_count",
    *(f"share_{t}" for t in EVENT_TYPES),
]
RECENCY = "recency_days"
FEATURES = [*GOLD_NUMERIC_FEATURES, RECENCY]
DERIVED_FROM = {RECENCY: "last_event_at"}
ID_COLUMNS = ("customer_id",)

CUSTOMER_ML_FEATURES = Table("gold", "customer_ml_features")
CHURN_TRAINING_SET = Table("ml", "churn_training_set")
INFERENCE_TABLE_SCHEMA = schemas.inference_schema(ID_COLUMNS, FEATURES)
INFERENCE_SCHEMA = {k: v for k, v in INFERENCE_TABLE_SCHEMA.items() if k != "features_from"}
PAYLOAD = payload_table(MODEL_NAME)
INFERENCE = inference_table(MODEL_NAME, INFERENCE_TABLE_SCHEMA)
PROFILE_METRICS = Table("monitoring", f"{INFERENCE.name}_profile_metrics", schemas.PROFILE_SCHEMA)
DRIFT_METRICS = Table("monitoring", f"{INFERENCE.name}_drift_metrics", schemas.DRIFT_SCHEMA)
