"""What an engine provides to the table runner, and the engine-neutral SQL table body."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

ROW_ID = "_mlplatform_row_id"
INGESTED_AT = "_ingested_at"
_SELECT = re.compile(r"^\s*SELECT\s+", re.IGNORECASE)


@dataclass(frozen=True)
class SqlQuery:
    """A table body in SQL, run by whichever engine runs the table. Inputs are views named after
    the function's parameters."""

    text: str

    def with_lineage(self) -> str | None:
        """The query also selecting the row id, when it is a row-wise SELECT (else None)."""
        if _SELECT.match(self.text) and row_wise(self.text):
            return _SELECT.sub(f"SELECT {ROW_ID}, ", self.text, count=1)
        return None


@functools.lru_cache(maxsize=256)
def row_wise(text: str) -> bool:
    """Whether each output row of the query comes from exactly one input row, from its syntax
    tree (sqlglot, Spark SQL): one SELECT, nowhere an aggregate, GROUP BY, HAVING, DISTINCT,
    set operation, join, window, LIMIT or row generator (explode, UNNEST, LATERAL VIEW). A query
    that does not parse is not row-wise (it keeps no lineage; the engine reports its error)."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    try:
        tree = sqlglot.parse_one(text, read="spark")
    except SqlglotError:
        return False
    if not isinstance(tree, exp.Select):
        return False
    return tree.find(*_not_row_wise()) is None


def _not_row_wise() -> tuple:
    from sqlglot import exp

    return (
        exp.AggFunc,
        exp.Group,
        exp.Having,
        exp.Distinct,
        exp.SetOperation,
        exp.Join,
        exp.Window,
        exp.Limit,
        exp.Explode,
        exp.Unnest,
        exp.Lateral,
    )


def sql(query: str) -> SqlQuery:
    """Return this from a table function to define the table in SQL (runs on every engine)."""
    if not isinstance(query, str) or not _SELECT.match(query) and "select" not in query.lower():
        raise ValueError(f"sql() takes a SELECT query, got {query!r}")
    return SqlQuery(query)


class ReturnedPolarsFrame(Exception):
    """A table function on the Spark engine returned a polars frame (it is run on polars)."""


@dataclass
class EngineEvaluation:
    """Expectation outcome in engine frames, with the counts already computed."""

    kept: Any
    quarantined: Any
    results: list
    kept_rows: int
    quarantined_rows: int
    dropped_records: int


@dataclass
class FilesRead:
    frame: Any
    counts: dict = field(default_factory=dict)


class Engine(Protocol):
    """The engine-specific steps of a table update (see PolarsEngine and SparkEngine)."""

    name: str

    def read_files(self, paths: list, fields: list[str], mode: str, ingested_at) -> FilesRead:
        """Parse landing files (``landing.FilePart``: the recorded bytes of each) into bronze
        rows (the same parser on every engine)."""

    def read_increment(self, store, start: int | None, end: int):
        """Rows added to an append-only table between two versions."""

    def read_table(self, store, version: int):
        """A table's snapshot at ``version``."""

    def empty_like(self, store):
        """No rows, with the table's current schema."""

    def read_quarantine(self, store, version: int):
        """Quarantined rows, shaped as the input they came from."""

    def with_row_id(self, frame):
        """The frame with a unique ``_mlplatform_row_id`` per row."""

    def run_function(self, defn, frames: list, has_lineage: bool):
        """Call the table function (or run its SQL) on the input frames."""

    def evaluate(self, frame, defn, source) -> EngineEvaluation:
        """Apply the table's expectations; raise ExpectationFailed for a failing fail rule."""

    def stamp(self, frame, column: str, ts):
        """The frame with a UTC timestamp column set to ``ts``."""

    def write(self, store, frame, batch_id: int, mode: str, comment=None, evolve=False) -> int:
        """Commit ``frame`` with the batch's app transaction; return the new version."""
