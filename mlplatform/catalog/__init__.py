"""The catalog: the `Table` type, the tables the platform names (table quality, each model's
payload and inference tables) and the names shared across domains (aliases, decisions, tags).

The bottom of the domains: it imports only dagster, polars, `mlplatform.settings` and (on use)
`mlplatform.lakehouse`. A project's tables and feature columns are its own declaration.
`monitored` holds the demo model's names monitoring still imports (a leftover, see there).
"""

from mlplatform.catalog import schemas
from mlplatform.catalog.monitored import (
    CHURN_TRAINING_SET,
    CUSTOMER_ML_FEATURES,
    DERIVED_FROM,
    DRIFT_METRICS,
    FEATURES,
    INFERENCE,
    MODEL_NAME,
    PAYLOAD,
    PROFILE_METRICS,
)
from mlplatform.catalog.names import (
    AS_OF_TAG,
    CHALLENGER,
    CHAMPION,
    DELTA_VERSION_TAG,
    FEATURES_TAG,
    PREVIOUS_CHAMPION,
    PROMOTE,
    SKIP,
)
from mlplatform.catalog.tables import (
    TABLE_QUALITY,
    OnlineTable,
    Table,
    delta_type,
    inference_table,
    payload_table,
)

__all__ = [
    "AS_OF_TAG",
    "CHALLENGER",
    "CHAMPION",
    "CHURN_TRAINING_SET",
    "CUSTOMER_ML_FEATURES",
    "DELTA_VERSION_TAG",
    "DERIVED_FROM",
    "DRIFT_METRICS",
    "FEATURES",
    "FEATURES_TAG",
    "INFERENCE",
    "MODEL_NAME",
    "PAYLOAD",
    "PREVIOUS_CHAMPION",
    "PROFILE_METRICS",
    "PROMOTE",
    "SKIP",
    "TABLE_QUALITY",
    "OnlineTable",
    "Table",
    "delta_type",
    "inference_table",
    "payload_table",
    "schemas",
]
