"""Streaming tables (files or stream inputs): one update drains the whole backlog in micro-batches.

As Auto Loader's ``availableNow`` trigger does, each micro-batch takes at most
``max_files_per_trigger`` files and, softly, ``max_bytes_per_trigger`` bytes (of landing files, or
of the upstream's data files for a stream input), and is claimed and committed as one batch of the
protocol in ``batch.py``, so memory is bounded by a micro-batch and a crash in micro-batch 7 keeps
1 to 6. A quarantine replay is one batch of mode ``replay``.
"""

from __future__ import annotations

import time
from dataclasses import replace

import polars as pl

from mlplatform.lakehouse.delta import BatchCommittedError
from mlplatform.lakehouse.ingest import (
    CorruptFileError,
    parse_size,
    plan_files,
    unreadable,
)
from mlplatform.lakehouse.landing import list_files
from mlplatform.lakehouse.table import FilesInput
from mlplatform.lakehouse.update.batch import Batches, Claim, Plan
from mlplatform.lakehouse.update.declared import DeclaredTable, choice
from mlplatform.lakehouse.update.runs import (
    DEFAULT_MAX_BYTES,
    DEFAULT_STREAM_BYTES,
    RunOptions,
    TableRun,
)

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


def run_streaming(table: DeclaredTable, opts: RunOptions) -> TableRun:
    """One update of a streaming table: every micro-batch of its backlog."""
    total: TableRun | None = None
    idle: TableRun | None = None
    while True:
        started = time.monotonic()
        step = micro_batch(table, opts)
        if not step.nothing_new:
            _report(table, step, (total.micro_batches if total else 0) + 1, started)
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
        total = _nothing_new(table, idle.batch_id, opts, idle.counts)
    elif idle is not None:  # the last plan's view of the files passed over (all drained)
        total.warnings.extend(idle.counts.get("changed_warnings", []))
        for key in PASSED_OVER:
            if key in idle.counts:
                total.counts[key] = idle.counts[key]
    return total


def _report(table: DeclaredTable, step: TableRun, n: int, started: float) -> None:
    """The progress line of a micro-batch."""
    c = step.counts
    files = f"{c['files']} files, " if "files" in c else ""
    table.progress(
        f"{table.defn.key}: micro-batch {n} (batch {step.batch_id}): {files}"
        f"{step.input_rows:,} rows, {c.get('input_bytes', 0):,} bytes in "
        f"{time.monotonic() - started:.1f} s"
    )


def micro_batch(table: DeclaredTable, opts: RunOptions) -> TableRun:
    """Redo the unfinished batch or record and run the next one; a nothing-new run when there
    is no new input."""
    batches = table.batches(opts)

    def planner(log_df: pl.DataFrame, last: int) -> Plan:
        if opts.replay_quarantine:
            return _replay_plan(table)
        return _plan(table, log_df, opts)

    claim = batches.claim(planner)
    if claim.nothing_new:
        return TableRun(
            batch_id=claim.batch_id, mode="append", nothing_new=True, counts=claim.extra
        )
    run = _execute(table, batches, claim, opts)
    extra = claim.extra
    for key in ("corrupt_files_skipped", "corrupt_files"):
        if key in extra:
            run.counts[key] = extra[key]
    run.warnings.extend(extra.get("corrupt_warnings", []))
    return run


def _execute(table: DeclaredTable, batches: Batches, claim: Claim, opts: RunOptions) -> TableRun:
    evaluation, counts, versions = table.prepare(claim.rows, opts, claim.batch_id)
    run = TableRun(
        batch_id=claim.batch_id,
        mode=claim.mode,
        redo=claim.redo,
        counts=counts,
        upstream_versions=versions,
    )
    with batches.committing(claim.batch_id):
        table.commit(run, evaluation, claim.targets, claim.batch_id, claim.mode)
    return run


def _plan(table: DeclaredTable, log_df: pl.DataFrame, opts: RunOptions) -> Plan:
    committed = pl.DataFrame(schema=log_df.schema) if opts.full_refresh else log_df
    mode = "overwrite" if opts.full_refresh else "append"
    rows: list[dict] = []
    # every warning, and apart: changed files passed over, unreadable files skipped
    extra: dict = {"warnings": [], "changed_warnings": [], "corrupt_warnings": []}
    fin = table.defn.files_input
    if fin is not None:
        rows.extend(_plan_files(table, fin, committed, opts, extra))
    new_data = bool(rows)
    for inp in table.defn.upstream:
        if not inp.stream:
            continue
        store = table.store_for(inp.key)
        end = store.version()
        prev = committed.filter(pl.col("source") == inp.key).get_column("end_version")
        start = int(prev.max()) if len(prev) and prev.max() is not None else None
        if end is not None and end != start:
            new_data = True
            budget = parse_size(opts.max_bytes_per_trigger) or DEFAULT_STREAM_BYTES
            end = store.chunk_end(start, end, budget)
        rows.append({"source": inp.key, "start_version": start, "end_version": end})
    new = new_data or opts.full_refresh
    return Plan(rows, mode, extra=extra, nothing_new=not new)


def _plan_files(
    table: DeclaredTable, fin: FilesInput, committed, opts: RunOptions, extra: dict
) -> list:
    listing = list_files(fin.location(table.settings), fin.pattern)
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
    ignore = choice(opts.ignore_corrupt_files, fin.ignore_corrupt_files)
    skipped = []
    for entry in plan.files:
        reason = unreadable(entry["source"])
        if reason is None:
            continue
        if not ignore:
            raise CorruptFileError(table.defn.key, entry["source"], reason)
        entry["status"] = CORRUPT
        skipped.append(entry["source"])
        extra["corrupt_warnings"].append(f"{entry['source']} cannot be read ({reason}); skipped")
    extra["warnings"] = extra["changed_warnings"] + extra["corrupt_warnings"]
    if skipped:
        extra["corrupt_files_skipped"] = len(skipped)
        extra["corrupt_files"] = skipped
    return plan.files


def _replay_plan(table: DeclaredTable) -> Plan:
    quarantine = table.quarantine
    if quarantine is None or not quarantine.exists():
        raise ValueError(f"table {table.defn.key} has no quarantine to replay")
    return Plan([{"source": quarantine.app_id, "end_version": quarantine.version()}], "replay")


def _nothing_new(table: DeclaredTable, last: int, opts: RunOptions, extra: dict) -> TableRun:
    missing = [t for t in table.targets if not t.exists()]
    run = TableRun(batch_id=last, mode="append", nothing_new=True)
    if missing:  # first run with no data: create the tables with their schema
        evaluation, counts, versions = table.prepare([], opts)
        try:
            table.commit(run, evaluation, missing, last, "append")
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
    run.version = table.main.version()
    run.quarantine_version = table.quarantine.version() if table.quarantine else None
    return run
