"""Which windows a monitoring run recomputes, and the inference rows it needs for them.

A monitoring table's batch is numbered by the inference version it reflects
(`batch_of_version`), claimed in its ledger and committed with the protocol of
`mlplatform.lakehouse.update.batch`; so the table has consumed the inference table up to version
`batch_id - 1` (its app transaction). A run reads the data files added or removed between that
version and the current one (new predictions, and files rewritten when labels arrive); the
windows of their rows are the touched windows. A window is recomputed when it was touched or
when its previous window (the latest earlier window with rows of the same model version, its
CONSECUTIVE comparison) was.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime

import polars as pl

from mlplatform.catalog import INFERENCE
from mlplatform.catalog.schemas import UTC_US
from mlplatform.lakehouse.delta import DeltaStore
from mlplatform.lakehouse.ledger import Ledger
from mlplatform.lakehouse.update.batch import Batches, Plan, batch_of_version, version_of_batch
from mlplatform.monitoring.config import Granularity, MonitoringConfigError
from mlplatform.monitoring.model_quality import DECISION_THRESHOLD
from mlplatform.settings import Settings

UNKNOWN_VERSION = "unknown"


@dataclass
class Batch:
    """One monitoring update: the inference versions it reflects and the windows it recomputes."""

    batch_id: int
    start: int | None  # inference version already reflected (None: nothing yet)
    end: int | None  # inference version read (None: no inference table)
    full: bool  # every window is recomputed (first run or full refresh)
    granularities: list[Granularity]
    windows: dict[str, list[datetime]] = field(default_factory=dict)  # recomputed, per granularity
    rows: dict[str, pl.DataFrame] = field(default_factory=dict)  # recomputed + compared windows
    pairs: dict[str, pl.DataFrame] = field(default_factory=dict)  # window, version, previous
    again: bool = False  # a full refresh of the inference version the table already reflects

    @property
    def window_count(self) -> int:
        return sum(len(w) for w in self.windows.values())

    def replaced(self) -> dict[str, list[datetime]] | None:
        """The windows whose rows the commit replaces (None: the whole table)."""
        return None if self.full else self.windows


def prepare(rows: pl.LazyFrame) -> pl.LazyFrame:
    """Inference rows with `model_version` filled and the derived `predicted_label` ("0"/"1")."""
    prediction = pl.col("prediction")
    return rows.with_columns(
        pl.col("model_version").fill_null(UNKNOWN_VERSION),
        pl.when(prediction.is_null() | prediction.is_nan())
        .then(None)
        .otherwise((prediction >= DECISION_THRESHOLD).cast(pl.Int8).cast(pl.String))
        .alias("predicted_label"),
    )


ROLES = ("timestamp", "model_version", "prediction", "label")


def with_roles(scan: pl.LazyFrame, columns: dict[str, str] | None) -> pl.LazyFrame:
    """The inference rows with the configured role columns under their role names.

    Raises:
        MonitoringConfigError: a configured column is not in the inference table.
    """
    renames = {src: role for role, src in (columns or {}).items() if src != role}
    if not renames:
        return scan
    names = scan.collect_schema().names()
    missing = sorted(src for src in renames if src not in names)
    if missing:
        raise MonitoringConfigError(
            f"monitor column(s) {', '.join(missing)} are not in the inference table "
            f"(columns: {', '.join(names)})"
        )
    return scan.drop([r for r in renames.values() if r in names]).rename(renames)


def changed_timestamps(
    store: DeltaStore, start: int, end: int, column: str = "timestamp"
) -> pl.Series | None:
    """Timestamps of the rows in data files added or removed between versions `(start, end]`.

    None when the start version can no longer be read (its log was cleaned up): then every
    window is recomputed.
    """
    try:
        before = set(store.table(start).file_uris())
        after = set(store.table(end).file_uris())
    except Exception:  # noqa: BLE001 (old log gone or unreadable: fall back to a full recompute)
        return None
    removed = [f for f in sorted(before - after) if "://" in f or os.path.exists(f)]
    changed = sorted(after - before) + removed
    if not changed:
        return pl.Series("timestamp", [], dtype=UTC_US)
    return pl.read_parquet(changed, columns=[column])[column].cast(UTC_US).rename("timestamp")


def window_index(scan: pl.LazyFrame, g: Granularity) -> pl.DataFrame:
    """Every (window, model version) with rows, with the version's previous window."""
    return (
        scan.select("timestamp", pl.col("model_version").fill_null(UNKNOWN_VERSION))
        .group_by(pl.col("timestamp").dt.truncate(g.every).alias("window_start"), "model_version")
        .agg(pl.len().alias("rows"))
        .sort("model_version", "window_start")
        .with_columns(
            pl.col("window_start").shift(1).over("model_version").alias("window_cmp_start")
        )
        .collect()
    )


