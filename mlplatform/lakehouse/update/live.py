"""Live tables (DLT materialized views): recomputed when an input or the definition changed.

An update claims its batch through the protocol of ``batch.py`` (recording the input versions it
will read and the definition's fingerprint), then commits the aggregate state (when the table
refreshes incrementally) and the table with the batch's app transaction. A run that finds a
claimed batch of a live owner waits or stops with ``TableBusyError``; a batch claimed by a run
that died is redone at the recorded input versions. A table that cannot refresh incrementally
computes on polars' streaming engine over the inputs' snapshots (``execution: streaming``).
"""

from __future__ import annotations

import polars as pl

from mlplatform.lakehouse import incremental
from mlplatform.lakehouse.delta import BatchCommittedError, DeltaStore
from mlplatform.lakehouse.failpoints import failpoint
from mlplatform.lakehouse.ingest import parse_size
from mlplatform.lakehouse.table import TableInput
from mlplatform.lakehouse.update.batch import Plan
from mlplatform.lakehouse.update.declared import DeclaredTable
from mlplatform.lakehouse.update.runs import (
    DEFAULT_STREAM_BYTES,
    RunOptions,
    TableRun,
    UpstreamMissingError,
)


def run_live(table: DeclaredTable, opts: RunOptions) -> TableRun:
    """One update of a live table."""
    defn = table.defn
    definition = incremental.definition_fingerprint(defn)
    batches = table.batches(opts)

    def planner(log: pl.DataFrame, last: int) -> Plan:
        for inp in defn.upstream:
            if not table.store_for(inp.key).exists():
                raise UpstreamMissingError(
                    f"{defn.key} reads {inp.key}, which has not been materialized yet "
                    f"(no Delta table at {table.store_for(inp.key).path})"
                )
        current = {i.key: table.store_for(i.key).version() for i in defn.upstream}
        sources = _live_sources(current, definition)
        if defn.upstream and not opts.full_refresh and table.main.exists():
            done = table.main.committed_batch()
            before = log.filter(pl.col("batch_id") == done)
            recorded = {r["source"]: r["end_version"] for r in before.iter_rows(named=True)}
            if recorded == sources:
                return Plan([], extra={"current": current}, nothing_new=True)
        rows = [{"source": key, "end_version": v} for key, v in sources.items()]
        return Plan(rows, "overwrite")

    claim = batches.claim(planner)
    if claim.nothing_new:
        run = TableRun(
            batch_id=claim.batch_id,
            mode="overwrite",
            nothing_new=True,
            upstream_versions=claim.extra["current"],
            version=table.main.version(),
        )
        run.quarantine_version = table.quarantine.version() if table.quarantine else None
        return run
    batch_id, done = claim.batch_id, table.main.committed_batch()
    versions = {k: v for k, v in claim.end_versions().items() if k != incremental.DEFINITION}
    plan, reason = plan_and_reason(table)
    if plan is not None:
        evaluation, counts, state = _prepare_aggregate(table, plan, versions, done, opts)
    else:
        rows = [{"source": k, "end_version": v} for k, v in versions.items()]
        evaluation, counts, versions = table.prepare(rows, opts, batch_id)
        counts["execution"] = "streaming" if table.engine.name == "polars" else "spark"
        counts["not_incremental"] = reason
    run = TableRun(
        batch_id=batch_id,
        mode="overwrite",
        redo=claim.redo,
        counts=counts,
        upstream_versions=versions,
    )
    with batches.committing(batch_id):
        if plan is not None:  # the state first: a state ahead of its table is rebuilt next time
            meta = {"input_versions": versions, "state_sql": plan.state_sql}
            try:
                aggregate_state(table).write(state, batch_id, mode="overwrite", metadata=meta)
            except BatchCommittedError:
                pass  # a run that died committed this batch's state from the same input
            failpoint("between_commits", defn.key)
        table.commit(run, evaluation, claim.targets, batch_id, "overwrite")
    run.micro_batches = 1
    return run


def aggregate_state(table: DeclaredTable) -> DeltaStore:
    """The per-key aggregates of an incrementally refreshed live table."""
    defn = table.defn
    name = f"{defn.name}__aggregate_state"
    return DeltaStore(table.settings.checkpoints / defn.layer / name, f"{defn.key}#state")


def plan_and_reason(
    table: DeclaredTable,
) -> tuple[incremental.AggregatePlan | None, str | None]:
    """How the live table refreshes incrementally, or None and why it cannot."""
    inputs = table.defn.inputs
    if table.engine.name != "polars":
        return None, f"incremental refresh runs on the polars engine, not {table.engine.name}"
    if len(inputs) != 1:
        return None, "the table reads more than one input"
    if not isinstance(inputs[0], TableInput) or inputs[0].stream:
        return None, "its input is read as a stream"
    return incremental.cached_plan(table.defn, table.settings.plan_cache / table.defn.layer)


def _prepare_aggregate(table: DeclaredTable, plan, versions: dict, done: int, opts: RunOptions):
    inp = table.defn.upstream[0]
    store = table.store_for(inp.key)
    end = versions[inp.key]
    rebuild = opts.full_refresh or done == 0
    budget = parse_size(opts.max_bytes_per_trigger) or DEFAULT_STREAM_BYTES
    state, counts = incremental.refresh(
        plan, table.engine, (inp.key, store, end), aggregate_state(table), done, rebuild, budget
    )
    evaluation = table.engine.evaluate(incremental.finish(plan, state), table.defn, None)
    return evaluation, counts, state


def _live_sources(versions: dict, definition: int | None) -> dict:
    """What a live table's ledger records per update: its inputs' versions and, under
    ``#definition``, the fingerprint of its query (a changed query recomputes it, as in DLT)."""
    return versions if definition is None else versions | {incremental.DEFINITION: definition}
