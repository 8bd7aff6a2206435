"""Delta storage for the table layer: versioned writes that carry their ledger entry.

Every write commits the data together with an app transaction ``(app_id, batch_id)``, so the table
itself records which batch it holds: a crash between computing and committing leaves the table at
its previous version, and a batch that was committed is never written twice.

A frame of plain columns whose schema is the table's is written by polars' parquet writer (on every
core, straight from polars memory) and committed with ``create_write_transaction``; a data file
written by a run that dies before the commit stays invisible. Anything else (schema changes, other
types, empty frames) goes through ``write_deltalake``.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from deltalake import CommitProperties, DeltaTable, Schema, Transaction, write_deltalake
from deltalake.exceptions import TableNotFoundError
from deltalake.transaction import AddAction, create_table_with_add_actions

from mlplatform.lakehouse.failpoints import failpoint

_RECENT_WRITES: OrderedDict[str, tuple[int, str, bool, pl.DataFrame]] = OrderedDict()
"""The last frames this process committed with polars (path -> version, mode, created, frame)."""
_RECENT_LIMIT = 3

_PLAIN = {pl.String, pl.Boolean, pl.Date, pl.Float32, pl.Float64}
_PLAIN |= {pl.Int8, pl.Int16, pl.Int32, pl.Int64}


def _plain_columns(schema: pl.Schema) -> bool:
    """Every column maps to a Delta type one to one (microsecond timestamps naive or UTC)."""
    for dtype in schema.dtypes():
        if isinstance(dtype, pl.Datetime):
            if dtype.time_unit != "us" or dtype.time_zone not in (None, "UTC"):
                return False
        elif dtype.base_type() not in _PLAIN:
            return False
    return True


@dataclass(frozen=True)
class DeltaStore:
    """One Delta table on disk (``$MLPLATFORM_HOME/lakehouse/<layer>/<table>``)."""

    path: Path
    app_id: str

    def exists(self) -> bool:
        return DeltaTable.is_deltatable(str(self.path))

    def table(self, version: int | None = None) -> DeltaTable:
        try:
            return DeltaTable(str(self.path), version=version)
        except TableNotFoundError as err:
            raise FileNotFoundError(f"no Delta table at {self.path} ({self.app_id})") from err

    def version(self) -> int | None:
        return self.table().version() if self.exists() else None

    def committed_batch(self) -> int:
        """The last batch id committed to this table (0 when none)."""
        if not self.exists():
            return 0
        return self.table().transaction_version(self.app_id) or 0

    def written_frame(self, start: int | None, end: int) -> pl.DataFrame | None:
        """The rows of versions ``(start, end]`` if this process committed them as one frame and
        the table is still at ``end``: the next table of a run reads them from memory, not disk.
        """
        recent = _RECENT_WRITES.get(str(self.path))
        if recent is None or recent[0] != end:
            return None
        version, mode, created, frame = recent
        whole = (created or mode == "overwrite") and start is None
        if not (whole or (mode == "append" and start == end - 1)):
            return None
        return frame if self.version() == end else None

    def scan(self, version: int | None = None) -> pl.LazyFrame:
        return pl.scan_delta(str(self.path), version=version)

    def read(self, version: int | None = None) -> pl.DataFrame:
        return self.scan(version).collect()

    def added_files(self, start_version: int | None, end_version: int) -> list[str]:
        """Data files added between two versions of an append-only table (``(start, end]``)."""
        end_files = self.table(end_version).file_uris()
        if start_version is None:
            return end_files
        start_files = set(self.table(start_version).file_uris())
        if not start_files.issubset(end_files):
            raise RuntimeError(
                f"{self.app_id} was rewritten between versions {start_version} and {end_version} "
                "(overwrite or compaction); run downstream tables with full_refresh"
            )
        return [f for f in end_files if f not in start_files]

    def write(
        self,
        df: pl.DataFrame,
        batch_id: int,
        mode: str = "append",
        comment: str | None = None,
        metadata: dict | None = None,
        evolve_schema: bool = False,
    ) -> int:
        """Commit ``df`` with the app transaction ``(app_id, batch_id)``; return the new version."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        custom = {"mlplatform.batch_id": str(batch_id)}
        if metadata:
            custom["mlplatform.metadata"] = json.dumps(metadata, default=str)
        if mode in ("append", "overwrite") and df.height and self._same_plain_schema(df):
            return self._write_parquet(df, batch_id, mode, comment, custom)
        data = df.to_arrow()
        schema_mode = None
        if mode == "overwrite":
            schema_mode = "overwrite"
        elif evolve_schema:
            schema_mode = "merge"
        write_deltalake(
            str(self.path),
            data,
            mode=mode,
            schema_mode=schema_mode,
            description=comment if not self.exists() else None,
            name=self.app_id.split("/")[-1] if not self.exists() else None,
            commit_properties=CommitProperties(
                app_transactions=[Transaction(self.app_id, batch_id)], custom_metadata=custom
            ),
        )
        return self.table().version()

    def _same_plain_schema(self, df: pl.DataFrame) -> bool:
        if not _plain_columns(df.schema):
            return False
        if not self.exists():
            return True
        empty = self.table().schema().to_arrow().empty_table()  # arro3: no pyarrow, no pandas
        return pl.DataFrame(empty).schema == df.schema

    def commit_files(
        self,
        actions: list[AddAction],
        schema,
        batch_id: int,
        mode: str,
        comment: str | None = None,
        custom: dict | None = None,
    ) -> bool:
        """Commit data files already written into the table's folder, with the app transaction
        ``(app_id, batch_id)``, in one commit; a missing table is created by that commit (its
        version 0 holds the data, as with ``write_deltalake``). Returns whether it was created.
        ``schema`` is an Arrow schema."""
        commit = CommitProperties(
            app_transactions=[Transaction(self.app_id, batch_id)], custom_metadata=custom
        )
        if self.exists():
            self.table().create_write_transaction(
                actions, mode=mode, schema=schema, commit_properties=commit
            )
            return False
        create_table_with_add_actions(
            str(self.path),
            Schema.from_arrow(schema),
            actions,
            name=self.app_id.split("/")[-1],
            description=comment,
            commit_properties=commit,
        )
        return True

    def _write_parquet(self, df, batch_id, mode, comment, custom) -> int:
        self.path.mkdir(parents=True, exist_ok=True)
        name = f"part-00000-{uuid.uuid4()}-c000.snappy.parquet"
        target = self.path / name
        df.write_parquet(target, compression="snappy", statistics=True)
        stats = {
            "numRecords": df.height,
            "nullCount": dict(zip(df.columns, df.null_count().row(0), strict=True)),
        }
        failpoint("between_files_and_commit", self.app_id)
        schema = df.head(0).to_arrow(compat_level=pl.CompatLevel.oldest()).schema
        action = AddAction(
            path=name,
            size=target.stat().st_size,
            partition_values={},
            modification_time=int(time.time() * 1000),
            data_change=True,
            stats=json.dumps(stats),
        )
        created = self.commit_files([action], schema, batch_id, mode, comment, custom)
        version = self.table().version()
        _RECENT_WRITES[str(self.path)] = (version, mode, created, df)
        _RECENT_WRITES.move_to_end(str(self.path))
        while len(_RECENT_WRITES) > _RECENT_LIMIT:
            _RECENT_WRITES.popitem(last=False)
        return version
