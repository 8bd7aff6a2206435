"""Run one update of a declared table on its engine, exactly once.

A streaming table (files or stream inputs) drains its whole backlog in micro-batches, as Auto
Loader's ``availableNow`` trigger does: each micro-batch takes at most ``max_files_per_trigger``
files and, softly, ``max_bytes_per_trigger`` bytes (of landing files, or of the upstream's data
files for a stream input), and commits with its own batch id, so memory is bounded by a
micro-batch and a crash in micro-batch 7 keeps 1 to 6. The protocol of each micro-batch, and how
two runs at once are kept from committing a batch twice, is in ``ledger.py``. Live tables (full
reads only) are in ``live.py``.
"""

from __future__ import annotations

import logging
import os
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import polars as pl

from mlplatform.lakehouse.delta import BatchCommittedError, DeltaStore
from mlplatform.lakehouse.engines import get_engine
from mlplatform.lakehouse.engines.base import Engine, EngineEvaluation, ReturnedPolarsFrame
from mlplatform.lakehouse.errors import MissingFileError, TableBusyError
from mlplatform.lakehouse.expectations import QUARANTINED_AT, RuleResult
from mlplatform.lakehouse.failpoints import failpoint
from mlplatform.lakehouse.ingest import (
    CorruptFileError,
    batch_parts,
    parse_size,
    plan_files,
    unreadable,
)
from mlplatform.lakehouse.json_lines import infer_fields
from mlplatform.lakehouse.landing import FilePart, list_files
from mlplatform.lakehouse.ledger import (
    DEFAULT_LEASE_S,
    BatchClaimedError,
    Ledger,
    owner_alive,
    wait_until,
)
from mlplatform.lakehouse.table import FilesInput, TableDefinition, TableInput
from mlplatform.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 128 * 1024**2
"""Landing bytes per micro-batch when neither the table nor the run sets it. Measured on the demo
data's shape (5M events): a bronze micro-batch peaks at about 7x its JSON bytes, so 128 MiB gives
1.1 GiB (256 MiB gave 1.9 GiB); Databricks uses 1 GiB of files."""
DEFAULT_STREAM_BYTES = 32 * 1024**2
"""Upstream Parquet bytes per micro-batch of a stream input: bronze's Parquet is about 8x denser
than its JSON (62 MiB of it, 5M rows, peaked at 1.7 GiB in silver)."""
CORRUPT = "corrupt_skipped"
PASSED_OVER = (
    "changed_files_skipped",
    "files_deferred",
    "refused_files_skipped",
    "refused_files",
    "duplicate_links_skipped",
    "partial_lines_pending",
    "name_clashes",
)
"""Counts of the files a plan passes over, reported from the last plan of a run."""


class UpstreamMissingError(RuntimeError):
    """An upstream table has never been materialized."""


@dataclass
class RunOptions:
    """Per-run choices, set from the asset's config."""

    full_refresh: bool = False
    schema_evolution_mode: str | None = None
    allow_overwrites: bool = False
    max_files_per_trigger: int | None = None
    max_bytes_per_trigger: int | str | None = None
    ignore_corrupt_files: bool | None = None
    ignore_missing_files: bool | None = None
    replay_quarantine: bool = False
    busy_timeout_s: float = 0.0
    lease_s: float = DEFAULT_LEASE_S


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
    results: list[RuleResult] | None = None
    micro_batches: int = 0

    def absorb(self, step: TableRun) -> None:
        """Add a later micro-batch of the same update."""
        self.batch_id, self.version = step.batch_id, step.version
        self.quarantine_version = step.quarantine_version
        self.redo = self.redo or step.redo
        self.nothing_new = False
        for name in ("input_rows", "written_rows", "quarantined_rows", "dropped_rows"):
            setattr(self, name, getattr(self, name) + getattr(step, name))
        self.upstream_versions.update(step.upstream_versions)
        self.warnings.extend(step.warnings)
        self.counts = _add_counts(self.counts, step.counts)
        self.results = _add_results(self.results, step.rule_results())
        self.evaluation = step.evaluation

    def rule_results(self) -> list[RuleResult]:
        if self.results is not None:
            return self.results
        return list(self.evaluation.results) if self.evaluation else []


