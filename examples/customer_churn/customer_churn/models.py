"""The project's two models, declared for mlplatform's lifecycle.

`churn_predictor` (classification): will the customer leave within the next 30 days?
`spend_predictor` (regression): what will the customer spend over the next 30 days?
Both read the same features (the customer feature history, point in time) and are served by
their own `mlplatform serve --model` process with their own payload and inference tables.
"""

from __future__ import annotations

import polars as pl

from customer_churn.gold_source import gold_source, truth_propensity
from customer_churn.labels import read_labels
from customer_churn.tables import (
    CHURN_TRAINING_SET,
    CUSTOMER_ML_FEATURES,
    DERIVED_FROM,
    FEATURES,
    LOOKUP_KEY,
    ONLINE_CUSTOMER_ML_FEATURES,
    RAW_CUSTOMER_LABELS,
    SPEND_TRAINING_SET,
)
from mlplatform.settings import Settings
from mlplatform.training.lifecycle import RELATIVE_RMSE, Gate, ModelLifecycle


def _churn_labels(settings: Settings, version: int | None = None) -> pl.DataFrame | None:
    """Churn labels for the inference table: customer_id, label, label_timestamp."""
    from customer_churn.labels import label_rows

    raw = read_labels(settings, version)
    if raw is None:
        return None
    return label_rows(raw).select(
        "customer_id", pl.col("churned").alias("label"), "label_timestamp"
    )


def _truth(settings: Settings, holdout: pl.DataFrame):
    return truth_propensity(settings, holdout["customer_id"])


COMMON = {
    "features": tuple(FEATURES),
    "entity_key": LOOKUP_KEY,
    "derived": DERIVED_FROM,
    "feature_table": CUSTOMER_ML_FEATURES,
    "label_time": "label_timestamp",
    "refresh_groups": ("bronze", "silver", "gold"),
    "online_table": ONLINE_CUSTOMER_ML_FEATURES.name,
}

CHURN = ModelLifecycle(
    registered_model="churn_predictor",
    asset_name="churn_model",
    training_set=CHURN_TRAINING_SET,
    label="churned",
    problem_type="classification",
    gate=Gate(threshold=0.65, min_improvement=0.005, floor=0.55),
    description="The churn predictor: how likely each customer is to leave, from the "
    "point-in-time training set (`ml/churn_training_set`). Registers a new version of "
    "`churn_predictor` with alias `challenger`.",
    training_job="ml_training_job",
    promote_job="promote_model",
    promote_op="promote_champion",
    schedule="ml_training_daily",
    holdout_salt="churn-holdout-v1",
    legacy_source=gold_source,
    reference_scores=_truth,
    label_reader=_churn_labels,
    labels_table=RAW_CUSTOMER_LABELS,
    **COMMON,
)

SPEND = ModelLifecycle(
    registered_model="spend_predictor",
    asset_name="spend_model",
    training_set=SPEND_TRAINING_SET,
    label="spend_30d",
    problem_type="regression",
    # RMSE relative to the labels' spread, so the bar holds at any scale of the demo's data: a
    # version must predict better than the holdout's mean and not be worse than the champion
    metric=RELATIVE_RMSE,
    gate=Gate(threshold=1.0, min_improvement=None, floor=1.0),
    description="Spend over the next 30 days per customer (a regression on the churn model's "
    "features), from `ml/spend_training_set`. Registers `spend_predictor` versions.",
    holdout_salt="spend-holdout-v1",
    cron="30 3 * * *",
    **COMMON,
)

MODELS = (CHURN, SPEND)
