"""The churn model's earlier training source, for versions trained before the training set
existed: the current gold row of each customer joined with its latest label; and the demo
generator's true churn propensity (the ceiling a perfect model reaches)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import polars as pl

from customer_churn.labels import latest_labels
from customer_churn.tables import CUSTOMER_ML_FEATURES, RAW_CUSTOMER_LABELS

if TYPE_CHECKING:  # numpy is imported on use: the definitions import this module
    import numpy as np
from mlplatform.feature_store.derived import default_as_of, parse_as_of
from mlplatform.settings import Settings
from mlplatform.training.data import ModelData, with_holdout


def _read(settings: Settings, table, version: int | None):
    store = table.store(settings)
    if not store.exists():
        return None, None
    if version is None:
        version = store.version()
    return store.read(version), version


def gold_source(
    settings: Settings,
    lifecycle,
    versions: dict[str, int | None],
    as_of: str | datetime | None,
) -> ModelData:
    """Gold and labels at `versions` (else the current ones); `as_of` default: the latest
    `last_event_at` in the gold version read."""
    gold_table, labels_table = CUSTOMER_ML_FEATURES, RAW_CUSTOMER_LABELS
    gold, gold_version = _read(settings, gold_table, versions.get(gold_table.key))
    raw, labels_version = _read(settings, labels_table, versions.get(labels_table.key))
    read = {gold_table.key: gold_version, labels_table.key: labels_version}
    counts = {"gold_customers": 0 if gold is None else gold.height}
    if gold is None or raw is None:
        counts["labelled_customers"] = 0
        return ModelData(pl.DataFrame(), None, read, lifecycle, counts)
    labels = latest_labels(raw)
    frame = gold.join(labels, on="customer_id", how="inner").sort("customer_id")
    frame = with_holdout(frame, lifecycle)
    counts |= {
        "labelled": labels.height,
        "labelled_customers": frame.height,
        "train_customers": int((~frame["holdout"]).sum()),
        "holdout_customers": int(frame["holdout"].sum()),
    }
    resolved = default_as_of(gold, "last_event_at") if as_of is None else parse_as_of(as_of)
    return ModelData(frame, resolved, read, lifecycle, counts)


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