def _add_counts(a: dict, b: dict) -> dict:
    out = dict(a)
    for key, value in b.items():
        old = out.get(key)
        if isinstance(value, bool) or old is None or isinstance(old, str):
            out[key] = value
        elif isinstance(value, int | float):
            out[key] = old + value
        elif isinstance(value, list):
            out[key] = list(old) + [v for v in value if v not in old]
        elif isinstance(value, dict):
            out[key] = _add_counts(old, value)
        else:
            out[key] = value
    return out


def _add_results(a: list[RuleResult] | None, b: list[RuleResult]) -> list[RuleResult]:
    if not a:
        return list(b)
    by_name = {r.expectation.name: r for r in b}
    return [
        RuleResult(
            r.expectation,
            r.passed_records + by_name[r.expectation.name].passed_records,
            r.failed_records + by_name[r.expectation.name].failed_records,
            r.failing_sample or by_name[r.expectation.name].failing_sample,
        )
        if r.expectation.name in by_name
        else r
        for r in a
    ]


def peak_rss_mib() -> float:
    """This process's peak resident memory so far (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


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
        self.ledger = Ledger(settings.checkpoints / defn.layer / defn.name, defn.key)
        self.progress: Callable[[str], None] = log.info  # one line per micro-batch

    @property
    def targets(self) -> list[DeltaStore]:
        return [self.main] + ([self.quarantine] if self.quarantine else [])

    def store_for(self, key: str) -> DeltaStore:
        layer, name = key.split("/")
        return DeltaStore(self.settings.table_path(layer, name), key)

    @property
    def aggregate_state(self) -> DeltaStore:
        """The per-key aggregates of an incrementally refreshed live table."""
        from mlplatform.lakehouse import live

        return live.aggregate_state(self)

    def _aggregate_plan(self):
        from mlplatform.lakehouse import live

        return live._aggregate_plan(self)

    # ---- the protocol -------------------------------------------------------------------
    def run(self, opts: RunOptions | None = None) -> TableRun:
        opts = opts or RunOptions()
        if not self.defn.streaming:
            from mlplatform.lakehouse.live import run_live

            return run_live(self, opts)
        total: TableRun | None = None
        idle: TableRun | None = None
        while True:
            started = time.monotonic()
            step = self._micro_batch(opts)
            if not step.nothing_new:
                self._report(step, (total.micro_batches if total else 0) + 1, started)
            if step.nothing_new:
                idle = step
                break
            if total is None:
                total = step
            else:
                total.absorb(step)
            total.micro_batches += 1
            if step.mode == "replay":
                break
            # a full refresh or replay is the first micro-batch; the rest append
            opts = replace(opts, full_refresh=False, replay_quarantine=False)
        if total is None:
            total = self._nothing_new(idle.batch_id, opts, idle.counts)
        elif idle is not None:  # the last plan's view of the files passed over (all drained)
            total.warnings.extend(idle.counts.get("changed_warnings", []))
            for key in PASSED_OVER:
                if key in idle.counts:
                    total.counts[key] = idle.counts[key]
        return total

    def _report(self, step: TableRun, n: int, started: float) -> None:
        """The progress line of a micro-batch."""
        c = step.counts
        files = f"{c['files']} files, " if "files" in c else ""
        self.progress(
            f"{self.defn.key}: micro-batch {n} (batch {step.batch_id}): {files}"
            f"{step.input_rows:,} rows, {c.get('input_bytes', 0):,} bytes in "
            f"{time.monotonic() - started:.1f} s"
        )

    def _micro_batch(self, opts: RunOptions) -> TableRun:
        """Redo the unfinished batch or record and run the next one; a nothing-new run when
        there is no new input."""
        while True:
            log_df = self.ledger.read()
            last = int(log_df.get_column("batch_id").max() or 0)
            behind = self._behind(last)
            if behind:
                rows = log_df.filter(pl.col("batch_id") == last).to_dicts()
                if owner_alive(rows[0]["owner"], rows[0]["lease_until"]):
                    self._wait_for(last, opts)
                    continue
                return self._execute(last, rows, behind, opts, redo=True)
            if opts.replay_quarantine:
                return self._replay(last, opts)
            rows, mode, extra, has_new = self._plan(log_df, opts)
            if not has_new:
                return TableRun(batch_id=last, mode="append", nothing_new=True, counts=extra)
            try:
                recorded = self.ledger.record(rows, last + 1, mode, opts.lease_s)
            except BatchClaimedError:
                self._wait_for(last + 1, opts)
                continue
            failpoint("after_ledger_record", self.defn.key)
            run = self._execute(last + 1, recorded.to_dicts(), self.targets, opts)
            for key in ("corrupt_files_skipped", "corrupt_files"):
                if key in extra:
                    run.counts[key] = extra[key]
            run.warnings.extend(extra["corrupt_warnings"])
            return run

    def _wait_for(self, batch_id: int, opts: RunOptions) -> None:
        """Wait (``busy_timeout_s``) for another run's batch to be committed or abandoned.

        Raises:
            TableBusyError: it is still being updated when the wait ends.
        """

        def settled() -> bool:
            if all(t.committed_batch() >= batch_id for t in self.targets if t.exists()):
                if self.main.exists():
                    return True
            rows = self.ledger.read().filter(pl.col("batch_id") == batch_id)
            if rows.is_empty():
                return True  # replaced by a full refresh
            first = rows.row(0, named=True)
            return not owner_alive(first["owner"], first["lease_until"])

        if not wait_until(settled, opts.busy_timeout_s):
            raise TableBusyError(self.defn.key, batch_id)

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
        # every warning, and apart: changed files passed over, unreadable files skipped
        extra: dict = {"warnings": [], "changed_warnings": [], "corrupt_warnings": []}
        fin = self.defn.files_input
        if fin is not None:
            rows.extend(self._plan_files(fin, committed, opts, extra))
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
                budget = parse_size(opts.max_bytes_per_trigger) or DEFAULT_STREAM_BYTES
                end = store.chunk_end(start, end, budget)
            rows.append({"source": inp.key, "start_version": start, "end_version": end})
        return rows, mode, extra, new_data or opts.full_refresh

    def _plan_files(self, fin: FilesInput, committed, opts: RunOptions, extra: dict) -> list:
        listing = list_files(fin.location(self.settings), fin.pattern)
        plan = plan_files(
            listing.files,
            committed,
            allow_overwrites=opts.allow_overwrites,
            max_files=opts.max_files_per_trigger or fin.max_files_per_trigger,
            max_bytes=parse_size(opts.max_bytes_per_trigger or fin.max_bytes_per_trigger)
            or DEFAULT_MAX_BYTES,
        )
        for path in plan.changed_skipped:
            extra["changed_warnings"].append(
                f"{path} changed after it was ingested; skipped (set allow_overwrites to "
                "ingest it again)"
            )
        extra["changed_files_skipped"] = len(plan.changed_skipped)
        # the other files passed over, reported with the changed ones (from the last plan)
        for path in listing.refused:
            extra["changed_warnings"].append(
                f"{path} leads outside the landing folder; refused (never read)"
            )
        for path in listing.duplicates:
            extra["changed_warnings"].append(
                f"{path} links to a file or folder already listed; skipped (read once)"
            )
        for name in listing.clashes:
            extra["changed_warnings"].append(
                f"{name}: the name is not UTF-8 and its escaped form is another file's name; "
                "skipped (rename it)"
            )
        for path in plan.pending:
            extra["changed_warnings"].append(
                f"{path}: its last line has no newline yet; left for the next run"
            )
        extra["refused_files_skipped"] = len(listing.refused)
        extra["refused_files"] = listing.refused
        extra["duplicate_links_skipped"] = len(listing.duplicates)
        extra["partial_lines_pending"] = len(plan.pending)
        extra["name_clashes"] = listing.clashes
        extra["files_deferred"] = plan.deferred
        ignore = _choice(opts.ignore_corrupt_files, fin.ignore_corrupt_files)
        skipped = []
        for entry in plan.files:
            reason = unreadable(entry["source"])
            if reason is None:
                continue
            if not ignore:
                raise CorruptFileError(self.defn.key, entry["source"], reason)
            entry["status"] = CORRUPT
            skipped.append(entry["source"])
            extra["corrupt_warnings"].append(
                f"{entry['source']} cannot be read ({reason}); skipped"
            )
        extra["warnings"] = extra["changed_warnings"] + extra["corrupt_warnings"]
        if skipped:
            extra["corrupt_files_skipped"] = len(skipped)
            extra["corrupt_files"] = skipped
        return plan.files

    # ---- computing a batch --------------------------------------------------------------
    def _execute(self, batch_id, rows, targets, opts, redo=False) -> TableRun:
        mode = rows[0]["mode"] if rows else "append"
        evaluation, counts, versions = self._prepare(rows, opts, batch_id)
        run = TableRun(
            batch_id=batch_id, mode=mode, redo=redo, counts=counts, upstream_versions=versions
        )
        try:
            self._commit(run, evaluation, targets, batch_id, mode, opts)
        except BatchCommittedError as err:  # another run took the batch over and committed it
            raise TableBusyError(self.defn.key, batch_id, str(err)) from err
        return run

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
                counts = _add_counts(counts, read.counts)
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
                        f"{self.defn.key} reads {inp.key}, which has not been materialized yet"
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
            if not _choice(opts.ignore_missing_files, inp.ignore_missing_files):
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
                    f"{self.defn.key} streams from {inp.key}, which has not been materialized yet"
                )
            return self.engine.empty_like(store)
        return self.engine.read_increment(store, row["start_version"], row["end_version"])

    def _prepare(self, rows, opts, batch_id=None):
        """Read the batch's inputs and compute it; a function that returns a polars frame on
        the Spark engine is run again on the polars engine."""
        try:
            frames, source, counts, versions = self._inputs(rows, opts, batch_id)
            return self._compute(frames, source), counts, versions
        except ReturnedPolarsFrame:
            log.info("%s returned a polars frame: running it on the polars engine", self.defn.key)
            self.engine = get_engine("polars")
            frames, source, counts, versions = self._inputs(rows, opts, batch_id)
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
            try:
                self._commit(run, evaluation, missing, last, "append", opts)
            except BatchCommittedError:
                pass  # another run created them meanwhile
            run.counts.update(counts)
        run.warnings = extra.get("warnings", [])
        run.counts["changed_files_skipped"] = extra.get("changed_files_skipped", 0)
        for key in PASSED_OVER[1:]:
            if key in extra:
                run.counts[key] = extra[key]
        for key in ("corrupt_files_skipped", "corrupt_files"):
            if key in extra:
                run.counts[key] = extra[key]
        run.version = self.main.version()
        run.quarantine_version = self.quarantine.version() if self.quarantine else None
        return run

    def _replay(self, last: int, opts: RunOptions) -> TableRun:
        if self.quarantine is None or not self.quarantine.exists():
            raise ValueError(f"table {self.defn.key} has no quarantine to replay")
        rows = [{"source": self.quarantine.app_id, "end_version": self.quarantine.version()}]
        try:
            recorded = self.ledger.record(rows, last + 1, "replay", opts.lease_s)
        except BatchClaimedError as err:
            raise TableBusyError(self.defn.key, last + 1) from err
        return self._execute(last + 1, recorded.to_dicts(), self.targets, opts)


def _choice(run_value: bool | None, table_value: bool) -> bool:
    return table_value if run_value is None else run_value
