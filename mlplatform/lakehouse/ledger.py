"""Batch ledgers: what each batch of a table consumed, recorded before the batch is written.

A batch is recorded here first (the files with size and mtime, or the upstream Delta version range),
then every target table commits the batch with the app transaction ``(app_id, batch_id)``. On
restart, a recorded batch above a table's committed transaction version is redone with exactly the
recorded input; a table that already reached it is not written again. So a crash at any point
neither loses nor duplicates rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from deltalake import DeltaTable, write_deltalake

LEDGER_SCHEMA = {
    "batch_id": pl.Int64,
    "mode": pl.String,  # append | overwrite
    "source": pl.String,  # a file path, or the upstream table's app id
    "size": pl.Int64,
    "mtime_ns": pl.Int64,
    "start_version": pl.Int64,  # upstream version range (start, end] for streaming reads
    "end_version": pl.Int64,
    "recorded_at": pl.Datetime("us", "UTC"),
}


@dataclass(frozen=True)
class Ledger:
    """The batch log of one table, a small Delta table under the checkpoints folder."""

    path: Path

    def read(self) -> pl.DataFrame:
        if not DeltaTable.is_deltatable(str(self.path)):
            return pl.DataFrame(schema=LEDGER_SCHEMA)
        table = DeltaTable(str(self.path))
        if table.protocol().min_reader_version > 1:  # deletion vectors, column mapping
            frame = pl.read_delta(str(self.path))
        else:  # the active files are the table; read_delta would import pyarrow (0.1 s)
            files = table.file_uris()
            if not files:
                return pl.DataFrame(schema=LEDGER_SCHEMA)
            frame = pl.scan_parquet(
                files, schema=LEDGER_SCHEMA, missing_columns="insert", extra_columns="ignore"
            ).collect()
        return frame.select(list(LEDGER_SCHEMA)).cast(LEDGER_SCHEMA)

    def record(self, rows: list[dict], batch_id: int, mode: str = "append") -> None:
        """Record one batch; ``mode='overwrite'`` (a full refresh) replaces the whole log."""
        now = datetime.now(UTC)
        full = [
            {k: None for k in LEDGER_SCHEMA}
            | r
            | {"batch_id": batch_id, "mode": mode, "recorded_at": now}
            for r in rows
        ] or [
            {k: None for k in LEDGER_SCHEMA}
            | {"batch_id": batch_id, "mode": mode, "recorded_at": now}
        ]
        frame = pl.DataFrame(full, schema=LEDGER_SCHEMA)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_deltalake(
            str(self.path),
            frame.to_arrow(),
            mode="overwrite" if mode == "overwrite" else "append",
        )

    def pending(self, committed: int) -> pl.DataFrame:
        """The recorded batch above ``committed`` (at most one), to be redone."""
        log = self.read()
        return log.filter(pl.col("batch_id") > committed)

    def committed(self, committed: int) -> pl.DataFrame:
        return self.read().filter(pl.col("batch_id") <= committed)
