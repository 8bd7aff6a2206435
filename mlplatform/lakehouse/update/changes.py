"""Change data capture into SCD type 1 or 2 tables, exactly once (``dlt.apply_changes``,
``dp.create_auto_cdc_flow``).

Each batch of new source rows (by the source table's Delta version) is merged into a storage
table that keeps every change event once (a Delta merge on keys and sequence), like DLT's hidden
``__apply_changes_storage_`` table; the target is then derived from it, so changes that arrive out
of order are placed by ``sequence_by``, and a late update never resurrects a deleted key.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from mlplatform.lakehouse.delta import DeltaStore
from mlplatform.lakehouse.ledger import Ledger
from mlplatform.lakehouse.update.batch import Batches, Claim, Plan
from mlplatform.settings import Settings

IS_DELETE = "__is_delete"
START_AT, END_AT = "__START_AT", "__END_AT"


@dataclass
class ChangeSpec:
    target: str
    source: str
    keys: list[str]
    sequence_by: str
    apply_as_deletes: str | None = None
    column_list: list[str] | None = None
    except_column_list: list[str] = field(default_factory=list)
    stored_as_scd_type: int = 1
    track_history_column_list: list[str] | None = None
    track_history_except_column_list: list[str] = field(default_factory=list)


def derive_scd1(events: pl.DataFrame, spec: ChangeSpec, columns: list[str]) -> pl.DataFrame:
    """The latest change per key, unless it is a delete."""
    latest = events.sort(spec.sequence_by).group_by(spec.keys, maintain_order=True).last()
    return latest.filter(~pl.col(IS_DELETE)).select(columns).sort(spec.keys)


def derive_scd2(events: pl.DataFrame, spec: ChangeSpec, columns: list[str]) -> pl.DataFrame:
    """One row per version of each key with ``__START_AT`` / ``__END_AT`` from ``sequence_by``.

    A change to no tracked column does not open a new version; a delete closes the open one.
    """
    tracked = spec.track_history_column_list or [
        c
        for c in columns
        if c not in spec.keys
        and c not in spec.track_history_except_column_list
        and c != spec.sequence_by
    ]
    ordered = events.sort([*spec.keys, spec.sequence_by])
    prev = [pl.col(c).shift(1).over(spec.keys) for c in [*tracked, IS_DELETE]]
    same_as_prev = pl.all_horizontal(
        [pl.col(c).eq_missing(p) for c, p in zip(tracked, prev[:-1], strict=True)] or [True]
    )
    first = pl.col(spec.sequence_by).shift(1).over(spec.keys).is_null()
    opens = ~pl.col(IS_DELETE) & (first | prev[-1].fill_null(True) | ~same_as_prev)
    boundary = ordered.filter(pl.col(IS_DELETE) | opens)
    boundary = boundary.filter(
        pl.col(IS_DELETE) & pl.col(IS_DELETE).shift(1).over(spec.keys).fill_null(False).not_()
        | ~pl.col(IS_DELETE)
    )
    versions = boundary.with_columns(
        pl.col(spec.sequence_by).alias(START_AT),
        pl.col(spec.sequence_by).shift(-1).over(spec.keys).alias(END_AT),
    ).filter(~pl.col(IS_DELETE))
    return versions.select(*columns, START_AT, END_AT).sort([*spec.keys, START_AT])


class ChangeRunner:
    """Applies new source changes to the storage table and refreshes the target."""

    def __init__(self, spec: ChangeSpec, schema: str, settings: Settings):
        self.spec = spec
        self.source = DeltaStore(
            settings.table_path(schema, spec.source), f"{schema}/{spec.source}"
        )
        storage = f"__apply_changes_storage_{spec.target}"
        self.storage = DeltaStore(settings.table_path(schema, storage), f"{schema}/{storage}")
        self.target = DeltaStore(
            settings.table_path(schema, spec.target), f"{schema}/{spec.target}"
        )
        ledger = Ledger(settings.checkpoints / schema / spec.target, f"{schema}/{spec.target}")
        self.batches = Batches(self.target.app_id, ledger, [self.storage, self.target])

    def run_frame(self, frame: pl.DataFrame, full_refresh: bool = False) -> dict:
        """Apply a change feed computed in this update (a view's rows) as one batch of the
        protocol: every change is merged once (on keys and sequence), so feeding the whole feed
        again adds nothing twice. A batch left unfinished by a run that died is completed first.

        Raises:
            TableBusyError: another run is applying changes to the target.
        """
        changes = self._prepare(frame)
        view = {"source": f"{self.target.app_id}#view"}
        mode = "overwrite" if full_refresh else "append"
        while True:
            claim = self.batches.claim(lambda log, last: Plan([view], mode))
            out = self._apply(changes, claim)
            if not claim.redo:
                return {"batch_id": claim.batch_id, "changes": len(changes), "rows": len(out)}

    def run(self, full_refresh: bool = False) -> dict:
        """Apply the source's changes since the last batch (a batch of the protocol in
        ``batch.py``: the storage table commits it, then the target).

        Raises:
            TableBusyError: another run is applying changes to the target.
        """
        if not self.source.exists():
            raise RuntimeError(f"apply_changes source {self.source.app_id} was not materialized")

        def planner(log: pl.DataFrame, last: int) -> Plan | None:
            done = log.filter(pl.col("source") == self.source.app_id)["end_version"]
            start = None if full_refresh or done.is_empty() else int(done.max())
            end = self.source.version()
            if start == end and self.target.exists():
                return None
            row = {"source": self.source.app_id, "start_version": start, "end_version": end}
            return Plan([row], "overwrite" if full_refresh else "append")

        claim = self.batches.claim(planner)
        if claim.nothing_new:
            return {"batch_id": claim.batch_id, "changes": 0, "rows": self.target.table().count()}
        row = claim.rows[0]
        changes = self._changes(row["start_version"], row["end_version"])
        out = self._apply(changes, claim)
        return {"batch_id": claim.batch_id, "changes": len(changes), "rows": len(out)}

    def _apply(self, changes: pl.DataFrame, claim: Claim) -> pl.DataFrame:
        """Commit the claimed batch: the changes into the storage table, then the target derived
        from it (each only where it lacks the batch); the target's rows."""
        with self.batches.committing(claim.batch_id):
            if self.storage in claim.targets:
                self._merge(changes, claim.batch_id, claim.mode == "overwrite")
            out = self._derive(self.storage.read())
            if self.target in claim.targets:
                self.target.write(out, claim.batch_id, mode="overwrite")
        return out

    def _changes(self, start, end) -> pl.DataFrame:
        files = self.source.added_files(start, end)
        schema = self.source.scan(end).collect_schema()
        frame = (
            self.source.scan_files(files, schema, extra="raise").collect()
            if files
            else pl.DataFrame(schema=schema)
        )
        return self._prepare(frame)

    def _prepare(self, frame: pl.DataFrame) -> pl.DataFrame:
        deletes = (
            pl.sql_expr(self.spec.apply_as_deletes).fill_null(False)
            if self.spec.apply_as_deletes
            else pl.lit(False)
        )
        frame = frame.with_columns(deletes.alias(IS_DELETE))
        keep = [c for c in frame.columns if c.startswith("_") and c != IS_DELETE]
        return frame.drop(keep).unique([*self.spec.keys, self.spec.sequence_by], keep="last")

    def _merge(self, changes: pl.DataFrame, batch_id: int, overwrite: bool) -> None:
        if overwrite or not self.storage.exists():
            self.storage.write(changes, batch_id, mode="overwrite")
            return
        on = " AND ".join(f"t.`{k}` = s.`{k}`" for k in [*self.spec.keys, self.spec.sequence_by])

        self.storage.merge(changes, batch_id, on, lambda m: m.when_not_matched_insert_all())

    def _derive(self, events: pl.DataFrame) -> pl.DataFrame:
        spec = self.spec
        columns = spec.column_list or [
            c for c in events.columns if c != IS_DELETE and c not in spec.except_column_list
        ]
        if spec.stored_as_scd_type == 1:
            return derive_scd1(events, spec, columns)
        return derive_scd2(events, spec, columns)
