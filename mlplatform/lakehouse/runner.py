"""Run one update of a declared table on its engine, exactly once.

The protocol (see ``ledger.py``): find the last recorded batch; if a target table (the table or its
quarantine) has not committed it, redo it with exactly the recorded input; otherwise plan the next
batch, record it, compute it and commit it to each target with the batch's app transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

import polars as pl

from mlplatform.lakehouse import incremental
from mlplatform.lakehouse.delta import DeltaStore
from mlplatform.lakehouse.engines import get_engine
from mlplatform.lakehouse.engines.base import Engine, EngineEvaluation, ReturnedPolarsFrame
from mlplatform.lakehouse.expectations import QUARANTINED_AT
from mlplatform.lakehouse.failpoints import failpoint
from mlplatform.lakehouse.ingest import list_landing, plan_files
from mlplatform.lakehouse.json_lines import infer_fields
from mlplatform.lakehouse.ledger import Ledger
from mlplatform.lakehouse.table import FilesInput, TableDefinition, TableInput
from mlplatform.settings import Settings

log = logging.getLogger(__name__)


class UpstreamMissingError(RuntimeError):
    """An upstream table has never been materialized."""


@dataclass
class RunOptions:
    """Per-run choices, set from the asset's config."""

    full_refresh: bool = False
    schema_evolution_mode: str | None = None
    allow_overwrites: bool = False
    max_files_per_trigger: int | None = None
    replay_quarantine: bool = False


@dataclass
class TableRun:
    """What one update did: the numbers that become materialization metadata."""

    batch_id: int
    mode: str
    input_rows: int = 0
    written_rows: int = 0
    quarantined_rows: int = 0
    dropped_rows: int = 0
    evaluation: EngineEvaluation | None = None
    version: int | None = None
    quarantine_version: int | None = None
    redo: bool = False
    nothing_new: bool = False
    counts: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    upstream_versions: dict = field(default_factory=dict)


