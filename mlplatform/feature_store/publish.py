"""Publish a time-series feature table's latest row per key to the online store, incrementally.

The online store records the offline Delta version it reflects. A publish reads the offline table
at its current version and writes the latest row of each key whose rows changed since the
published version: the rows whose `_batch_id` is above the batch the published version held (the
refresh stamps every row it restates). A full refresh in between, a published version whose log is
gone, or a first publish replace the whole online table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import polars as pl

from mlplatform.feature_store.online import OnlineStore
from mlplatform.feature_store.timeseries import BATCH_COLUMN
from mlplatform.lakehouse.delta import DeltaStore


@dataclass
class PublishRun:
    """What one publish did (the asset's materialization metadata)."""

    mode: str  # full | incremental | nothing_new | no_source
    offline_version: int | None = None
    published_before: int | None = None
    keys_published: int = 0
    reasons: list[str] = field(default_factory=list)


def _full_since(offline: DeltaStore, version: int) -> str | None:
    """Why the changes after `version` need a full publish (None: an incremental one will do)."""
    try:
        batch = offline.table(version).transaction_version(offline.app_id)
    except Exception as err:  # noqa: BLE001 (log cleaned up, vacuumed: start over)
        return f"published version {version} cannot be read: {type(err).__name__}"
    if batch is None:
        return f"published version {version} has no batch of {offline.app_id}"
    for commit in offline.table().history():
        if commit.get("version", -1) > version:
            meta = json.loads(commit.get("mlplatform.metadata") or "{}")
            if meta.get("mode") == "full":
                return f"version {commit['version']} was a full recomputation"
    return None


def latest_rows(frame: pl.LazyFrame, key: str, timestamp_key: str) -> pl.DataFrame:
    """The latest row (by `timestamp_key`) of each key, without the batch column."""
    return (
        frame.sort(key, timestamp_key)
        .group_by(key, maintain_order=True)
        .last()
        .drop(BATCH_COLUMN, strict=False)
        .collect()
    )


def publish_latest(
    store: OnlineStore, online_table: str, offline: DeltaStore, key: str, timestamp_key: str
) -> PublishRun:
    """Bring `online_table` to the offline table's current version (see the module docstring)."""
    if not offline.exists():
        return PublishRun("no_source", reasons=[f"{offline.app_id} does not exist yet"])
    version = offline.version()
    before = store.published_version(online_table)
    run = PublishRun("incremental", version, before)
    if before == version:
        run.mode = "nothing_new"
        return run
    why = "never published" if before is None else _full_since(offline, before)
    if before is not None and before > version:
        why = f"published version {before} is ahead of the table ({version}): rewritten"
    scan = offline.scan(version)
    if why is None:
        batch = offline.table(before).transaction_version(offline.app_id)
        changed = scan.filter(pl.col(BATCH_COLUMN) > batch).select(key).unique()
        scan = scan.join(changed, on=key, how="semi")
    else:
        run.mode = "full"
        run.reasons.append(why)
    rows = latest_rows(scan, key, timestamp_key)
    if why is None and store.table_columns(online_table) not in (None, rows.columns):
        why = "the online table's columns differ from the offline table's"
        run.mode = "full"
        run.reasons.append(why)
        rows = latest_rows(offline.scan(version), key, timestamp_key)
    run.keys_published = store.publish(online_table, key, rows, version, replace=why is not None)
    return run
