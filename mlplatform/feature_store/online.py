"""The online store: the latest feature row of every key, in a real database, for serving.

SQLite at `$MLPLATFORM_HOME/online/features.db` by default (embedded, WAL mode, so the server
reads while a publish writes); PostgreSQL when `MLPLATFORM_ONLINE_STORE_URI=postgresql://...`.

Each online table has one row per key. The offline Delta version it reflects is kept in the table
`mlplatform_online_versions` (`table_name`, `delta_version`, `published_at`) of the same
database, and a publish writes its rows and that version in ONE database transaction: a crash
before the commit leaves the previous rows and version (the next publish redoes the same work; the
upserts are idempotent), a crash after it leaves nothing to redo. No row is lost or published
twice.
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from mlplatform.lakehouse.failpoints import failpoint
from mlplatform.settings import Settings
from mlplatform.settings.variables import ONLINE_STORE_URI

URI_ENV = ONLINE_STORE_URI.name
VERSIONS_TABLE = "mlplatform_online_versions"
_TYPES = {
    "sqlite": {"int": "INTEGER", "float": "REAL", "str": "TEXT", "ts": "TIMESTAMP"},
    "postgres": {"int": "BIGINT", "float": "DOUBLE PRECISION", "str": "TEXT", "ts": "TIMESTAMP"},
}


class OnlineStoreError(RuntimeError):
    """The online store cannot be used as configured (the message says why)."""


def _kind(dtype: pl.DataType) -> str:
    if dtype.is_integer():
        return "int"
    if dtype.is_float():
        return "float"
    if isinstance(dtype, pl.Datetime):
        return "ts"
    if dtype == pl.String:
        return "str"
    raise OnlineStoreError(f"the online store cannot hold a column of type {dtype}")


def _ident(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise OnlineStoreError(f"{name!r} is not a plain column or table name")
    return f'"{name}"'


class OnlineStore:
    """One online database (SQLite file or PostgreSQL database)."""

    def __init__(self, uri: str):
        self.uri = uri
        if uri.startswith(("postgresql://", "postgres://")):
            self.dialect, self.mark = "postgres", "%s"
        elif uri.startswith("sqlite:///"):
            self.dialect, self.mark = "sqlite", "?"
        else:
            raise OnlineStoreError(
                f"{URI_ENV}={uri!r} is not supported: use postgresql://user:<password>@host/db "
                "(or leave it unset for SQLite under $MLPLATFORM_HOME/online)"
            )
        self._local = threading.local()
        self._timestamps: dict[tuple[str, tuple[str, ...]], list[str]] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> OnlineStore:
        uri = ONLINE_STORE_URI.value() or f"sqlite:///{settings.home / 'online' / 'features.db'}"
        return cls(uri)

    @property
    def location(self) -> str:
        """Where the store is, without credentials."""
        if self.dialect == "sqlite":
            return self.uri
        tail = self.uri.split("@", 1)[-1]
        return f"postgresql://{tail}"

    def connect(self):
        """A new connection (the caller closes it)."""
        if self.dialect == "sqlite":
            path = Path(self.uri.removeprefix("sqlite:///"))
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, timeout=30, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            return conn
        import psycopg

        try:
            return psycopg.connect(self.uri)
        except psycopg.OperationalError as err:
            raise OnlineStoreError(f"cannot connect to {self.location}: {err}") from err

    def _reader(self):
        """This thread's long-lived read connection (autocommit: each query sees the latest)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self.connect()
            if self.dialect == "postgres":
                conn.autocommit = True
            else:
                conn.isolation_level = None
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def _ensure_versions(self, cur) -> None:
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {VERSIONS_TABLE} (table_name TEXT PRIMARY KEY, "
            "delta_version BIGINT NOT NULL, published_at TEXT NOT NULL)"
        )

    def published_version(self, table: str) -> int | None:
        """The offline Delta version `table` reflects (None: never published)."""
        conn = self.connect()
        try:
            cur = conn.cursor()
            self._ensure_versions(cur)
            conn.commit()
            cur.execute(
                f"SELECT delta_version FROM {VERSIONS_TABLE} WHERE table_name = {self.mark}",
                (table,),
            )
            row = cur.fetchone()
            return None if row is None else int(row[0])
        finally:
            conn.close()

    def table_columns(self, table: str) -> list[str] | None:
        """The columns of an online table (None: it does not exist)."""
        conn = self.connect()
        try:
            return self._columns(conn.cursor(), table)
        finally:
            conn.close()

    def row_count(self, table: str) -> int | None:
        """The rows of an online table (None: it does not exist)."""
        conn = self.connect()
        try:
            cur = conn.cursor()
            if self._columns(cur, table) is None:
                return None
            cur.execute(f"SELECT COUNT(*) FROM {_ident(table)}")
            return int(cur.fetchone()[0])
        finally:
            conn.close()

    def _columns(self, cur, table: str) -> list[str] | None:
        if self.dialect == "sqlite":
            cur.execute(f"PRAGMA table_info({_ident(table)})")
            names = [r[1] for r in cur.fetchall()]
        else:
            cur.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
                "AND table_schema = current_schema() ORDER BY ordinal_position",
                (table,),
            )
            names = [r[0] for r in cur.fetchall()]
        return names or None

    def publish(
        self, table: str, key: str, rows: pl.DataFrame, version: int, replace: bool = False
    ) -> int:
        """Upsert `rows` (one per `key`) and record `version`, in one transaction.

        Args:
            table: The online table.
            key: Its key column.
            rows: The latest row of each changed key.
            version: The offline Delta version these rows bring the table to.
            replace: Drop every row first (a full publish: keys gone offline go here too).

        Returns:
            The rows written.
        """
        types = _TYPES[self.dialect]
        cols = rows.columns
        conn = self.connect()
        try:
            cur = conn.cursor()
            self._ensure_versions(cur)
            existing = self._columns(cur, table)
            if existing is not None and (replace or existing != cols):
                cur.execute(f"DROP TABLE {_ident(table)}")
                existing = None
            if existing is None:
                defs = ", ".join(f"{_ident(c)} {types[_kind(rows.schema[c])]}" for c in cols)
                cur.execute(f"CREATE TABLE {_ident(table)} ({defs}, PRIMARY KEY ({_ident(key)}))")
            if rows.height:
                names = ", ".join(_ident(c) for c in cols)
                marks = ", ".join([self.mark] * len(cols))
                updates = ", ".join(f"{_ident(c)} = excluded.{_ident(c)}" for c in cols if c != key)
                cur.executemany(
                    f"INSERT INTO {_ident(table)} ({names}) VALUES ({marks}) "
                    f"ON CONFLICT ({_ident(key)}) DO UPDATE SET {updates}",
                    list(self._values(rows).iter_rows()),
                )
            failpoint("online_publish_before_commit", table)
            cur.execute(
                f"INSERT INTO {VERSIONS_TABLE} (table_name, delta_version, published_at) "
                f"VALUES ({self.mark}, {self.mark}, {self.mark}) ON CONFLICT (table_name) "
                "DO UPDATE SET delta_version = excluded.delta_version, "
                "published_at = excluded.published_at",
                (table, version, datetime.now(UTC).isoformat(timespec="seconds")),
            )
            conn.commit()
            return rows.height
        except BaseException:
            conn.rollback()
            raise
        finally:
            conn.close()

    def _values(self, rows: pl.DataFrame) -> pl.DataFrame:
        if self.dialect == "postgres":
            return rows
        return rows.with_columns(
            pl.col(c).dt.strftime("%Y-%m-%dT%H:%M:%S%.6f")
            for c, t in rows.schema.items()
            if isinstance(t, pl.Datetime)
        )

    def lookup(self, table: str, key: str, keys: list[str]) -> dict[str, dict]:
        """The rows of `keys` (one query), as {key: {column: value}}; absent keys are left out.

        Timestamps come back as naive datetimes.
        """
        if not keys:
            return {}
        cur = self._reader().cursor()
        if self.dialect == "postgres":
            import psycopg

            try:
                cur.execute(f"SELECT * FROM {_ident(table)} WHERE {_ident(key)} = ANY(%s)", (keys,))
            except psycopg.errors.UndefinedTable:
                return {}
        else:
            marks = ", ".join("?" * len(keys))
            try:
                cur.execute(f"SELECT * FROM {_ident(table)} WHERE {_ident(key)} IN ({marks})", keys)
            except sqlite3.OperationalError as err:
                if "no such table" in str(err):
                    return {}
                raise
        names = [d[0] for d in cur.description]
        stamps = self._timestamp_columns(table, names) if self.dialect == "sqlite" else []
        out = {}
        for row in cur.fetchall():
            record = dict(zip(names, row, strict=True))
            for c in stamps:
                if record[c] is not None:
                    record[c] = datetime.fromisoformat(record[c])
            out[str(record[key])] = record
        return out

    def _timestamp_columns(self, table: str, names: list[str]) -> list[str]:
        """SQLite keeps timestamps as ISO text: the columns declared TIMESTAMP (cached)."""
        cache_key = (table, tuple(names))
        if cache_key not in self._timestamps:
            cur = self._reader().cursor()
            cur.execute(f"PRAGMA table_info({_ident(table)})")
            self._timestamps[cache_key] = [r[1] for r in cur.fetchall() if r[2] == "TIMESTAMP"]
        return self._timestamps[cache_key]
