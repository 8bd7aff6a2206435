"""The pipeline's tables as Dagster assets."""

from __future__ import annotations

from customer_churn.bronze import raw_customer_events, raw_customer_labels
from customer_churn.gold import customer_ml_features
from customer_churn.silver import cleaned_customer_events
from mlplatform.lakehouse.assets import build_table_asset

TABLES = [raw_customer_events, raw_customer_labels, cleaned_customer_events, customer_ml_features]

OWNERS = ["team:data-platform"]
SCHEMAS = {t.key: t.column_schema() for t in TABLES if t.column_schema()}

table_assets = [build_table_asset(t, upstream_schemas=SCHEMAS, owners=OWNERS) for t in TABLES]