class TableRunner:
    """Runs updates of one table against its Delta storage and ledger."""

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
        self.ledger = Ledger(settings.checkpoints / defn.layer / defn.name)

    @property
    def targets(self) -> list[DeltaStore]:
        return [self.main] + ([self.quarantine] if self.quarantine else [])

    def store_for(self, key: str) -> DeltaStore:
        layer, name = key.split("/")
        return DeltaStore(self.settings.table_path(layer, name), key)

    # ---- the protocol -------------------------------------------------------------------
    def run(self, opts: RunOptions | None = None) -> TableRun:
        opts = opts or RunOptions()
        if not self.defn.streaming:
            return self._run_live(opts)
        log_df = self.ledger.read()
        last = int(log_df.get_column("batch_id").max() or 0)
        behind = self._behind(last)
        if behind:
            rows = log_df.filter(pl.col("batch_id") == last).to_dicts()
            return self._execute(last, rows, behind, opts, redo=True)
        if opts.replay_quarantine:
            return self._replay(last, opts)
        rows, mode, extra, has_new = self._plan(log_df, opts)
        if not has_new:
            return self._nothing_new(last, opts, extra)
        self.ledger.record(rows, last + 1, mode)
        failpoint("after_ledger_record", self.defn.key)
        recorded = self.ledger.read().filter(pl.col("batch_id") == last + 1).to_dicts()
        result = self._execute(last + 1, recorded, self.targets, opts)
        result.counts.update(extra)
        result.warnings.extend(extra.get("warnings", []))
        result.counts.pop("warnings", None)
        return result

    def _behind(self, last: int) -> list[DeltaStore]:
        if last == 0:
            return []
        main_done = self.main.committed_batch()
        out = [self.main] if main_done < last else []
        q = self.quarantine
        if q is not None and (q.exists() or main_done < last) and q.committed_batch() < last:
            out.append(q)
        return out

    def _plan(self, log_df: pl.DataFrame, opts: RunOptions):
        committed = pl.DataFrame(schema=log_df.schema) if opts.full_refresh else log_df
        mode = "overwrite" if opts.full_refresh else "append"
        rows: list[dict] = []
        extra: dict = {"warnings": []}
        fin = self.defn.files_input
        if fin is not None:
            folder = fin.location(self.settings)
            plan = plan_files(
                list_landing(folder, fin.pattern),
                committed,
                allow_overwrites=opts.allow_overwrites,
                max_files=opts.max_files_per_trigger or fin.max_files_per_trigger,
            )
            for path in plan.changed_skipped:
                extra["warnings"].append(
                    f"{path} changed after it was ingested; skipped (set allow_overwrites to "
                    "ingest it again)"
                )
            extra["changed_files_skipped"] = len(plan.changed_skipped)
            extra["files_deferred"] = plan.deferred
            rows.extend(plan.files)
        new_data = bool(rows)
        for inp in self.defn.upstream:
            if not inp.stream:
                continue
            store = self.store_for(inp.key)
            end = store.version()
            prev = committed.filter(pl.col("source") == inp.key).get_column("end_version")
            start = int(prev.max()) if len(prev) and prev.max() is not None else None
            if end is not None and end != start:
                new_data = True
            rows.append({"source": inp.key, "start_version": start, "end_version": end})
        return rows, mode, extra, new_data or opts.full_refresh

    # ---- computing a batch --------------------------------------------------------------
    def _execute(self, batch_id, rows, targets, opts, redo=False) -> TableRun:
        mode = rows[0]["mode"] if rows else "append"
        evaluation, counts, versions = self._prepare(rows, opts)
        run = TableRun(
            batch_id=batch_id, mode=mode, redo=redo, counts=counts, upstream_versions=versions
        )
        self._commit(run, evaluation, targets, batch_id, mode, opts)
        return run

    def _inputs(self, rows, opts):
        eng = self.engine
        frames: list = []
        source = None
        counts: dict = {}
        versions: dict = {}
        replay = bool(rows) and rows[0]["mode"] == "replay"
        for inp in self.defn.inputs:
            if replay and (isinstance(inp, FilesInput) or inp.stream) and source is None:
                source = eng.with_row_id(
                    eng.read_quarantine(self.quarantine, rows[0]["end_version"])
                )
                frames.append(source)
            elif isinstance(inp, FilesInput):
                paths = [r["source"] for r in rows if r["size"] is not None]
                mode = opts.schema_evolution_mode or inp.schema_evolution_mode
                ingested_at = rows[0]["recorded_at"] if rows else datetime.now(UTC)
                fields = self._known_fields(inp, paths)
                read = eng.read_files(paths, fields, mode, ingested_at)
                counts.update(read.counts)
                source = eng.with_row_id(read.frame)
                frames.append(source)
            elif inp.stream:
                row = next((r for r in rows if r["source"] == inp.key), None)
                versions[inp.key] = row["end_version"] if row else None
                source = eng.with_row_id(self._read_increment(inp, row))
                frames.append(source)
            else:
                store = self.store_for(inp.key)
                if not store.exists():
                    raise UpstreamMissingError(
                        f"{self.defn.key} reads {inp.key}, which has not been materialized yet"
                    )
                versions[inp.key] = store.version()
                frames.append(eng.read_table(store, versions[inp.key]))
        return frames, source, counts, versions

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
                    f"{self.defn.key} streams from {inp.key}, which has not been materialized yet"
                )
            return self.engine.empty_like(store)
        return self.engine.read_increment(store, row["start_version"], row["end_version"])

    def _prepare(self, rows, opts):
        """Read the batch's inputs and compute it; a function that returns a polars frame on
        the Spark engine is run again on the polars engine."""
        try:
            frames, source, counts, versions = self._inputs(rows, opts)
            return self._compute(frames, source), counts, versions
        except ReturnedPolarsFrame:
            log.info("%s returned a polars frame: running it on the polars engine", self.defn.key)
            self.engine = get_engine("polars")
            frames, source, counts, versions = self._inputs(rows, opts)
            return self._compute(frames, source), counts, versions

    def _compute(self, frames: list, source) -> EngineEvaluation:
        out = self.engine.run_function(self.defn, frames, has_lineage=source is not None)
        return self.engine.evaluate(out, self.defn, source)

    def _commit(self, run, evaluation, targets, batch_id, mode, opts) -> None:
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

    def _nothing_new(self, last: int, opts: RunOptions, extra: dict) -> TableRun:
        missing = [t for t in self.targets if not t.exists()]
        run = TableRun(batch_id=last, mode="append", nothing_new=True)
        if missing:  # first run with no data: create the tables with their schema
            evaluation, counts, versions = self._prepare([], opts)
            self._commit(run, evaluation, missing, last, "append", opts)
            run.counts.update(counts)
        run.warnings = extra.get("warnings", [])
        run.counts["changed_files_skipped"] = extra.get("changed_files_skipped", 0)
        run.version = self.main.version()
        run.quarantine_version = self.quarantine.version() if self.quarantine else None
        return run

    # ---- live tables and quarantine replay -----------------------------------------------
    def _run_live(self, opts: RunOptions) -> TableRun:
        """Recompute a live table, unless none of its inputs changed since its last update (as a
        DLT materialized view); a table without inputs is always recomputed."""
        done = self.main.committed_batch()
        definition = incremental.definition_fingerprint(self.defn)
        if self.defn.upstream and not opts.full_refresh and self.main.exists():
            current = {i.key: self.store_for(i.key).version() for i in self.defn.upstream}
            last = self.ledger.read().filter(pl.col("batch_id") == done)
            recorded = {r["source"]: r["end_version"] for r in last.iter_rows(named=True)}
            if recorded == _live_sources(current, definition):
                run = TableRun(
                    batch_id=done,
                    mode="overwrite",
                    nothing_new=True,
                    upstream_versions=current,
                    version=self.main.version(),
                )
                run.quarantine_version = self.quarantine.version() if self.quarantine else None
                return run
        batch_id = done + 1
        plan = self._aggregate_plan()
        if plan is not None:
            evaluation, counts, versions, state = self._prepare_aggregate(plan, done, opts)
        else:
            evaluation, counts, versions = self._prepare([], opts)
        run = TableRun(
            batch_id=batch_id, mode="overwrite", counts=counts, upstream_versions=versions
        )
        if plan is not None:  # the state first: a state ahead of its table is rebuilt next time
            meta = {"input_versions": versions, "state_sql": plan.state_sql}
            self.aggregate_state.write(state, batch_id, mode="overwrite", metadata=meta)
            failpoint("between_commits", self.defn.key)
        self._commit(run, evaluation, self.targets, batch_id, "overwrite", opts)
        # what this update read; a crash before this line only costs a recomputation next time
        sources = _live_sources(versions, definition)
        rows = [{"source": key, "end_version": v} for key, v in sources.items()]
        self.ledger.record(rows, batch_id, "overwrite")
        return run

    @property
    def aggregate_state(self) -> DeltaStore:
        """The per-key aggregates of an incrementally refreshed live table."""
        name = f"{self.defn.name}__aggregate_state"
        return DeltaStore(
            self.settings.checkpoints / self.defn.layer / name, f"{self.defn.key}#state"
        )

    def _aggregate_plan(self) -> incremental.AggregatePlan | None:
        inputs = self.defn.inputs
        if self.engine.name != "polars" or len(inputs) != 1:
            return None
        if not isinstance(inputs[0], TableInput) or inputs[0].stream:
            return None
        return incremental.plan_for_table(self.defn)

    def _prepare_aggregate(self, plan, done: int, opts: RunOptions):
        inp = self.defn.upstream[0]
        store = self.store_for(inp.key)
        if not store.exists():
            raise UpstreamMissingError(
                f"{self.defn.key} reads {inp.key}, which has not been materialized yet"
            )
        end = store.version()
        rebuild = opts.full_refresh or done == 0
        state, counts = incremental.refresh(
            plan, self.engine, (inp.key, store, end), self.aggregate_state, done, rebuild
        )
        evaluation = self.engine.evaluate(incremental.finish(plan, state), self.defn, None)
        return evaluation, counts, {inp.key: end}, state

    def _replay(self, last: int, opts: RunOptions) -> TableRun:
        if self.quarantine is None or not self.quarantine.exists():
            raise ValueError(f"table {self.defn.key} has no quarantine to replay")
        rows = [{"source": self.quarantine.app_id, "end_version": self.quarantine.version()}]
        self.ledger.record(rows, last + 1, "replay")
        recorded = self.ledger.read().filter(pl.col("batch_id") == last + 1).to_dicts()
        return self._execute(last + 1, recorded, self.targets, opts)


def _live_sources(versions: dict, definition: int | None) -> dict:
    """What a live table's ledger records per update: its inputs' versions and, under
    ``#definition``, the fingerprint of its query (a changed query recomputes it, as in DLT)."""
    return versions if definition is None else versions | {incremental.DEFINITION: definition}
