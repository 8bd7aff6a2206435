"""Errors of the table layer that users meet (importable without the engines)."""

from __future__ import annotations


class TableBusyError(RuntimeError):
    """Another run is updating the table: this run wrote nothing."""

    def __init__(self, table: str, batch_id: int, detail: str | None = None):
        self.table, self.batch_id = table, batch_id
        super().__init__(
            detail
            or f"{table} is being updated by another run (batch {batch_id}); nothing was written. "
            "Run again when it has finished, or set busy_timeout_s to wait for it"
        )


class MissingFileError(FileNotFoundError):
    """A recorded batch needs a landing file that no longer exists."""

    def __init__(self, table: str, batch_id: int, paths: list[str]):
        self.table, self.batch_id, self.paths = table, batch_id, paths
        super().__init__(
            f"{table}: recorded batch {batch_id} needs landing file(s) {', '.join(paths)}, which "
            "no longer exist; nothing was written. Restore them, or set ignore_missing_files: "
            "true to redo the batch without them"
        )
