"""Delta storage for the table layer: versioned writes that carry their ledger entry.

Every write commits the data together with an app transaction ``(app_id, batch_id)``, so the table
itself records which batch it holds: a crash between computing and committing leaves the table at
its previous version, and a batch that was committed is never written twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake
from deltalake.exceptions import TableNotFoundError


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
        data = df.to_arrow()
        custom = {"mlplatform.batch_id": str(batch_id)}
        if metadata:
            custom["mlplatform.metadata"] = json.dumps(metadata, default=str)
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
