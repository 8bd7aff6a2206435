"""Snapshot CDC (``dlt.apply_changes_from_snapshot`` / ``dp.create_auto_cdc_from_snapshot_flow``).

Each new snapshot is compared with the current state (the latest row per key): rows that are new
or changed become upserts, keys missing from the snapshot become deletes, all sequenced by the
snapshot version. They are appended to the same kind of storage table as ``apply_changes`` keeps
(``changes.py``) and the target is derived from it with the same SCD 1 / SCD 2 derivation, so
``__START_AT`` / ``__END_AT`` of a type 2 target are snapshot versions. A snapshot is a batch
numbered by its version (``batch.batch_of_version``): the storage and the target commit it with
that app transaction, the target last (step 3 of the protocol in ``batch.py``), so a crash between
the two is completed next time and a snapshot is never applied twice. No ledger is kept: the
snapshot itself (its version) is what a batch consumed, and a callable source is asked again for
the snapshot after the last one applied.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from mlplatform.lakehouse.delta import DeltaStore
from mlplatform.lakehouse.update.batch import batch_of_version, committing, version_of_batch
from mlplatform.lakehouse.update.changes import IS_DELETE, ChangeSpec, derive_scd1, derive_scd2
from mlplatform.settings import Settings

SNAPSHOT_VERSION = "__snapshot_version"


class SnapshotError(ValueError):
    """A snapshot that cannot be applied (duplicate keys, a version that goes back)."""


@dataclass
class SnapshotSpec:
    target: str
    source: str | Callable  # a table key ("schema/table") or next_snapshot_and_version
    keys: list[str]
    stored_as_scd_type: int = 1
    track_history_column_list: list[str] | None = None
    track_history_except_column_list: list[str] = field(default_factory=list)

    def change_spec(self) -> ChangeSpec:
        return ChangeSpec(
            target=self.target,
            source=str(self.source),
            keys=self.keys,
            sequence_by=SNAPSHOT_VERSION,
            stored_as_scd_type=self.stored_as_scd_type,
            track_history_column_list=self.track_history_column_list,
            track_history_except_column_list=self.track_history_except_column_list,
        )


def to_polars(frame) -> pl.DataFrame:
    """A snapshot frame of any engine as a polars DataFrame."""
    if isinstance(frame, pl.LazyFrame):
        return frame.collect()
    if isinstance(frame, pl.DataFrame):
        return frame
    if hasattr(frame, "toArrow"):  # a Spark DataFrame
        return pl.from_arrow(frame.toArrow())
    raise SnapshotError(f"a snapshot must be a DataFrame, got {type(frame).__name__}")


class SnapshotRunner:
    """Applies the snapshots not yet applied to the storage table and refreshes the target."""

    def __init__(self, spec: SnapshotSpec, schema: str, settings: Settings):
        self.spec = spec
        self.settings = settings
        storage = f"__apply_changes_storage_{spec.target}"
        self.storage = DeltaStore(settings.table_path(schema, storage), f"{schema}/{storage}")
        self.target = DeltaStore(
            settings.table_path(schema, spec.target), f"{schema}/{spec.target}"
        )

    def latest_version(self) -> int | None:
        return version_of_batch(self.storage.committed_batch())

    def run(self, full_refresh: bool = False) -> dict:
        if full_refresh:
            for store in (self.storage, self.target):
                if store.exists():
                    store.remove()
        applied, changes = [], 0
        if self.storage.exists() and self.target.committed_batch() < self.storage.committed_batch():
            self._refresh_target(self.storage.read(), self.storage.committed_batch())  # redo
        while (snapshot := self._next()) is not None:
            frame, version = snapshot
            changes += self._apply(frame, version)
            applied.append(version)
        rows = self.target.table().count() if self.target.exists() else 0
        return {"snapshots": applied, "changes": changes, "rows": rows}

    def _next(self) -> tuple[pl.DataFrame, int] | None:
        latest = self.latest_version()
        if callable(self.spec.source):
            result = self.spec.source(latest)
            if result is None:
                return None
            if not isinstance(result, tuple) or len(result) != 2:
                raise SnapshotError(
                    f"{self.spec.source.__name__} must return (DataFrame, version) or None"
                )
            frame, version = result
        else:
            layer, name = str(self.spec.source).rsplit("/", 1)
            source = DeltaStore(self.settings.table_path(layer, name), self.spec.source)
            if not source.exists():
                raise RuntimeError(
                    f"snapshot source {self.spec.source} has not been materialized yet"
                )
            version = source.version()
            if latest is not None and version <= latest:
                return None
            frame = source.read(version)
        if isinstance(version, bool) or not isinstance(version, int):
            raise SnapshotError(f"snapshot versions must be integers, got {version!r}")
        if latest is not None and version <= latest:
            raise SnapshotError(
                f"snapshot version {version} of {self.spec.target} is not after the last "
                f"applied version {latest}"
            )
        return to_polars(frame), version

    def _apply(self, snapshot: pl.DataFrame, version: int) -> int:
        keys = self.spec.keys
        missing = [k for k in keys if k not in snapshot.columns]
        if missing:
            raise SnapshotError(f"snapshot {version} has no key columns {missing}")
        if snapshot.select(keys).is_duplicated().any():
            raise SnapshotError(f"snapshot {version} of {self.spec.target} repeats keys {keys}")
        events = self.storage.read() if self.storage.exists() else None
        columns = snapshot.columns
        if events is None or events.is_empty():
            upserts, deletes = snapshot, snapshot.clear()
        else:
            current = derive_scd1(events, self.spec.change_spec(), columns)
            upserts = snapshot.join(current, on=columns, how="anti", nulls_equal=True)
            deletes = current.join(snapshot.select(keys), on=keys, how="anti", nulls_equal=True)
        new = pl.concat(
            [
                upserts.with_columns(pl.lit(False).alias(IS_DELETE)),
                deletes.with_columns(pl.lit(True).alias(IS_DELETE)),
            ],
            how="diagonal_relaxed",
        ).with_columns(pl.lit(version, pl.Int64).alias(SNAPSHOT_VERSION))
        batch = batch_of_version(version)
        with committing(self.target.app_id, batch):
            self.storage.write(new, batch, mode="append", evolve_schema=True)
            self._refresh_target(self.storage.read(), batch)
        return len(new)

    def _refresh_target(self, events: pl.DataFrame, batch: int) -> None:
        spec = self.spec.change_spec()
        columns = [c for c in events.columns if c not in (IS_DELETE, SNAPSHOT_VERSION)]
        if spec.stored_as_scd_type == 1:
            out = derive_scd1(events, spec, columns)
        else:
            out = derive_scd2(events, spec, columns)
        self.target.write(out, batch, mode="overwrite")
