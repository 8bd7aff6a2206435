"""Training data: a model's training set at pinned Delta versions, and a stable holdout.

A model trains on its declared training set (`ModelLifecycle.training_set`: one row per label,
the features as columns). A version trained before the project had that table reads the
project's `legacy_source` instead, when it declares one.

The holdout is a deterministic hash of the entity key, so an entity is in the holdout in every
run and for every model version: challenger and champion are compared on entities neither saw.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import polars as pl

from mlplatform.feature_store.derived import features_for_scoring
from mlplatform.feature_store.training_table import read_training_set_metadata
from mlplatform.settings import Settings
from mlplatform.training.lifecycle import ModelLifecycle

if TYPE_CHECKING:  # numpy is imported on use: the definitions import this module
    import numpy as np

HOLDOUT_FRACTION = 0.2


def in_holdout(keys: pl.Series, salt: str = "holdout-v1") -> np.ndarray:
    """Whether each entity is in the holdout (the same answer in every run)."""
    import numpy as np

    cutoff = int(HOLDOUT_FRACTION * 10_000)
    return np.fromiter(
        (
            int(hashlib.md5(f"{salt}:{c}".encode()).hexdigest()[:8], 16) % 10_000 < cutoff
            for c in keys.cast(pl.String).to_list()
        ),
        dtype=bool,
        count=len(keys),
    )


def holdout_rule(lifecycle: ModelLifecycle) -> str:
    """The holdout as SQL, for the version's tags."""
    key = lifecycle.entity_key
    return f"md5('{lifecycle.salt}:' || {key}) % 10000 < {HOLDOUT_FRACTION} * 10000"


@dataclass
class ModelData:
    """Labelled rows with their features, and where they came from."""

    frame: pl.DataFrame  # entity key, features (or their source columns), label, holdout
    as_of: datetime | None
    versions: dict[str, int | None]  # Delta version read, per table key
    lifecycle: ModelLifecycle
    counts: dict[str, int] = field(default_factory=dict)
    feature_spec: dict | None = None  # the training set's feature spec (None: none recorded)

    @property
    def empty(self) -> bool:
        return self.frame.is_empty()

    def split(self, holdout: bool) -> pl.DataFrame:
        return self.frame.filter(pl.col("holdout") == holdout)

    def xy(self, holdout: bool, features: Sequence[str] | None = None):
        """Model input and labels of the training part (False) or the holdout (True)."""
        part = self.split(holdout)
        lc = self.lifecycle
        x = features_for_scoring(part, self.as_of, features or lc.features, lc.derived)
        return x, part[lc.label].to_numpy()


def with_holdout(frame: pl.DataFrame, lifecycle: ModelLifecycle) -> pl.DataFrame:
    keys = frame[lifecycle.entity_key]
    return frame.with_columns(pl.Series("holdout", in_holdout(keys, lifecycle.salt)))


def load_model_data(
    settings: Settings,
    lifecycle: ModelLifecycle,
    as_of: str | datetime | None = None,
    versions: dict[str, int | None] | None = None,
) -> ModelData:
    """Read the model's training set at `versions` (else the current one).

    Args:
        settings: Where the lakehouse is.
        lifecycle: The model's declaration.
        as_of: The as-of time of a legacy source (the training set carries derived features at
            each label's time).
        versions: Delta version per table key, to re-read the exact data a version saw.
    """
    versions = versions or {}
    table = lifecycle.training_set
    if table.key in versions or lifecycle.legacy_source is None:
        return load_training_set(settings, lifecycle, versions.get(table.key))
    if not versions and table.store(settings).exists():
        return load_training_set(settings, lifecycle)
    return lifecycle.legacy_source(settings, lifecycle, versions, as_of)


def load_training_set(
    settings: Settings, lifecycle: ModelLifecycle, version: int | None = None
) -> ModelData:
    """The training set (at `version`, else the current one) with the holdout.

    The versions recorded are the training set's and those it was built from; `as_of` is the
    latest label time (each row's derived features are at its own label time).
    """
    table, key = lifecycle.training_set, lifecycle.entity_key
    store = table.store(settings)
    if not store.exists():
        return ModelData(pl.DataFrame(), None, {table.key: None}, lifecycle, {"label_rows": 0})
    version = store.version() if version is None else version
    frame = store.read(version)
    meta = read_training_set_metadata(store, version)
    versions = {table.key: version, **meta.get("versions", {})}
    time = lifecycle.label_time
    frame = with_holdout(frame.sort([key, time] if time else [key]), lifecycle)
    holdout = frame.filter(pl.col("holdout"))
    counts = {
        "label_rows": frame.height,
        "labelled_entities": frame[key].n_unique(),
        "train_rows": frame.height - holdout.height,
        "holdout_rows": holdout.height,
        "train_entities": frame.filter(~pl.col("holdout"))[key].n_unique(),
        "holdout_entities": holdout[key].n_unique(),
    }
    if "feature_timestamp" in frame.columns:
        counts["null_feature_rows"] = int(frame["feature_timestamp"].null_count())
    as_of = frame[time].max() if time and frame.height else None
    return ModelData(frame, as_of, versions, lifecycle, counts, meta.get("feature_spec"))
