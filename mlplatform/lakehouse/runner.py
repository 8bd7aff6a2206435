"""Run one update of a declared table on the polars engine, exactly once.

The protocol (see ``ledger.py``): find the last recorded batch; if a target table (the table or its
quarantine) has not committed it, redo it with exactly the recorded input; otherwise plan the next
batch, record it, compute it and commit it to each target with the batch's app transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

import polars as pl

from mlplatform.lakehouse.delta import DeltaStore
from mlplatform.lakehouse.expectations import (
    FAILED_EXPECTATIONS,
    QUARANTINED_AT,
    Evaluation,
    evaluate,
)
from mlplatform.lakehouse.failpoints import failpoint
from mlplatform.lakehouse.ingest import list_landing, plan_files
from mlplatform.lakehouse.json_lines import parse_files
from mlplatform.lakehouse.ledger import Ledger
from mlplatform.lakehouse.table import FilesInput, TableDefinition, TableInput
from mlplatform.settings import Settings

ROW_ID = "_mlplatform_row_id"
INGESTED_AT = "_ingested_at"
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
    evaluation: Evaluation | None = None
    version: int | None = None
    quarantine_version: int | None = None
    redo: bool = False
    nothing_new: bool = False
    counts: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    upstream_versions: dict = field(default_factory=dict)


class TableRunner:
    """Runs updates of one table against its Delta storage and ledger."""

    def __init__(self, defn: TableDefinition, settings: Settings):
        self.defn = defn
        self.settings = settings
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
            folder = self.settings.landing / fin.folder
            plan = plan_files(
                list_landing(folder, fin.pattern),
                committed,
                allow_overwrites=opts.allow_overwrites,
                max_files=opts.max_files_per_trigger,
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
        frames, source, counts, versions = self._inputs(rows, opts)
        evaluation = self._compute(frames, source)
        run = TableRun(
            batch_id=batch_id, mode=mode, redo=redo, counts=counts, upstream_versions=versions
        )
        self._commit(run, evaluation, targets, batch_id, mode, opts)
        return run

    def _inputs(self, rows, opts):
        frames: list[pl.LazyFrame] = []
        source: pl.DataFrame | None = None
        counts: dict = {}
        versions: dict = {}
        replay = bool(rows) and rows[0]["mode"] == "replay"
        for inp in self.defn.inputs:
            if replay and (isinstance(inp, FilesInput) or inp.stream) and source is None:
                source = self._quarantined_rows(rows[0]["end_version"]).with_row_index(ROW_ID)
                counts.update(replayed_rows=len(source))
                frames.append(source.lazy())
            elif isinstance(inp, FilesInput):
                files = [
                    r
                    for r in rows
                    if r["source"]
                    and r["start_version"] is None
                    and r["end_version"] is None
                    and r["size"] is not None
                ]
                mode = opts.schema_evolution_mode or inp.schema_evolution_mode
                fields = self._known_fields(inp)
                parsed = parse_files([r["source"] for r in files], fields, mode)
                ingested_at = rows[0]["recorded_at"] if rows else datetime.now(UTC)
                df = parsed.frame.with_columns(
                    pl.lit(ingested_at).cast(pl.Datetime("us", "UTC")).alias(INGESTED_AT)
                )
                counts.update(
                    files=len(files),
                    rows=parsed.rows,
                    rescued_rows=parsed.rescued_rows,
                    malformed_rows=parsed.malformed_rows,
                    blank_lines_skipped=parsed.blank_lines,
                    new_columns=parsed.new_columns,
                    ignored_fields=parsed.ignored_fields,
                )
                source = df.with_row_index(ROW_ID)
                frames.append(source.lazy())
            elif inp.stream:
                row = next((r for r in rows if r["source"] == inp.key), None)
                df = self._read_increment(inp, row)
                versions[inp.key] = row["end_version"] if row else None
                source = df.with_row_index(ROW_ID)
                frames.append(source.lazy())
            else:
                store = self.store_for(inp.key)
                if not store.exists():
                    raise UpstreamMissingError(
                        f"{self.defn.key} reads {inp.key}, which has not been materialized yet"
                    )
                versions[inp.key] = store.version()
                frames.append(store.scan(versions[inp.key]))
        return frames, source, counts, versions

    def _quarantined_rows(self, version: int) -> pl.DataFrame:
        return self.quarantine.read(version).drop(FAILED_EXPECTATIONS, QUARANTINED_AT)

    def _known_fields(self, inp: FilesInput) -> list[str]:
        fields = list(inp.fields)
        if self.main.exists():
            extra = [
                c
                for c in self.main.table().schema().to_arrow().names
                if c not in fields and not c.startswith("_")
            ]
            fields.extend(extra)
        return fields

    def _read_increment(self, inp: TableInput, row: dict | None) -> pl.DataFrame:
        store = self.store_for(inp.key)
        if row is None or row["end_version"] is None:
            if not store.exists():
                raise UpstreamMissingError(
                    f"{self.defn.key} streams from {inp.key}, which has not been materialized yet"
                )
            return store.read().clear()
        end_schema = pl.scan_delta(str(store.path), version=row["end_version"]).collect_schema()
        files = store.added_files(row["start_version"], row["end_version"])
        if not files:
            return pl.DataFrame(schema=end_schema)
        return pl.scan_parquet(
            files, schema=dict(end_schema), missing_columns="insert", extra_columns="ignore"
        ).collect()

    def _compute(self, frames: list[pl.LazyFrame], source: pl.DataFrame | None) -> Evaluation:
        out = self.defn.func(*frames)
        if isinstance(out, pl.LazyFrame):
            out = out.collect()
        if not isinstance(out, pl.DataFrame):
            raise TypeError(
                f"table {self.defn.key}: the function returned {type(out).__name__}, "
                "expected a polars DataFrame or LazyFrame"
            )
        evaluation = evaluate(out, self.defn.expectations, self.defn.key)
        evaluation.kept = self._project(evaluation.kept)
        q = evaluation.quarantined
        if source is not None and ROW_ID in q.columns:
            q = q.select(ROW_ID, FAILED_EXPECTATIONS).join(source, on=ROW_ID, how="left")
            q = q.select(*source.columns, FAILED_EXPECTATIONS)
        evaluation.quarantined = q.drop(ROW_ID, strict=False)
        return evaluation

    def _project(self, df: pl.DataFrame) -> pl.DataFrame:
        if self.defn.columns:
            missing = [c for c in self.defn.columns if c not in df.columns]
            if missing:
                raise ValueError(f"table {self.defn.key}: the function's result lacks {missing}")
            return df.select(self.defn.columns)
        return df.drop(ROW_ID, strict=False)

    def _commit(self, run, evaluation, targets, batch_id, mode, opts) -> None:
        run.evaluation = evaluation
        run.input_rows = (
            len(evaluation.kept) + len(evaluation.quarantined) + evaluation.dropped_records
        )
        run.written_rows = len(evaluation.kept)
        run.dropped_rows = evaluation.dropped_records
        run.quarantined_rows = len(evaluation.quarantined)
        evolve = bool(run.counts.get("new_columns"))
        # the quarantine first: a crash between the two leaves the table behind, which the
        # next run detects from its transaction version and completes
        if self.quarantine is not None and self.quarantine in targets:
            q = evaluation.quarantined.with_columns(
                pl.lit(datetime.now(UTC)).cast(pl.Datetime("us", "UTC")).alias(QUARANTINED_AT)
            )
            qmode = "overwrite" if mode in ("overwrite", "replay") else "append"
            run.quarantine_version = self.quarantine.write(
                q, batch_id, mode=qmode, evolve_schema=evolve
            )
            failpoint("between_commits", self.defn.key)
        if self.main in targets:
            main_mode = "append" if mode == "replay" else mode
            run.version = self.main.write(
                evaluation.kept,
                batch_id,
                mode=main_mode,
                comment=self.defn.comment,
                evolve_schema=evolve,
            )
        run.version = self.main.version() if run.version is None else run.version
        failpoint("after_all_commits", self.defn.key)

    def _nothing_new(self, last: int, opts: RunOptions, extra: dict) -> TableRun:
        missing = [t for t in self.targets if not t.exists()]
        run = TableRun(batch_id=last, mode="append", nothing_new=True)
        if missing:  # first run with no data: create the tables with their schema
            frames, source, counts, versions = self._inputs([], opts)
            evaluation = self._compute(frames, source)
            self._commit(run, evaluation, missing, last, "append", opts)
            run.counts.update(counts)
        run.warnings = extra.get("warnings", [])
        run.counts["changed_files_skipped"] = extra.get("changed_files_skipped", 0)
        run.version = self.main.version()
        run.quarantine_version = self.quarantine.version() if self.quarantine else None
        return run

    # ---- live tables and quarantine replay -----------------------------------------------
    def _run_live(self, opts: RunOptions) -> TableRun:
        batch_id = self.main.committed_batch() + 1
        frames, source, counts, versions = self._inputs([], opts)
        evaluation = self._compute(frames, source)
        run = TableRun(
            batch_id=batch_id, mode="overwrite", counts=counts, upstream_versions=versions
        )
        self._commit(run, evaluation, self.targets, batch_id, "overwrite", opts)
        return run

    def _replay(self, last: int, opts: RunOptions) -> TableRun:
        if self.quarantine is None or not self.quarantine.exists():
            raise ValueError(f"table {self.defn.key} has no quarantine to replay")
        rows = [{"source": self.quarantine.app_id, "end_version": self.quarantine.version()}]
        self.ledger.record(rows, last + 1, "replay")
        recorded = self.ledger.read().filter(pl.col("batch_id") == last + 1).to_dicts()
        return self._execute(last + 1, recorded, self.targets, opts)
