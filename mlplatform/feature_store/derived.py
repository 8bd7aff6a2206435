"""Derived features: a model input computed from a timestamp column against an explicit as-of.

A feature table may store a time (`last_event_at`) where the model reads an age (`recency_days`
= days from that time to the as-of time, never negative). The project declares the mapping
(`{"recency_days": "last_event_at"}`, the `derived` of its feature spec); training sets, training,
evaluation, serving and monitoring's baseline all apply the one rule here, so a model version sees
the same columns computed the same way it was trained with. The as-of time a version was trained
with is recorded in its `as_of` tag (`mlplatform.catalog.AS_OF_TAG`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    import pandas as pd


def days_since(at: pl.Expr, last: pl.Expr, name: str) -> pl.Expr:
    """Days from `last` to `at`, never negative, named `name`."""
    return ((at - last).dt.total_microseconds() / 86_400e6).clip(lower_bound=0.0).alias(name)


def parse_as_of(value: str | datetime) -> datetime:
    """An as-of time from ISO-8601 text or a datetime, as a naive UTC datetime."""
    parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def default_as_of(frame: pl.DataFrame, column: str) -> datetime | None:
    """The deterministic default as-of time: the latest `column` value (None if empty)."""
    if frame.is_empty() or column not in frame.columns:
        return None
    return frame[column].max()


def features_for_scoring(
    df: pl.DataFrame | pd.DataFrame,
    as_of: str | datetime,
    features: Sequence[str],
    derived: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """The model input for feature rows: `features` as float columns, derived ones at `as_of`.

    Args:
        df: Feature rows (polars or pandas). A derived feature's source column may be a
            timestamp or ISO-8601 text; a frame that already carries the derived column and not
            its source is used as is.
        as_of: The time derived ages are measured against (the model version's `as_of` tag).
        features: The columns to return, in this order.
        derived: Derived feature -> the timestamp column it is computed from.

    Returns:
        A pandas frame of float64 columns named `features` (nulls stay NaN).

    Raises:
        ValueError: a needed column is missing.
    """
    derived = dict(derived or {})
    frame = df if isinstance(df, pl.DataFrame) else pl.from_pandas(df)
    at = None
    for name, source in derived.items():
        if name not in features or source not in frame.columns:
            continue
        last = pl.col(source)
        if frame.schema[source] == pl.String:
            last = last.str.to_datetime(time_unit="us", strict=False)
        at = at if at is not None else pl.lit(parse_as_of(as_of)).cast(pl.Datetime("us"))
        frame = frame.with_columns(days_since(at, last.cast(pl.Datetime("us")), name))
    missing = [derived.get(f, f) for f in features if f not in frame.columns]
    if missing:
        raise ValueError(f"feature rows lack the columns {missing} the model needs")
    return frame.select(pl.col(f).cast(pl.Float64) for f in features).to_pandas()
