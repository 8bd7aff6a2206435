"""Batch ledgers: what each batch of a table consumed, recorded before the batch is written.

A ledger is a small Delta table per table (under the checkpoints folder), one row per input of a
batch, with the run that recorded it (``owner``, ``lease_until``). Recording a batch commits the
app transaction ``(<table>#ledger, batch)``, so exactly one run records a batch. How runs use it
(the batch protocol: redo, wait, record, commit) is in ``mlplatform.lakehouse.update.batch``.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

import polars as pl
from deltalake import DeltaTable, write_deltalake

from mlplatform.lakehouse.delta import BatchCommittedError, DeltaStore
from mlplatform.lakehouse.object_location import Location

LEDGER_SCHEMA = {
    "batch_id": pl.Int64,
    "mode": pl.String,  # append | overwrite | replay
    "source": pl.String,  # a file path, or the upstream table's app id
    "size": pl.Int64,  # a file: the end of the bytes the batch takes (complete lines)
    "mtime_ns": pl.Int64,
    "offset": pl.Int64,  # a file: where the batch starts reading it (its earlier bytes ingested)
    "tail_hash": pl.String,  # a file: hash of the bytes before ``size`` (tells growth from rewrite)
    "start_version": pl.Int64,  # upstream version range (start, end] for streaming reads
    "end_version": pl.Int64,
    "recorded_at": pl.Datetime("us", "UTC"),
    "status": pl.String,  # null: ingested; corrupt_skipped | missing_skipped
    "owner": pl.String,  # host:pid:start:token of the run that recorded the batch
    "lease_until": pl.Datetime("us", "UTC"),
}

DEFAULT_LEASE_S = 600.0


class BatchClaimedError(RuntimeError):
    """Another run recorded this batch first."""

    def __init__(self, table: str, batch_id: int):
        self.table, self.batch_id = table, batch_id
        super().__init__(f"{table}: batch {batch_id} was recorded by another run")


def _read_start(pid: int) -> str | None:
    """A process's start time in clock ticks since boot (Linux), telling a reused pid apart."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, IndexError):
        return None


@cache
def run_owner() -> str:
    """This process's identity in ledgers: host, pid, process start and a random token."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_read_start(pid) or '-'}:{uuid.uuid4().hex[:8]}"


def owner_alive(owner: str | None, lease_until: datetime | None) -> bool:
    """Whether the run that recorded a batch may still be working on it."""
    if not owner:
        return False  # recorded before owners were kept: treat as a crashed run
    host, pid, start, _ = (owner.split(":") + ["", "", "", ""])[:4]
    if host == socket.gethostname() and pid.isdigit():
        if int(pid) == os.getpid():
            return False  # this process's runs are sequential: an earlier one failed
        return _read_start(int(pid)) == start
    return lease_until is not None and datetime.now(UTC) < lease_until


@dataclass(frozen=True)
class Ledger:
    """The batch log of one table, a small Delta table under the checkpoints folder (beside the
    tables: a local folder or the object store)."""

    path: Location
    table: str = ""  # the table it belongs to, for messages and the ledger's app id

    @property
    def store(self) -> DeltaStore:
        return DeltaStore(self.path, f"{self.table or self.path.name}#ledger")

    def read(self) -> pl.DataFrame:
        store = self.store
        if not store.exists():
            return pl.DataFrame(schema=LEDGER_SCHEMA)
        table = store.table()
        if table.protocol().min_reader_version > 1:  # deletion vectors, column mapping
            frame = store.read()
            frame = frame.with_columns(
                pl.lit(None).cast(t).alias(c) for c, t in LEDGER_SCHEMA.items() if c not in frame
            )
        else:  # the active files are the table; read_delta would import pyarrow (0.1 s)
            files = table.file_uris()
            if not files:
                return pl.DataFrame(schema=LEDGER_SCHEMA)
            frame = store.scan_files(files, LEDGER_SCHEMA).collect()
        return frame.select(list(LEDGER_SCHEMA)).cast(LEDGER_SCHEMA)

    def record(
        self,
        rows: list[dict],
        batch_id: int,
        mode: str = "append",
        lease_s: float = DEFAULT_LEASE_S,
        again: bool = False,
    ) -> pl.DataFrame:
        """Record one batch; ``mode='overwrite'`` (a full refresh) replaces the whole log.
        Returns the recorded rows.

        Raises:
            BatchClaimedError: another run recorded this batch first (nothing was recorded).
        """
        now = datetime.now(UTC)
        stamp = {
            "batch_id": batch_id,
            "mode": mode,
            "recorded_at": now,
            "owner": run_owner(),
            "lease_until": now + timedelta(seconds=lease_s),
        }
        full = [{k: None for k in LEDGER_SCHEMA} | r | stamp for r in rows] or [
            {k: None for k in LEDGER_SCHEMA} | stamp
        ]
        frame = pl.DataFrame(full, schema=LEDGER_SCHEMA)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        store = self.store
        data = frame  # an Arrow stream (no pyarrow import)

        def commit(table: DeltaTable | None) -> None:
            write_deltalake(
                table if table is not None else store.uri,
                data,
                storage_options=store.options if table is None else None,
                mode=("overwrite" if mode == "overwrite" else "append") if table else "error",
                schema_mode=(("merge" if mode != "overwrite" else "overwrite") if table else None),
                commit_properties=store.commit_properties(batch_id),
            )

        try:
            store.guarded(batch_id, commit, again=again and mode == "overwrite")
        except BatchCommittedError as err:
            raise BatchClaimedError(self.table or str(self.path), batch_id) from err
        return frame

    def pending(self, committed: int) -> pl.DataFrame:
        """The recorded batch above ``committed`` (at most one), to be redone."""
        log = self.read()
        return log.filter(pl.col("batch_id") > committed)

    def committed(self, committed: int) -> pl.DataFrame:
        return self.read().filter(pl.col("batch_id") <= committed)


def wait_until(done, timeout_s: float, poll_s: float = 0.25) -> bool:
    """Poll ``done()`` until it is true or ``timeout_s`` passed; return its last answer."""
    deadline = time.monotonic() + timeout_s
    while True:
        if done():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(min(poll_s, max(0.0, deadline - time.monotonic())) or poll_s)
