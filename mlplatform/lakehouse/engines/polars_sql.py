"""Table SQL on polars, with the engine's fast path for text-to-timestamp casts.

Polars runs ``TRY_CAST(text AS TIMESTAMP)`` by inferring a format and trying its family of
patterns on every value: about 1.2 s for 5M values, where parsing one known format takes 0.1 s.
Landing data nearly always carries one ISO-8601 form, so an aliased
``TRY_CAST(<column> AS TIMESTAMP) AS <name>`` on a text column of a single-input query runs as

    COALESCE(<column> parsed as yyyy-MM-ddTHH:mm:ss, TRY_CAST(<the other values> AS TIMESTAMP))

Every ``yyyy-MM-ddTHH:mm:ss`` value parses, whatever the first value of the column looks like
(as in Spark's cast); the other values keep polars' own cast, so the result is the same as
before for columns whose values share the ISO family.
"""

from __future__ import annotations

import re

import polars as pl

HIDDEN = "__mlplatform_ts_"
ISO_SECONDS = "%Y-%m-%dT%H:%M:%S"
_CAST = re.compile(
    r"\bTRY_CAST\s*\(\s*([A-Za-z_][A-Za-z0-9_]*)\s+AS\s+TIMESTAMP\s*\)(?=\s+AS\s)",
    re.IGNORECASE,
)


def execute(query: str, frames: dict[str, pl.LazyFrame]) -> pl.LazyFrame:
    """Run ``query`` over ``frames`` (views named by their keys)."""
    if len(frames) == 1:
        query, frames = _fast_timestamp_casts(query, frames)
    out = pl.SQLContext(frames).execute(query)
    hidden = [c for c in out.collect_schema().names() if c.startswith(HIDDEN)]
    return out.drop(hidden) if hidden else out


def _fast_timestamp_casts(query: str, frames: dict[str, pl.LazyFrame]):
    ((name, frame),) = frames.items()
    schema = frame.collect_schema()
    columns = {
        m.group(1)
        for m in _CAST.finditer(query)
        if schema.get(m.group(1)) == pl.String and _outside_literals(query, m.start())
    }
    if not columns:
        return query, frames
    added = []
    for column in sorted(columns):
        text = pl.col(column)
        exact = pl.when(text.str.len_bytes() == 19).then(text)  # no padding, no fraction
        fast = exact.str.to_datetime(ISO_SECONDS, time_unit="us", strict=False, cache=False)
        added += [
            fast.alias(f"{HIDDEN}fast_{column}"),
            pl.when(fast.is_null()).then(text).alias(f"{HIDDEN}rest_{column}"),
        ]

    def rewrite(m: re.Match) -> str:
        column = m.group(1)
        if column not in columns or not _outside_literals(query, m.start()):
            return m.group(0)
        return f"COALESCE({HIDDEN}fast_{column}, TRY_CAST({HIDDEN}rest_{column} AS TIMESTAMP))"

    return _CAST.sub(rewrite, query), {name: frame.with_columns(added)}


def _outside_literals(query: str, position: int) -> bool:
    """``position`` is not inside a '...' string literal (an even number of quotes before it)."""
    return query.count("'", 0, position) % 2 == 0
