"""Names other components rely on: the registered model, its aliases, tags and asset keys.

Cheap to import (no MLflow, no scikit-learn): serving and monitoring read these too.
"""

import dagster as dg

MODEL_NAME = "churn_predictor"
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
`delta_version.gold/customer_ml_features`."""
