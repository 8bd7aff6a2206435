"""Training data: the point-in-time training set, pinned Delta versions, a stable holdout.

A model trains on `ml/churn_training_set` (every label row with the features as of its time). A
home without that table (built before the feature store), or a version trained before it, reads
the earlier source: the current gold row of each customer joined with its latest label.

The holdout is a deterministic hash of `customer_id`, so a customer is in the holdout in every run
and for every model version: challenger and champion are compared on customers neither saw.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import polars as pl

from mlplatform.catalog import (
    CHURN_TRAINING_SET,
    CUSTOMER_ML_FEATURES,
    FEATURES,
    RAW_CUSTOMER_LABELS,
    Table,
)
from mlplatform.customers.labels import LABEL, latest_labels
from mlplatform.customers.model_input import default_as_of, features_for_scoring, parse_as_of
from mlplatform.settings import Settings

if TYPE_CHECKING:  # numpy is imported on use: the definitions import this module
    import numpy as np

HOLDOUT_SALT = "churn-holdout-v1"
HOLDOUT_FRACTION = 0.2


def in_holdout(customer_ids: pl.Series) -> np.ndarray:
    """Whether each customer is in the holdout (the same answer in every run)."""
    import numpy as np

    cutoff = int(HOLDOUT_FRACTION * 10_000)
    return np.fromiter(
        (
            int(hashlib.md5(f"{HOLDOUT_SALT}:{c}".encode()).hexdigest()[:8], 16) % 10_000 < cutoff
            for c in customer_ids.cast(pl.String).to_list()
        ),
        dtype=bool,
        count=len(customer_ids),
    )


@dataclass
class ModelData:
    """Labelled customers with their gold features, and where they came from."""

    frame: pl.DataFrame  # customer_id, features (or gold columns), churned, holdout
    as_of: datetime | None
    versions: dict[str, int | None]  # Delta version read, per table key
    counts: dict[str, int] = field(default_factory=dict)
    feature_spec: dict | None = None  # the training set's feature spec (None: gold source)

    @property
    def empty(self) -> bool:
        return self.frame.is_empty()

    def split(self, holdout: bool) -> pl.DataFrame:
        return self.frame.filter(pl.col("holdout") == holdout)

    def xy(self, holdout: bool, features: list[str] = FEATURES):
        """Model input and labels of the training part (False) or the holdout (True)."""
        part = self.split(holdout)
        return features_for_scoring(part, self.as_of, features), part[LABEL].to_numpy()


def _read(settings: Settings, table: Table, version: int | None):
    store = table.store(settings)
    if not store.exists():
        return None, None
    if version is None:
        version = store.version()
    return store.read(version), version


def load_model_data(
    settings: Settings,
    as_of: str | datetime | None = None,
    versions: dict[str, int | None] | None = None,
) -> ModelData:
    """Read the training set, or gold and labels, at `versions` (else the current ones).

    Args:
        settings: Where the lakehouse is.
        as_of: Recency reference of the gold source; default: the latest `last_event_at` in the
            gold version read. The training set carries recency at each label's time.
        versions: Delta version per table key (`ml/churn_training_set`, or
            `gold/customer_ml_features` ...), to re-read the exact data a version was trained on.
    """
    versions = versions or {}
    gold_table, labels_table = CUSTOMER_ML_FEATURES, RAW_CUSTOMER_LABELS
    training_set = CHURN_TRAINING_SET.key
    if training_set in versions or (not versions and CHURN_TRAINING_SET.store(settings).exists()):
        return load_training_set(settings, versions.get(training_set))
    gold, gold_version = _read(settings, gold_table, versions.get(gold_table.key))
    raw, labels_version = _read(settings, labels_table, versions.get(labels_table.key))
    read = {gold_table.key: gold_version, labels_table.key: labels_version}
    counts = {"gold_customers": 0 if gold is None else gold.height}
    if gold is None or raw is None:
        counts["labelled_customers"] = 0
        return ModelData(pl.DataFrame(), None, read, counts)
    labels = latest_labels(raw)
    frame = gold.join(labels, on="customer_id", how="inner").sort("customer_id")
    frame = frame.with_columns(pl.Series("holdout", in_holdout(frame["customer_id"])))
    counts |= {
        "labelled": labels.height,
        "labelled_customers": frame.height,
        "train_customers": int((~frame["holdout"]).sum()),
        "holdout_customers": int(frame["holdout"].sum()),
    }
    resolved = default_as_of(gold) if as_of is None else parse_as_of(as_of)
    return ModelData(frame, resolved, read, counts)


def load_training_set(settings: Settings, version: int | None = None) -> ModelData:
    """The point-in-time training set (at `version`, else the current one) with the holdout.

    The versions recorded are the training set's and those it was built from (the history and
    the labels); `as_of` is the latest label time (each row's recency is at its own label time).
    """
    from mlplatform.customers.churn_training_set import read_metadata

    frame, read_version = _read(settings, CHURN_TRAINING_SET, version)
    meta = read_metadata(settings, read_version)
    versions = {CHURN_TRAINING_SET.key: read_version, **meta.get("versions", {})}
    frame = frame.sort("customer_id", "label_timestamp")
    frame = frame.with_columns(pl.Series("holdout", in_holdout(frame["customer_id"])))
    holdout = frame.filter(pl.col("holdout"))
    counts = {
        "label_rows": frame.height,
        "labelled_customers": frame["customer_id"].n_unique(),
        "train_rows": frame.height - holdout.height,
        "holdout_rows": holdout.height,
        "train_customers": frame.filter(~pl.col("holdout"))["customer_id"].n_unique(),
        "holdout_customers": holdout["customer_id"].n_unique(),
        "null_feature_rows": int(frame["feature_timestamp"].null_count()),
    }
    as_of = frame["label_timestamp"].max() if frame.height else None
    return ModelData(frame, as_of, versions, counts, meta.get("feature_spec"))


def truth_propensity(settings: Settings, customer_ids: pl.Series) -> np.ndarray | None:
    """The demo generator's true churn propensity for these customers (None without the file)."""
    path = settings.demo_dir / "customer_truth.parquet"
    if not path.exists():
        return None
    truth = pl.read_parquet(path, columns=["customer_id", "propensity"])
    joined = pl.DataFrame({"customer_id": customer_ids}).join(truth, on="customer_id", how="left")
    if joined["propensity"].null_count():
        return None
    return joined["propensity"].to_numpy()
