"""`ml/churn_training_set`: every churn label with the customer's features as of the label time.

One row per valid label row of `bronze/raw_customer_labels` (`customer_id`, `label_timestamp`,
`churned`), with the `feature_timestamp` of the history row it was joined with and the model's
features; `recency_days` is measured from `last_event_at` to `label_timestamp`, the rule serving
applies against the request time. A label with no history row before it keeps null features
(the model imputes them); their count is in the metadata.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from mlplatform.catalog import (
    CHURN_TRAINING_SET,
    CUSTOMER_ML_FEATURES_HISTORY,
    DERIVED_FROM,
    FEATURES,
    GOLD_NUMERIC_FEATURES,
    RAW_CUSTOMER_LABELS,
    RECENCY,
)
from mlplatform.customers.history import CUSTOMER_FEATURES_HISTORY
from mlplatform.customers.labels import LABEL, label_rows
from mlplatform.customers.model_input import recency_days
from mlplatform.feature_store.spec import FeatureSpec
from mlplatform.feature_store.training_set import FeatureLookup, create_training_set
from mlplatform.lakehouse.delta import DeltaStore
from mlplatform.settings import Settings

LOOKUP_KEY = "customer_id"
TIMESTAMP_LOOKUP_KEY = "label_timestamp"
COLUMNS = [LOOKUP_KEY, TIMESTAMP_LOOKUP_KEY, LABEL, "feature_timestamp", *FEATURES]
SPEC_KEY = "feature_spec"


def clean_labels(raw: pl.DataFrame) -> pl.DataFrame:
    """Valid label rows: a customer, `churned` 0/1 and a readable time; repeated rows once."""
    return (
        label_rows(raw)
        .filter(pl.col(TIMESTAMP_LOOKUP_KEY).is_not_null())
        .select(LOOKUP_KEY, TIMESTAMP_LOOKUP_KEY, LABEL)
        .sort(LOOKUP_KEY, TIMESTAMP_LOOKUP_KEY)
    )


def feature_lookup(version: int | None = None) -> FeatureLookup:
    return FeatureLookup(
        table=CUSTOMER_FEATURES_HISTORY.name,
        lookup_key=LOOKUP_KEY,
        timestamp_lookup_key=TIMESTAMP_LOOKUP_KEY,
        feature_names=[*GOLD_NUMERIC_FEATURES, DERIVED_FROM[RECENCY]],
        version=version,
    )


def with_recency(frame: pl.DataFrame, at: str) -> pl.DataFrame:
    """`recency_days` = (`at` - `last_event_at`) in days, never negative; drops `last_event_at`."""
    return frame.with_columns(recency_days(pl.col(at))).drop(DERIVED_FROM[RECENCY])


@dataclass
class BuiltTrainingSet:
    frame: pl.DataFrame
    spec: FeatureSpec
    versions: dict[str, int]
    counts: dict[str, int]


def build(settings: Settings) -> BuiltTrainingSet | None:
    """The churn training set from the current labels and history (None if either is missing)."""
    labels_store = RAW_CUSTOMER_LABELS.store(settings)
    history_store = CUSTOMER_ML_FEATURES_HISTORY.store(settings)
    if not (labels_store.exists() and history_store.exists()):
        return None
    labels_version = labels_store.version()
    raw = labels_store.read(labels_version)
    labels = clean_labels(raw)
    lookup = feature_lookup(history_store.version())
    built = create_training_set(labels, [lookup], label=LABEL, settings=settings)
    frame = with_recency(built.load_df(), TIMESTAMP_LOOKUP_KEY).select(COLUMNS)
    versions = {**built.versions, RAW_CUSTOMER_LABELS.key: labels_version}
    spec = FeatureSpec(
        table=lookup.table,
        lookup_key=LOOKUP_KEY,
        timestamp_lookup_key=TIMESTAMP_LOOKUP_KEY,
        feature_names=list(lookup.feature_names),
        table_version=versions[lookup.table],
        derived={RECENCY: DERIVED_FROM[RECENCY]},
        training_set=CHURN_TRAINING_SET.key,
    )
    counts = {
        "label_rows_read": raw.height,
        "label_rows_invalid": raw.height - labels.height,
        "rows": frame.height,
        "customers": frame[LOOKUP_KEY].n_unique(),
        "null_feature_rows": built.null_feature_rows(),
    }
    return BuiltTrainingSet(frame, spec, versions, counts)


def store(settings: Settings) -> DeltaStore:
    return CHURN_TRAINING_SET.store(settings)


def write(settings: Settings, built: BuiltTrainingSet) -> int:
    """Overwrite the training set table; its commit records the spec and the versions read."""
    target = store(settings)
    meta = {SPEC_KEY: built.spec.to_dict(), "versions": built.versions}
    return target.write(
        built.frame,
        target.committed_batch() + 1,
        mode="overwrite",
        comment="Churn labels with the customer features as of each label time.",
        metadata=meta,
    )


def read_metadata(settings: Settings, version: int) -> dict:
    """The spec and versions recorded by the training set's commit `version`."""
    import json

    for commit in store(settings).table().history():
        if commit.get("version") == version:
            return json.loads(commit.get("mlplatform.metadata") or "{}")
    raise FileNotFoundError(
        f"{CHURN_TRAINING_SET.key} has no commit {version} in its log (cleaned up?)"
    )
