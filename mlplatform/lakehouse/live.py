"""Live tables (DLT materialized views): recomputed when an input or the definition changed.

An update claims its batch in the table's ledger first (the input versions it will read and the
definition's fingerprint, with the run's owner and lease, as streaming batches are claimed), then
commits the aggregate state (when the table refreshes incrementally) and the table with the
batch's app transaction. A run that finds a claimed batch of a live owner waits or stops with
``TableBusyError``; a batch claimed by a run that died is redone at the recorded input versions.
A table that cannot refresh incrementally computes on polars' streaming engine over the inputs'
snapshots (``execution: streaming``).
"""

from __future__ import annotations

import polars as pl

from mlplatform.lakehouse import incremental
from mlplatform.lakehouse.delta import BatchCommittedError, DeltaStore
from mlplatform.lakehouse.errors import TableBusyError
from mlplatform.lakehouse.failpoints import failpoint
from mlplatform.lakehouse.ingest import parse_size
from mlplatform.lakehouse.ledger import BatchClaimedError, owner_alive
from mlplatform.lakehouse.table import TableInput


def run_live(runner, opts):
    """One update of the live table of ``runner`` (a ``TableRunner``)."""
    from mlplatform.lakehouse.runner import TableRun, UpstreamMissingError

    defn = runner.defn
    definition = incremental.definition_fingerprint(defn)
    while True:
        log = runner.ledger.read()
        done = runner.main.committed_batch()
        last = max(int(log.get_column("batch_id").max() or 0), done)
        claimed = log.filter(pl.col("batch_id") == last)
        if last > done:  # claimed by a run that has not committed it
            first = claimed.row(0, named=True)
            if owner_alive(first["owner"], first["lease_until"]):
                runner._wait_for(last, opts)
                continue
            recorded = {r["source"]: r["end_version"] for r in claimed.iter_rows(named=True)}
            batch_id, redo = last, True
            break
        for inp in defn.upstream:
            if not runner.store_for(inp.key).exists():
                raise UpstreamMissingError(
                    f"{defn.key} reads {inp.key}, which has not been materialized yet"
                )
        current = {i.key: runner.store_for(i.key).version() for i in defn.upstream}
        if defn.upstream and not opts.full_refresh and runner.main.exists():
            before = log.filter(pl.col("batch_id") == done)
            recorded = {r["source"]: r["end_version"] for r in before.iter_rows(named=True)}
            if recorded == _live_sources(current, definition):
                run = TableRun(
                    batch_id=done,
                    mode="overwrite",
                    nothing_new=True,
                    upstream_versions=current,
                    version=runner.main.version(),
                )
                run.quarantine_version = runner.quarantine.version() if runner.quarantine else None
                return run
        batch_id, redo = last + 1, False
        sources = _live_sources(current, definition)
        rows = [{"source": key, "end_version": v} for key, v in sources.items()]
        try:
            runner.ledger.record(rows, batch_id, "overwrite", opts.lease_s)
        except BatchClaimedError:
            runner._wait_for(batch_id, opts)
            continue
        recorded = sources
        break
    failpoint("after_ledger_record", defn.key)
    versions = {k: v for k, v in recorded.items() if k != incremental.DEFINITION}
    plan = _aggregate_plan(runner)
    if plan is not None:
        evaluation, counts, state = _prepare_aggregate(runner, plan, versions, done, opts)
    else:
        rows = [{"source": k, "end_version": v} for k, v in versions.items()]
        evaluation, counts, versions = runner._prepare(rows, opts, batch_id)
        counts["execution"] = "streaming" if runner.engine.name == "polars" else "spark"
        counts["not_incremental"] = _plan_and_reason(runner)[1]
    run = TableRun(
        batch_id=batch_id, mode="overwrite", redo=redo, counts=counts, upstream_versions=versions
    )
    try:
        if plan is not None:  # the state first: a state ahead of its table is rebuilt next time
            meta = {"input_versions": versions, "state_sql": plan.state_sql}
            try:
                aggregate_state(runner).write(state, batch_id, mode="overwrite", metadata=meta)
            except BatchCommittedError:
                pass  # a run that died committed this batch's state from the same input
            failpoint("between_commits", defn.key)
        runner._commit(run, evaluation, runner.targets, batch_id, "overwrite", opts)
    except BatchCommittedError as err:
        raise TableBusyError(defn.key, batch_id, str(err)) from err
    run.micro_batches = 1
    return run


def aggregate_state(runner) -> DeltaStore:
    """The per-key aggregates of an incrementally refreshed live table."""
    defn = runner.defn
    name = f"{defn.name}__aggregate_state"
    return DeltaStore(runner.settings.checkpoints / defn.layer / name, f"{defn.key}#state")


def _aggregate_plan(runner) -> incremental.AggregatePlan | None:
    return _plan_and_reason(runner)[0]


def _plan_and_reason(runner) -> tuple[incremental.AggregatePlan | None, str | None]:
    inputs = runner.defn.inputs
    if runner.engine.name != "polars":
        return None, f"incremental refresh runs on the polars engine, not {runner.engine.name}"
    if len(inputs) != 1:
        return None, "the table reads more than one input"
    if not isinstance(inputs[0], TableInput) or inputs[0].stream:
        return None, "its input is read as a stream"
    return incremental.cached_plan(runner.defn, runner.settings.plan_cache / runner.defn.layer)


def _prepare_aggregate(runner, plan, versions: dict, done: int, opts):
    from mlplatform.lakehouse.runner import DEFAULT_STREAM_BYTES

    inp = runner.defn.upstream[0]
    store = runner.store_for(inp.key)
    end = versions[inp.key]
    rebuild = opts.full_refresh or done == 0
    budget = parse_size(opts.max_bytes_per_trigger) or DEFAULT_STREAM_BYTES
    state, counts = incremental.refresh(
        plan, runner.engine, (inp.key, store, end), aggregate_state(runner), done, rebuild, budget
    )
    evaluation = runner.engine.evaluate(incremental.finish(plan, state), runner.defn, None)
    return evaluation, counts, state


def _live_sources(versions: dict, definition: int | None) -> dict:
    """What a live table's ledger records per update: its inputs' versions and, under
    ``#definition``, the fingerprint of its query (a changed query recomputes it, as in DLT)."""
    return versions if definition is None else versions | {incremental.DEFINITION: definition}