def plan(
    settings: Settings,
    target: DeltaStore,
    granularities: list[Granularity],
    full_refresh: bool,
    columns: dict[str, str] | None = None,
    end: int | None = None,
) -> Batch | None:
    """What `target` must recompute to reflect the current inference table (None: nothing).

    `columns` maps each role (`timestamp`, `model_version`, `prediction`, `label`) to the
    inference table's column holding it (the monitor's `*_col` options); `end` pins the
    inference version (a batch redone at its recorded version), else the current one.
    """
    inference = INFERENCE.store(settings)
    done = target.committed_batch()
    start = version_of_batch(done)
    end = inference.version() if end is None else end
    if end is None:
        if target.exists():
            return None
        return Batch(0, None, None, True, granularities, again=True)  # the empty table
    if start == end and not full_refresh:
        return None
    ts = (columns or {}).get("timestamp", "timestamp")
    touched = (
        None if full_refresh or start is None else changed_timestamps(inference, start, end, ts)
    )
    batch_id = batch_of_version(end)
    batch = Batch(batch_id, start, end, touched is None, granularities, again=batch_id == done)
    scan = with_roles(inference.scan(end), columns)
    for g in granularities:
        index = window_index(scan, g)
        windows = index["window_start"]
        if touched is not None:
            hit = touched.dt.truncate(g.every).unique()
            recompute = index.filter(
                pl.col("window_start").is_in(hit.implode())
                | pl.col("window_cmp_start").is_in(hit.implode())
            )
            # a touched window left without rows is replaced by nothing (its rows go)
            windows = pl.concat([recompute["window_start"], hit])
        windows = windows.unique().sort()
        pairs = index.filter(pl.col("window_start").is_in(windows.implode()))
        needed = pl.concat([windows, pairs["window_cmp_start"].drop_nulls()]).unique()
        batch.windows[g.name] = windows.to_list()
        batch.pairs[g.name] = pairs
        batch.rows[g.name] = (
            prepare(scan)
            .with_columns(pl.col("timestamp").dt.truncate(g.every).alias("window_start"))
            .filter(pl.col("window_start").is_in(needed.implode()))
            .collect()
        )
    return batch


def claim(
    settings: Settings,
    target: DeltaStore,
    granularities: list[Granularity],
    full_refresh: bool,
    columns: dict[str, str] | None = None,
) -> Batch | None:
    """Plan the batch `target` must commit and record it in the table's ledger (the protocol of
    `mlplatform.lakehouse.update.batch`); None: nothing new.

    A batch recorded by a run that died is redone at the inference version it recorded.

    Raises:
        TableBusyError: another run is updating the table.
    """
    table = target.app_id
    batches = Batches(table, Ledger(settings.checkpoints / table, table), [target])

    def planner(log: pl.DataFrame, last: int) -> Plan | None:
        batch = plan(settings, target, granularities, full_refresh, columns)
        if batch is None:
            return None
        rows = [
            {"source": INFERENCE.app_id, "start_version": batch.start, "end_version": batch.end}
        ]
        mode = "overwrite" if batch.full else "append"
        # again: a full refresh of the inference version the table already reflects
        return Plan(rows, mode, batch.batch_id, again=batch.again, extra={"batch": batch})

    held = batches.claim(planner)
    if held.nothing_new:
        return None
    if held.redo:
        end = held.rows[0]["end_version"]
        return plan(settings, target, granularities, held.mode == "overwrite", columns, end)
    return held.extra["batch"]
