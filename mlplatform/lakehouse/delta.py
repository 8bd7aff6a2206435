"""Delta storage for the table layer: versioned writes that carry their ledger entry.

Every write commits the data together with an app transaction ``(app_id, batch_id)``, so the table
itself records which batch it holds: a crash between computing and committing leaves the table at
its previous version, and a batch that was committed is never written twice.

The guard against a second commit of a batch is Delta's optimistic concurrency, so it holds for
writers on several machines over shared object storage: a write loads the table's snapshot,
refuses when the snapshot's app transaction version already reached the batch
(``BatchCommittedError``), and commits against that snapshot. A concurrent commit carrying the same
app id makes the commit fail its conflict check (delta-rs: "Concurrent transaction failed"); the
write then loads the new snapshot and checks again. Other concurrent commits (a logger appending)
are rebased as usual.

A frame of plain columns whose schema is the table's is written by polars' parquet writer (on every
core, straight from polars memory) and committed with ``create_write_transaction``; a data file
written by a run that dies before the commit stays invisible. Anything else (schema changes, other
types, empty frames) goes through ``write_deltalake``.

A table may live in a local folder or in an object store (``ObjectLocation``): every deltalake
and polars call gets the location's storage options, and file names are joined as URIs. On S3,
deltalake 1.x commits with conditional writes (``If-None-Match``), so two writers of one version
conflict as they do on a local disk; no locking provider or unsafe rename is needed.
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
from deltalake.exceptions import CommitFailedError, DeltaError, TableNotFoundError
from deltalake.transaction import AddAction, create_table_with_add_actions

from mlplatform.lakehouse.failpoints import failpoint
from mlplatform.lakehouse.object_location import (
    Location,
    ObjectLocation,
    as_location,
    location_uri,
    storage_options,
)

_RECENT_WRITES: OrderedDict[str, tuple[int, str, bool, pl.DataFrame]] = OrderedDict()
"""The last frames this process committed with polars (path -> version, mode, created, frame)."""
_RECENT_LIMIT = 3

_CONFLICT_RETRIES = 50


class BatchCommittedError(RuntimeError):
    """The batch was already committed to the table (by another run): nothing was written."""

    def __init__(self, app_id: str, batch_id: int, committed: int):
        self.app_id, self.batch_id, self.committed = app_id, batch_id, committed
        super().__init__(
            f"{app_id}: batch {batch_id} was already committed by another run (the table is at "
            f"batch {committed}); nothing was written"
        )


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
    """One Delta table (``<table root>/<layer>/<table>``), in a local folder or an object store.

    ``path`` is a ``Path``, an ``ObjectLocation`` (which carries its storage options), or text
    (an object-store URI in text carries no options: ``Settings.location`` gives it the
    settings' own). A store never reads the environment.
    """

    path: Location
    app_id: str

    def __post_init__(self):
        object.__setattr__(self, "path", as_location(self.path))

    @property
    def uri(self) -> str:
        """What deltalake and polars open: the local path or the object-store URI."""
        return location_uri(self.path)

    @property
    def options(self) -> dict[str, str] | None:
        """The storage options (None for a local folder)."""
        return storage_options(self.path)

    @property
    def remote(self) -> bool:
        return isinstance(self.path, ObjectLocation)

    def exists(self) -> bool:
        return DeltaTable.is_deltatable(self.uri, storage_options=self.options)

    def table(self, version: int | None = None) -> DeltaTable:
        try:
            return DeltaTable(self.uri, version=version, storage_options=self.options)
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
        recent = _RECENT_WRITES.get(self.uri)
        if recent is None or recent[0] != end:
            return None
        version, mode, created, frame = recent
        whole = (created or mode == "overwrite") and start is None
        if not (whole or (mode == "append" and start == end - 1)):
            return None
        return frame if self.version() == end else None

    def scan(self, version: int | None = None) -> pl.LazyFrame:
        return pl.scan_delta(self.uri, version=version, storage_options=self.options)

    def read(self, version: int | None = None) -> pl.DataFrame:
        return self.scan(version).collect()

    def scan_files(self, files: list[str], schema, extra: str = "ignore") -> pl.LazyFrame:
        """Data files of this table (a snapshot's file list) read with ``schema``: a column a
        file lacks is null, one it has beyond the schema is ignored (``extra="raise"`` fails)."""
        return pl.scan_parquet(
            files,
            schema=dict(schema),
            missing_columns="insert",
            extra_columns=extra,
            storage_options=self.options,
        )

    def remove(self) -> None:
        """Delete the table's folder: its data files and log (a full refresh that starts over)."""
        if isinstance(self.path, Path):
            import shutil

            shutil.rmtree(self.path)
            return
        import pyarrow.fs as pafs
        from deltalake.fs import DeltaStorageHandler

        files = pafs.PyFileSystem(DeltaStorageHandler(self.uri, self.options))
        listed = files.get_file_info(pafs.FileSelector("", recursive=True))
        for info in listed:  # an object store has only objects: delete each under the prefix
            if info.type == pafs.FileType.File:
                files.delete_file(info.path)

    def history(self) -> list[dict]:
        """The table's commit history, newest first ([] when there is no table)."""
        try:
            return self.table().history()
        except FileNotFoundError:
            return []

    def commit_actions(self, version: int) -> list[dict] | None:
        """The actions of the commit that made ``version`` (its ``_delta_log`` JSON file, read
        from the object store for a remote table); None when the log file is gone."""
        name = f"_delta_log/{version:020d}.json"
        try:
            if isinstance(self.path, Path):
                text = (self.path / name).read_text()
            else:
                from deltalake.fs import DeltaStorageHandler

                handler = DeltaStorageHandler(self.uri, self.options)
                with handler.open_input_stream(name) as stream:
                    text = stream.read().decode()
        except (OSError, FileNotFoundError):
            return None
        return [json.loads(line) for line in text.splitlines() if line.strip()]

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

    def snapshot(self, batch_id: int, again: bool = False) -> DeltaTable | None:
        """The table's current snapshot (None when there is no table yet), checked to be below
        ``batch_id`` (``again``: at most at it, for a full recomputation of the batch the table
        is at, which overwrites and so is the same whichever run commits it).

        Raises:
            BatchCommittedError: the table's app transaction version already reached the batch.
        """
        try:
            table = DeltaTable(self.uri, storage_options=self.options)
        except TableNotFoundError:
            return None
        committed = table.transaction_version(self.app_id)
        if committed is not None and (committed > batch_id or committed == batch_id and not again):
            raise BatchCommittedError(self.app_id, batch_id, committed)
        return table

    def guarded(self, batch_id: int, commit, again: bool = False) -> None:
        """Run ``commit(snapshot)`` (a commit against that snapshot carrying the batch's app
        transaction) until it lands or the batch is found committed by another run."""
        for _ in range(_CONFLICT_RETRIES):
            table = self.snapshot(batch_id, again)
            failpoint("before_commit", self.app_id)
            try:
                commit(table)
                return
            except CommitFailedError:  # a concurrent commit: look at the new snapshot
                time.sleep(0.05)
            except Exception:
                if table is not None or not self.exists():
                    raise
                # another writer created the table meanwhile: check its snapshot
        raise RuntimeError(f"{self.app_id}: batch {batch_id} kept conflicting with other commits")

    def commit_properties(self, batch_id: int, custom: dict | None = None) -> CommitProperties:
        return CommitProperties(
            app_transactions=[Transaction(self.app_id, batch_id)], custom_metadata=custom
        )

    def _sizes(self, version: int | None) -> dict[str, int]:
        if version is None:
            return {}
        table = self.table(version)
        actions = pl.DataFrame(table.get_add_actions(flatten=True)).select("path", "size_bytes")
        root = table.table_uri.rstrip("/")
        return {
            p if "://" in p or p.startswith("/") else f"{root}/{p}": s
            for p, s in actions.iter_rows()
        }

    def added_bytes(self, start_version: int | None, end_version: int) -> int:
        """Bytes of the data files added between two versions (``(start, end]``)."""
        before = self._sizes(start_version)
        return sum(s for p, s in self._sizes(end_version).items() if p not in before)

    def file_chunks(self, version: int, budget: int) -> list[list[str]]:
        """The data files of the snapshot at ``version`` in groups of at most ``budget`` bytes
        (soft: at least one file a group), in the snapshot's order."""
        chunks: list[list[str]] = [[]]
        total = 0
        for path, size in self._sizes(version).items():
            if chunks[-1] and total + size > budget:
                chunks.append([])
                total = 0
            chunks[-1].append(path)
            total += size
        return [c for c in chunks if c]

    def chunk_end(self, start: int | None, end: int, budget: int) -> int:
        """The last version ``v`` in ``(start, end]`` such that the files added in
        ``(start, v]`` stay within ``budget`` bytes (soft: at least one version)."""
        if self.added_bytes(start, end) <= budget:
            return end
        first = 0 if start is None else start + 1
        seen = set(self._sizes(start))
        total = 0
        for version in range(first, end + 1):
            sizes = self._sizes(version)
            total += sum(s for p, s in sizes.items() if p not in seen)
            seen |= set(sizes)
            if total > budget and version > first:
                return version - 1
        return end

    def write(
        self,
        df: pl.DataFrame,
        batch_id: int,
        mode: str = "append",
        comment: str | None = None,
        metadata: dict | None = None,
        evolve_schema: bool = False,
        predicate: str | None = None,
        again: bool = False,
    ) -> int:
        """Commit ``df`` with the app transaction ``(app_id, batch_id)``; return the new version.

        ``predicate`` with ``mode='overwrite'`` replaces only the rows it selects (replace-where).
        ``again`` (an overwrite recomputing the batch the table is at) accepts that batch.

        Raises:
            BatchCommittedError: the batch was already committed (nothing is written).
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        custom = {"mlplatform.batch_id": str(batch_id)}
        if metadata:
            custom["mlplatform.metadata"] = json.dumps(metadata, default=str)
        if (
            mode in ("append", "overwrite")
            and predicate is None
            and not again
            and df.height
            and self._same_plain_schema(df)
        ):
            return self._write_parquet(df, batch_id, mode, comment, custom)
        # an Arrow stream: polars exports it without importing pyarrow (not for Null columns)
        data = df.to_arrow() if pl.Null in df.schema.dtypes() else df

        def commit(table: DeltaTable | None) -> None:
            schema_mode = None
            if mode == "overwrite" and predicate is None:
                schema_mode = "overwrite"
            elif evolve_schema:
                schema_mode = "merge"
            write_deltalake(
                table if table is not None else self.uri,
                data,
                storage_options=self.options if table is None else None,
                mode=mode if table is not None else "error",  # a create fails if one exists
                schema_mode=schema_mode if table is not None else None,
                predicate=predicate if table is not None else None,
                description=comment if table is None else None,
                name=self.app_id.split("/")[-1] if table is None else None,
                commit_properties=self.commit_properties(batch_id, custom),
            )

        self.guarded(batch_id, commit, again=again and mode == "overwrite")
        return self.table().version()

    def create(self, schema, description: str | None = None) -> None:
        """Create the table empty with ``schema`` (an Arrow schema) unless it exists; another
        process creating it at the same moment is fine."""
        if self.exists():
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            DeltaTable.create(
                self.uri,
                schema,
                name=self.app_id.split("/")[-1],
                mode="ignore",
                description=description,
                storage_options=self.options,
            )
        except DeltaError:  # created by another process meanwhile
            if not self.exists():
                raise

    def append(self, data, evolve_schema: bool = False) -> None:
        """Append ``data`` (Arrow or polars) as one commit without a batch: for a writer whose
        every commit is new rows (the serving logger's buffer), where no batch can be redone.
        ``evolve_schema`` adds columns the table does not have yet."""
        write_deltalake(
            self.uri,
            data,
            mode="append",
            schema_mode="merge" if evolve_schema else None,
            storage_options=self.options,
            commit_properties=CommitProperties(custom_metadata={"mlplatform.writer": self.app_id}),
        )

    def merge(self, source: pl.DataFrame, batch_id: int | None, predicate: str, build) -> dict:
        """A Delta ``MERGE`` of ``source`` (alias ``s``) into the table (alias ``t``) on
        ``predicate``; ``build(merger)`` adds the clauses. With a ``batch_id`` it carries the app
        transaction and is guarded like ``write``; returns the merge metrics."""
        out: dict = {}

        def commit(table: DeltaTable | None) -> None:
            if table is None:
                raise FileNotFoundError(f"no Delta table at {self.path} ({self.app_id})")
            props = self.commit_properties(batch_id) if batch_id is not None else None
            merger = table.merge(
                source.to_arrow(),
                predicate=predicate,
                source_alias="s",
                target_alias="t",
                commit_properties=props,
            )
            out.update(build(merger).execute())

        if batch_id is None:
            commit(self.table())
        else:
            self.guarded(batch_id, commit)
        return out

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
        created = []

        def commit(table: DeltaTable | None) -> None:
            props = self.commit_properties(batch_id, custom)
            if table is not None:
                table.create_write_transaction(
                    actions, mode=mode, schema=schema, commit_properties=props
                )
                return
            create_table_with_add_actions(
                self.uri,
                Schema.from_arrow(schema),
                actions,
                storage_options=self.options,
                name=self.app_id.split("/")[-1],
                description=comment,
                commit_properties=props,
            )
            created.append(True)

        self.guarded(batch_id, commit)
        return bool(created)

    def _write_parquet(self, df, batch_id, mode, comment, custom) -> int:
        self.path.mkdir(parents=True, exist_ok=True)
        name = f"part-00000-{uuid.uuid4()}-c000.snappy.parquet"
        target = self.path / name
        df.write_parquet(
            location_uri(target),
            compression="snappy",
            statistics=True,
            storage_options=self.options,
        )
        stats = {
            "numRecords": df.height,
            "nullCount": dict(zip(df.columns, df.null_count().row(0), strict=True)),
        }
        failpoint("between_files_and_commit", self.app_id)
        schema = df.head(0).to_arrow(compat_level=pl.CompatLevel.oldest()).schema
        action = AddAction(
            path=name,
            size=self._file_size(target, name),
            partition_values={},
            modification_time=int(time.time() * 1000),
            data_change=True,
            stats=json.dumps(stats),
        )
        created = self.commit_files([action], schema, batch_id, mode, comment, custom)
        version = self.table().version()
        _RECENT_WRITES[self.uri] = (version, mode, created, df)
        _RECENT_WRITES.move_to_end(self.uri)
        while len(_RECENT_WRITES) > _RECENT_LIMIT:
            _RECENT_WRITES.popitem(last=False)
        return version

    def _file_size(self, target: Location, name: str) -> int:
        """The size of a data file just written into the table's folder (asked of the object
        store for a remote table)."""
        if isinstance(target, Path):
            return target.stat().st_size
        from deltalake.fs import DeltaStorageHandler

        (info,) = DeltaStorageHandler(self.uri, self.options).get_file_info([name])
        return int(info.size)
