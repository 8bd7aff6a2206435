"""The pipeline's tables as Dagster assets."""

from __future__ import annotations

from mlplatform.features.bronze import raw_customer_events, raw_customer_labels
from mlplatform.features.gold import customer_ml_features
from mlplatform.features.silver import cleaned_customer_events
from mlplatform.lakehouse.assets import build_table_asset

TABLES = [raw_customer_events, raw_customer_labels, cleaned_customer_events, customer_ml_features]

table_assets = [build_table_asset(t) for t in TABLES]
