"""A training set kept as a Delta table: each commit records the feature spec and the versions of
the tables it was built from, so a model version trained on it can be traced and re-read."""

from __future__ import annotations

import json

import polars as pl

from mlplatform.feature_store.spec import FeatureSpec
from mlplatform.lakehouse.delta import DeltaStore

SPEC_KEY = "feature_spec"
VERSIONS_KEY = "versions"


def write_training_set(
    store: DeltaStore,
    frame: pl.DataFrame,
    spec: FeatureSpec,
    versions: dict[str, int],
    comment: str,
) -> int:
    """Overwrite the training set table; its commit records `spec` and the `versions` read.

    Returns:
        The Delta version written.
    """
    meta = {SPEC_KEY: spec.to_dict(), VERSIONS_KEY: versions}
    return store.write(
        frame, store.committed_batch() + 1, mode="overwrite", comment=comment, metadata=meta
    )


def read_training_set_metadata(store: DeltaStore, version: int) -> dict:
    """The spec and versions recorded by the training set's commit `version`.

    Raises:
        FileNotFoundError: the commit is no longer in the log.
    """
    for commit in store.table().history():
        if commit.get("version") == version:
            return json.loads(commit.get("mlplatform.metadata") or "{}")
    raise FileNotFoundError(f"{store.app_id} has no commit {version} in its log (cleaned up?)")
