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

from customer_churn.history import CUSTOMER_FEATURES_HISTORY
from customer_churn.labels import LABEL, label_rows
from customer_churn.tables import (
    CHURN_TRAINING_SET,
    CUSTOMER_ML_FEATURES_HISTORY,
    DERIVED_FROM,
    FEATURES,
    GOLD_NUMERIC_FEATURES,
    RAW_CUSTOMER_LABELS,
    RECENCY,
)
from mlplatform.feature_store.derived import days_since
from mlplatform.feature_store.spec import FeatureSpec
from mlplatform.feature_store.training_set import FeatureLookup, create_training_set
from mlplatform.feature_store.training_table import (
    read_training_set_metadata,
    write_training_set,
)
from mlplatform.lakehouse.delta import DeltaStore
from mlplatform.settings import Settings

LOOKUP_KEY = "customer_id"
TIMESTAMP_LOOKUP_KEY = "label_timestamp"
COLUMNS = [LOOKUP_KEY, TIMESTAMP_LOOKUP_KEY, LABEL, "feature_timestamp", *FEATURES]


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
    last = pl.col(DERIVED_FROM[RECENCY])
    return frame.with_columns(days_since(pl.col(at), last, RECENCY)).drop(DERIVED_FROM[RECENCY])


@dataclass
class BuiltTrainingSet:
    frame: pl.DataFrame
    spec: FeatureSpec
    versions: dict[str, int]
    counts: dict[str, int]


def build(settings: Settings) -> BuiltTrainingSet | None:
    """The churn training set from the current labels and history (None if either is missing)."""
    labels_store = RAW_CUSTOMER_LABELS.store(settings)
    if not labels_store.exists():
        return None
    labels_version = labels_store.version()
    raw = labels_store.read(labels_version)
    return build_from(
        settings,
        raw,
        clean_labels(raw),
        LABEL,
        CHURN_TRAINING_SET,
        {RAW_CUSTOMER_LABELS.key: labels_version},
    )


def build_from(
    settings: Settings,
    raw: pl.DataFrame,
    labels: pl.DataFrame,
    label: str,
    table,
    read: dict[str, int],
) -> BuiltTrainingSet | None:
    """A training set of `labels` (key, label time, `label`) with the features as of each label
    time (None without the feature history)."""
    history_store = CUSTOMER_ML_FEATURES_HISTORY.store(settings)
    if not history_store.exists():
        return None
    lookup = feature_lookup(history_store.version())
    built = create_training_set(labels, [lookup], label=label, settings=settings)
    columns = [LOOKUP_KEY, TIMESTAMP_LOOKUP_KEY, label, "feature_timestamp", *FEATURES]
    frame = with_recency(built.load_df(), TIMESTAMP_LOOKUP_KEY).select(columns)
    versions = {**built.versions, **read}
    spec = FeatureSpec(
        table=lookup.table,
        lookup_key=LOOKUP_KEY,
        timestamp_lookup_key=TIMESTAMP_LOOKUP_KEY,
        feature_names=list(lookup.feature_names),
        table_version=versions[lookup.table],
        derived={RECENCY: DERIVED_FROM[RECENCY]},
        training_set=table.key,
    )
    counts = {
        "label_rows_read": raw.height,
        "label_rows_invalid": raw.height - labels.height,
        "rows": frame.height,
        "customers": frame[LOOKUP_KEY].n_unique(),
        "null_feature_rows": built.null_feature_rows(),
    }
    return BuiltTrainingSet(frame, spec, versions, counts)


def store(settings: Settings, table=CHURN_TRAINING_SET) -> DeltaStore:
    return table.store(settings)


def write(settings: Settings, built: BuiltTrainingSet, table=CHURN_TRAINING_SET) -> int:
    """Overwrite the training set table; its commit records the spec and the versions read."""
    comment = f"{table.name}: labels with the customer features as of each label time."
    return write_training_set(
        store(settings, table), built.frame, built.spec, built.versions, comment
    )


def read_metadata(settings: Settings, version: int, table=CHURN_TRAINING_SET) -> dict:
    """The spec and versions recorded by the training set's commit `version`."""
    return read_training_set_metadata(store(settings, table), version)
