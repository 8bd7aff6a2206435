"""Run one update of a declared table on its engine, exactly once.

A streaming table (files or stream inputs) drains its backlog in micro-batches
(``streaming.py``); a live table (full reads only) is recomputed when its inputs or definition
changed (``live.py``). Both claim and commit their batches through the protocol of ``batch.py``.
"""

from __future__ import annotations

from mlplatform.lakehouse import incremental
from mlplatform.lakehouse.delta import DeltaStore
from mlplatform.lakehouse.update import live, streaming
from mlplatform.lakehouse.update.declared import DeclaredTable
from mlplatform.lakehouse.update.runs import RunOptions, TableRun


class TableRunner(DeclaredTable):
    """Runs updates of one table against its Delta storage and ledger."""

    @property
    def aggregate_state(self) -> DeltaStore:
        """The per-key aggregates of an incrementally refreshed live table."""
        return live.aggregate_state(self)

    def aggregate_plan(self) -> incremental.AggregatePlan | None:
        """How this live table refreshes incrementally (None: it is recomputed)."""
        return live.plan_and_reason(self)[0]

    def run(self, opts: RunOptions | None = None) -> TableRun:
        opts = opts or RunOptions()
        if self.defn.streaming:
            return streaming.run_streaming(self, opts)
        return live.run_live(self, opts)
