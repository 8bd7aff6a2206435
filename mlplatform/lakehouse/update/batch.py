"""The batch protocol: how every ledgered table is updated exactly once.

Streaming tables (``streaming.py``), live tables (``live.py``), ``apply_changes`` targets
(``changes.py``) and the monitoring tables claim their batches here; the snapshot CDC
(``snapshot.py``) and the time-series feature tables number theirs by the source version they
reflect (``batch_of_version``). The protocol holds for runs on one machine and for runs on several
machines sharing object storage (it rests on Delta's optimistic concurrency, not on a local lock):

1. A run reads the table's ledger and its targets' app transaction versions (the table, and its
   quarantine or storage table when it has one). If the last recorded batch ``b`` is above a
   target's version, that batch is unfinished: when the run that recorded it is alive (``owner``:
   host, pid and process start; or, from another host, its ``lease_until`` has not passed), the
   table is busy and the run waits (``busy_timeout_s``) or stops with ``TableBusyError``, having
   written nothing. When its owner is gone (a crash), the run redoes batch ``b`` with exactly the
   recorded input, committing only the targets that lack it.
2. Otherwise the run plans the next batch (the files with the bytes taken, mtime and a hash of
   their end, or the upstream Delta version range) and records it in the ledger, in one commit
   carrying the app transaction
   ``(<table>#ledger, batch)`` against the snapshot it planned from. A second run recording the
   same batch finds the ledger's transaction version at the batch, or fails Delta's conflict
   check against the first commit: exactly one run records a batch, and the other waits for it
   or is told the table is busy.
3. Each target commits the batch with the app transaction ``(<layer>/<table>, batch)``, the last
   target (the table) last; the commit is refused when the target's transaction version already
   reached the batch (``DeltaStore``), so even a run that took over a batch from an owner thought
   dead cannot commit it twice (``committing`` turns that refusal into ``TableBusyError``).

So a crash at any point, or two runs at once, neither loses nor duplicates rows. The named
failpoint ``after_ledger_record`` lies between steps 2 and 3.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import polars as pl

from mlplatform.lakehouse.delta import BatchCommittedError, DeltaStore
from mlplatform.lakehouse.errors import TableBusyError
from mlplatform.lakehouse.failpoints import failpoint
from mlplatform.lakehouse.ledger import (
    DEFAULT_LEASE_S,
    BatchClaimedError,
    Ledger,
    owner_alive,
    wait_until,
)


def batch_of_version(version: int) -> int:
    """The batch id of a table that reflects its source up to Delta ``version`` (``version + 1``:
    batch ids start at 1, versions at 0)."""
    return version + 1


def version_of_batch(batch_id: int) -> int | None:
    """The source version a table at ``batch_id`` reflects (None: nothing yet)."""
    return batch_id - 1 if batch_id > 0 else None


@dataclass
class Plan:
    """What the next batch will consume: the ledger rows to record.

    Attributes:
        rows: Ledger rows (``source`` and the file's size and mtime, or a version range).
        mode: ``append``, ``overwrite`` (a full refresh: replaces the ledger) or ``replay``.
        batch_id: The batch's id; None: the one after the last.
        again: Record a full recomputation of the batch the table is at (an overwrite).
        extra: Whatever the planner wants to hand to its caller.
        nothing_new: There is nothing to do: nothing is recorded.
    """

    rows: list[dict]
    mode: str = "append"
    batch_id: int | None = None
    again: bool = False
    extra: dict = field(default_factory=dict)
    nothing_new: bool = False


@dataclass
class Claim:
    """A batch this run holds: recorded by it, or recorded by a run that died (``redo``).

    ``nothing_new``: the planner found nothing to do; ``batch_id`` is then the last batch.
    """

    batch_id: int
    rows: list[dict]
    targets: list[DeltaStore]
    redo: bool = False
    plan: Plan | None = None
    nothing_new: bool = False

    @property
    def mode(self) -> str:
        return self.rows[0]["mode"] if self.rows else "append"

    @property
    def extra(self) -> dict:
        return self.plan.extra if self.plan is not None else {}

    def end_versions(self) -> dict:
        """``source -> end_version`` of the recorded rows."""
        return {r["source"]: r["end_version"] for r in self.rows}


Planner = Callable[[pl.DataFrame, int], Plan | None]
"""``planner(ledger, last_batch)``: the next batch's plan, or None when there is nothing new."""


@dataclass
class Batches:
    """The protocol over one table's ledger and the Delta tables that commit its batches.

    ``targets`` are in commit order: the table itself last. A target that does not exist while
    the table has committed a batch (a quarantine added later) is not behind.
    """

    table: str
    ledger: Ledger
    targets: list[DeltaStore]
    busy_timeout_s: float = 0.0
    lease_s: float = DEFAULT_LEASE_S

    @property
    def final(self) -> DeltaStore:
        return self.targets[-1]

    def committed(self) -> list[int]:
        """Each target's last committed batch (0: none), in commit order."""
        return [t.committed_batch() for t in self.targets]

    def last(self, log: pl.DataFrame, committed: list[int] | None = None) -> int:
        """The last batch recorded in ``log`` or committed to the table."""
        committed = self.committed() if committed is None else committed
        return max(int(log.get_column("batch_id").max() or 0), committed[-1])

    def behind(self, batch_id: int, committed: list[int] | None = None) -> list[DeltaStore]:
        """The targets that have not committed ``batch_id`` (in commit order)."""
        if batch_id == 0:
            return []
        committed = self.committed() if committed is None else committed
        final_done = committed[-1] >= batch_id
        return [
            t
            for t, done in zip(self.targets, committed, strict=True)
            if done < batch_id and (not final_done or t.exists())
        ]

    def claim(self, planner: Planner) -> Claim:
        """Redo the unfinished batch of a run that died, wait for one of a live run, or plan and
        record the next batch (step 1 and 2 of the protocol).

        Raises:
            TableBusyError: another run holds the batch when ``busy_timeout_s`` ends.
        """
        tried: set[int] = set()
        while True:
            log = self.ledger.read()
            committed = self.committed()
            last = self.last(log, committed)
            behind = self.behind(last, committed)
            if behind:
                rows = log.filter(pl.col("batch_id") == last).to_dicts()
                first = rows[0] if rows else {"owner": None, "lease_until": None}
                if owner_alive(first["owner"], first["lease_until"]):
                    self.wait_for(last)
                    continue
                return Claim(last, rows, behind, redo=True)
            plan = planner(log, last)
            if plan is None or plan.nothing_new:
                return Claim(last, [], [], plan=plan, nothing_new=True)
            batch_id = last + 1 if plan.batch_id is None else plan.batch_id
            if batch_id in tried:  # planned again after the other run settled: never loop
                raise TableBusyError(self.table, batch_id)
            tried.add(batch_id)
            try:
                recorded = self.ledger.record(
                    plan.rows, batch_id, plan.mode, self.lease_s, again=plan.again
                )
            except BatchClaimedError:
                self.wait_for(batch_id)
                continue
            failpoint("after_ledger_record", self.table)
            return Claim(batch_id, recorded.to_dicts(), list(self.targets), plan=plan)

    def wait_for(self, batch_id: int) -> None:
        """Wait (``busy_timeout_s``) for another run's batch to be committed or abandoned.

        Raises:
            TableBusyError: it is still being updated when the wait ends.
        """

        def settled() -> bool:
            if not self.behind(batch_id) and self.final.exists():
                return True
            rows = self.ledger.read().filter(pl.col("batch_id") == batch_id)
            if rows.is_empty():
                return True  # replaced by a full refresh
            first = rows.row(0, named=True)
            return not owner_alive(first["owner"], first["lease_until"])

        if not wait_until(settled, self.busy_timeout_s):
            raise TableBusyError(self.table, batch_id)

    def committing(self, batch_id: int):
        """Step 3 (see ``committing``)."""
        return committing(self.table, batch_id)


@contextmanager
def committing(table: str, batch_id: int) -> Iterator[None]:
    """Step 3 of the protocol: a target refusing the batch (another run committed it) stops this
    run with ``TableBusyError``, having committed nothing more."""
    try:
        yield
    except BatchCommittedError as err:
        raise TableBusyError(table, batch_id, str(err)) from err
