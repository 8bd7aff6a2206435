"""Incremental refresh of a time-series feature table computed from an append-only Delta table.

A time-series feature table holds, per key and period, features computed over every source row of
that key before the period's end (cumulative). A source row dated in period P therefore changes
the key's row for P and every later row of that key, and nothing else. A refresh reads only the
source files added since the version it consumed last, finds each touched key's earliest touched
period, recomputes those keys from the source at the new version and replaces their rows from
that period on.

Exactly once: a refresh is a batch of the protocol in `mlplatform.lakehouse.update.batch`,
numbered by the source version it consumes (`batch_of_version`): recorded in the table's ledger
first (a second run at once waits or stops with `TableBusyError`), then committed with that app
transaction, atomically with the rows, so a crash before the commit redoes the same refresh (at
the recorded version) and one after it finds nothing new. Every row carries `_batch_id`, the batch
that last (re)computed it: the online publish reads it to find the keys that changed since the
version it published.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from mlplatform.lakehouse.delta import DeltaStore
from mlplatform.lakehouse.ledger import Ledger
from mlplatform.lakehouse.object_location import Location
from mlplatform.lakehouse.update.batch import Batches, Plan, batch_of_version, version_of_batch

BATCH_COLUMN = "_batch_id"
SETTINGS_KEY = "series_settings"


@dataclass
class SeriesRefresh:
    """What one refresh did (the asset's materialization metadata)."""

    mode: str  # full | incremental | nothing_new | no_source
    batch_id: int = 0
    source_start_exclusive: int | None = None
    source_end: int | None = None
    source_rows_read: int = 0
    keys_changed: int = 0
    rows_restated: int = 0
    rows: int = 0
    version: int | None = None
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SeriesSpec:
    """How to compute a time-series table from its source.

    Attributes:
        key: The key column (e.g. `user_id`).
        timestamp_key: The period end column the rows are keyed by.
        source_time: The source rows' time column.
        compute: All rows of the table for a frame of source rows (of some keys).
        period_end: The period end of a source time expression (the row it first counts in).
        settings: What makes the rows (granularity...); a change recomputes the table.
    """

    key: str
    timestamp_key: str
    source_time: str
    compute: Callable[[pl.DataFrame], pl.DataFrame]
    period_end: Callable[[pl.Expr], pl.Expr]
    settings: dict


def _stored_settings(target: DeltaStore) -> dict | None:
    """The settings recorded by the table's latest commit (every commit of the table has them)."""
    if not target.exists():
        return None
    info = target.table().history(1)[0]
    meta = json.loads(info.get("mlplatform.metadata") or "{}")
    return meta.get(SETTINGS_KEY)


def refresh_series(
    target: DeltaStore,
    source: DeltaStore,
    spec: SeriesSpec,
    full_refresh: bool = False,
    *,
    checkpoints: Location,
) -> SeriesRefresh:
    """Bring `target` up to the source's current version (see the module docstring); the
    refresh is claimed in the target's ledger under `checkpoints` (the lakehouse's).

    Raises:
        TableBusyError: another run is refreshing the table.
    """
    end = source.version()
    if end is None:
        return SeriesRefresh("no_source", reasons=[f"{source.app_id} does not exist yet"])
    ledger = Ledger(checkpoints / target.app_id, target.app_id)
    batches = Batches(target.app_id, ledger, [target])
    decided: dict = {}

    def planner(log: pl.DataFrame, last: int) -> Plan | None:
        run, decided["files"] = _decide(target, source, spec, end, full_refresh)
        decided["run"] = run
        if run.mode == "nothing_new":
            return None
        row = {"source": source.app_id, "start_version": run.source_start_exclusive}
        again = run.mode == "full" and run.batch_id == target.committed_batch()
        mode = "overwrite" if run.mode == "full" else "append"
        return Plan([row | {"end_version": end}], mode, run.batch_id, again=again)

    claim = batches.claim(planner)
    if claim.nothing_new:
        return decided["run"]
    run, files = decided.get("run"), decided.get("files")
    if claim.redo:  # a refresh of a run that died: again, at the version it recorded
        row = claim.rows[0]
        start, end = row["start_version"], row["end_version"]
        mode = "full" if claim.mode == "overwrite" else "incremental"
        run = SeriesRefresh(mode, claim.batch_id, start, end, reasons=["redo of a run that died"])
        files = source.added_files(start, end) if mode == "incremental" else None
    with batches.committing(run.batch_id):
        if run.mode == "incremental":
            return _incremental(target, source, spec, run, files)
        return _full(target, source, spec, run)


def _decide(
    target: DeltaStore, source: DeltaStore, spec: SeriesSpec, end: int, full_refresh: bool
) -> tuple[SeriesRefresh, list[str] | None]:
    """What the refresh to source version `end` is (nothing new, incremental or full), and the
    source files an incremental one reads."""
    done = target.committed_batch()
    consumed = version_of_batch(done)
    run = SeriesRefresh("incremental", batch_of_version(end), consumed, end)
    stored = _stored_settings(target)
    if full_refresh:
        run.reasons.append("full_refresh requested")
    elif consumed is None or stored is None:
        run.reasons.append("first refresh")
    elif stored != spec.settings:
        run.reasons.append(f"settings changed from {stored} to {spec.settings}")
    elif consumed == end:
        run.mode, run.batch_id = "nothing_new", done
        run.version = target.version()
        run.rows = target.table().count()
        return run, None
    if not run.reasons:
        try:
            return run, source.added_files(consumed, end)
        except RuntimeError as err:  # the source was rewritten: only a recomputation is right
            run.reasons.append(str(err))
    run.mode = "full"
    return run, None


def _full(target, source, spec: SeriesSpec, run: SeriesRefresh) -> SeriesRefresh:
    events = source.read(run.source_end)
    run.source_rows_read = events.height
    rows = spec.compute(events).with_columns(pl.lit(run.batch_id, pl.Int64).alias(BATCH_COLUMN))
    run.keys_changed = rows[spec.key].n_unique()
    run.rows_restated = run.rows = rows.height
    run.version = _commit(target, rows, run, spec)
    return run


def _incremental(target, source, spec: SeriesSpec, run: SeriesRefresh, files: list[str]):
    new = pl.read_parquet(files, columns=[spec.key, spec.source_time]) if files else None
    run.source_rows_read = 0 if new is None else new.height
    current = target.read()
    if new is None or new.is_empty():
        touched = pl.DataFrame(schema={spec.key: pl.String, "_from": pl.Datetime("us")})
    else:
        touched = (
            new.filter(pl.col(spec.source_time).is_not_null())
            .group_by(spec.key)
            .agg(spec.period_end(pl.col(spec.source_time)).min().alias("_from"))
        )
    run.keys_changed = touched.height
    if touched.is_empty():
        run.rows = current.height
        run.version = _commit(target, current, run, spec)
        return run
    keys = touched[spec.key].implode()
    events = source.scan(run.source_end).filter(pl.col(spec.key).is_in(keys)).collect()
    restated = (
        spec.compute(events)
        .join(touched, on=spec.key, how="inner")
        .filter(pl.col(spec.timestamp_key) >= pl.col("_from"))
        .drop("_from")
        .with_columns(pl.lit(run.batch_id, pl.Int64).alias(BATCH_COLUMN))
    )
    kept = (
        current.join(touched, on=spec.key, how="left")
        .filter(pl.col("_from").is_null() | (pl.col(spec.timestamp_key) < pl.col("_from")))
        .drop("_from")
    )
    rows = pl.concat([kept, restated.select(current.columns)], how="vertical")
    rows = rows.sort(spec.key, spec.timestamp_key)
    run.rows_restated, run.rows = restated.height, rows.height
    run.version = _commit(target, rows, run, spec)
    return run


def _commit(target: DeltaStore, rows: pl.DataFrame, run: SeriesRefresh, spec: SeriesSpec) -> int:
    meta = {
        SETTINGS_KEY: spec.settings,
        "mode": run.mode,
        "source_versions": [run.source_start_exclusive, run.source_end],
    }
    # a full recomputation may restate the silver version the table already reflects
    again = run.mode == "full"
    return target.write(rows, run.batch_id, mode="overwrite", metadata=meta, again=again)
