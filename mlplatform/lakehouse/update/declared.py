"""A declared table at run time: its Delta stores and ledger, and how one batch of it is read,
computed (``prepare``) and committed (``commit``), whether it streams or is live."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime

from mlplatform.lakehouse.delta import DeltaStore
from mlplatform.lakehouse.engines import get_engine
from mlplatform.lakehouse.engines.base import Engine, EngineEvaluation, ReturnedPolarsFrame
from mlplatform.lakehouse.errors import MissingFileError
from mlplatform.lakehouse.expectations import QUARANTINED_AT
from mlplatform.lakehouse.failpoints import failpoint
from mlplatform.lakehouse.ingest import batch_parts
from mlplatform.lakehouse.json_lines import infer_fields
from mlplatform.lakehouse.landing import FilePart
from mlplatform.lakehouse.ledger import Ledger
from mlplatform.lakehouse.table import FilesInput, TableDefinition, TableInput
from mlplatform.lakehouse.update.batch import Batches
from mlplatform.lakehouse.update.runs import (
    RunOptions,
    TableRun,
    UpstreamMissingError,
    add_counts,
)
from mlplatform.settings import Settings

log = logging.getLogger(__name__)


def choice(run_value: bool | None, table_value: bool) -> bool:
    """The run's option when it sets one, else the table's."""
    return table_value if run_value is None else run_value


class DeclaredTable:
    """One declared table's stores, ledger and engine."""

    def __init__(self, defn: TableDefinition, settings: Settings, engine: Engine | None = None):
        self.defn = defn
        self.settings = settings
        self.engine = engine or get_engine(settings.engine)
        self.main = DeltaStore(settings.table_path(defn.layer, defn.name), defn.key)
        self.quarantine = (
            DeltaStore(
                settings.table_path(defn.layer, defn.quarantine_name),
                f"{defn.layer}/{defn.quarantine_name}",
            )
            if defn.has_quarantine
            else None
        )
        self.ledger = Ledger(settings.checkpoints / defn.layer / defn.name, defn.key)
        self.progress: Callable[[str], None] = log.info  # one line per micro-batch

    @property
    def targets(self) -> list[DeltaStore]:
        """The tables a batch commits, in commit order: the quarantine, then the table."""
        return ([self.quarantine] if self.quarantine else []) + [self.main]

    def batches(self, opts: RunOptions) -> Batches:
        """The batch protocol over this table's ledger and targets."""
        return Batches(self.defn.key, self.ledger, self.targets, opts.busy_timeout_s, opts.lease_s)

    def store_for(self, key: str) -> DeltaStore:
        layer, name = key.rsplit("/", 1)
        return DeltaStore(self.settings.table_path(layer, name), key)

    # ---- computing a batch --------------------------------------------------------------
    def prepare(self, rows: list[dict], opts: RunOptions, batch_id: int | None = None):
        """Read the batch's inputs (its recorded ledger rows) and compute it: the evaluation,
        the read counts and the upstream versions read. A function that returns a polars frame
        on the Spark engine is run again on the polars engine."""
        try:
            frames, source, counts, versions = self._inputs(rows, opts, batch_id)
            return self._compute(frames, source), counts, versions
        except ReturnedPolarsFrame:
            log.info("%s returned a polars frame: running it on the polars engine", self.defn.key)
            self.engine = get_engine("polars")
            frames, source, counts, versions = self._inputs(rows, opts, batch_id)
            return self._compute(frames, source), counts, versions

    def _inputs(self, rows, opts, batch_id=None):
        eng = self.engine
        frames: list = []
        source = None
        counts: dict = {}
        versions: dict = {}
        replay = bool(rows) and rows[0].get("mode") == "replay"
        for inp in self.defn.inputs:
            if replay and (isinstance(inp, FilesInput) or inp.stream) and source is None:
                source = eng.with_row_id(
                    eng.read_quarantine(self.quarantine, rows[0]["end_version"])
                )
                frames.append(source)
            elif isinstance(inp, FilesInput):
                parts = self._batch_files(inp, rows, opts, batch_id, counts)
                mode = opts.schema_evolution_mode or inp.schema_evolution_mode
                ingested_at = rows[0]["recorded_at"] if rows else datetime.now(UTC)
                fields = self._known_fields(inp, [p.path for p in parts])
                read = eng.read_files(parts, fields, mode, ingested_at)
                counts = add_counts(counts, read.counts)
                counts["input_bytes"] = sum(
                    p.end - p.start if p.end is not None else os.path.getsize(p.path) for p in parts
                )
                source = eng.with_row_id(read.frame)
                frames.append(source)
            elif inp.stream:
                row = next((r for r in rows if r["source"] == inp.key), None)
                versions[inp.key] = row["end_version"] if row else None
                store = self.store_for(inp.key)
                if row is not None and row["end_version"] is not None:
                    counts["input_bytes"] = counts.get("input_bytes", 0) + store.added_bytes(
                        row["start_version"], row["end_version"]
                    )
                source = eng.with_row_id(self._read_increment(inp, row))
                frames.append(source)
            else:
                store = self.store_for(inp.key)
                if not store.exists():
                    raise UpstreamMissingError(
                        f"{self.defn.key} reads {inp.key}, which has not been materialized yet "
                        f"(no Delta table at {store.path})"
                    )
                row = next((r for r in rows if r["source"] == inp.key), None)
                pinned = row is not None and row.get("end_version") is not None
                versions[inp.key] = row["end_version"] if pinned else store.version()
                frames.append(eng.read_table(store, versions[inp.key]))
        return frames, source, counts, versions

    def _batch_files(self, inp: FilesInput, rows, opts, batch_id, counts) -> list[FilePart]:
        """The batch's readable files; a vanished one fails the batch unless ignored."""
        parts = batch_parts(rows)
        # a recorded path is a real path: one that now passes a link is no longer that file
        missing = [
            p.source
            for p in parts
            if not os.path.exists(p.path) or os.path.realpath(p.path) != p.path
        ]
        if missing:
            if not choice(opts.ignore_missing_files, inp.ignore_missing_files):
                raise MissingFileError(self.defn.key, batch_id or 0, missing)
            log.warning("%s: batch %s without vanished files %s", self.defn.key, batch_id, missing)
            counts["missing_files_skipped"] = len(missing)
            counts["missing_files"] = missing
            parts = [p for p in parts if p.source not in set(missing)]
        counts.setdefault("corrupt_files_skipped", 0)
        counts.setdefault("missing_files_skipped", 0)
        return parts

    def _known_fields(self, inp: FilesInput, paths: list[str]) -> list[str]:
        fields = list(inp.fields)
        if not fields and not self.main.exists():
            fields = infer_fields(paths)
        if self.main.exists():
            extra = [
                c
                for c in self.main.table().schema().to_arrow().names
                if c not in fields and not c.startswith("_")
            ]
            fields.extend(extra)
        return fields

    def _read_increment(self, inp: TableInput, row: dict | None):
        store = self.store_for(inp.key)
        if row is None or row["end_version"] is None:
            if not store.exists():
                raise UpstreamMissingError(
                    f"{self.defn.key} streams from {inp.key}, which has not been materialized "
                    f"yet (no Delta table at {store.path})"
                )
            return self.engine.empty_like(store)
        return self.engine.read_increment(store, row["start_version"], row["end_version"])

    def _compute(self, frames: list, source) -> EngineEvaluation:
        out = self.engine.run_function(self.defn, frames, has_lineage=source is not None)
        return self.engine.evaluate(out, self.defn, source)

    # ---- committing a batch -------------------------------------------------------------
    def commit(
        self,
        run: TableRun,
        evaluation: EngineEvaluation,
        targets: list[DeltaStore],
        batch_id: int,
        mode: str,
    ) -> None:
        """Write the batch's rows to ``targets`` (the quarantine first) and fill ``run``'s
        numbers.

        Raises:
            BatchCommittedError: a target already has the batch (another run committed it).
        """
        run.evaluation = evaluation
        run.written_rows = evaluation.kept_rows
        run.dropped_rows = evaluation.dropped_records
        run.quarantined_rows = evaluation.quarantined_rows
        run.input_rows = run.written_rows + run.quarantined_rows + run.dropped_rows
        if mode == "replay":
            run.counts["replayed_rows"] = run.input_rows
        evolve = bool(run.counts.get("new_columns"))
        # the quarantine first: a crash between the two leaves the table behind, which the
        # next run detects from its transaction version and completes
        if self.quarantine is not None and self.quarantine in targets:
            q = self.engine.stamp(evaluation.quarantined, QUARANTINED_AT, datetime.now(UTC))
            qmode = "overwrite" if mode in ("overwrite", "replay") else "append"
            run.quarantine_version = self.engine.write(
                self.quarantine, q, batch_id, qmode, evolve=evolve
            )
            failpoint("between_commits", self.defn.key)
        if self.main in targets:
            main_mode = "append" if mode == "replay" else mode
            run.version = self.engine.write(
                self.main,
                evaluation.kept,
                batch_id,
                main_mode,
                comment=self.defn.comment,
                evolve=evolve,
            )
        run.version = self.main.version() if run.version is None else run.version
        failpoint("after_all_commits", self.defn.key)
