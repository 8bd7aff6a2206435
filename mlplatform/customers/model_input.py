"""The model's input from gold rows: the catalog's feature columns, recency at an explicit as-of.

Training, evaluation and monitoring's baseline call `features_for_scoring`, so a model version
sees the same columns computed by the same rule it was trained with; the as-of time a version
was trained with is recorded in its `as_of` tag (`mlplatform.catalog.AS_OF_TAG`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import polars as pl

from mlplatform.catalog import DERIVED_FROM, FEATURES, RECENCY

if TYPE_CHECKING:
    import pandas as pd


def recency_days(at: pl.Expr, last: pl.Expr | None = None) -> pl.Expr:
    """Days from `last` (default: `last_event_at`) to `at`, never negative: the recency rule of
    training sets, training and scoring."""
    last = pl.col(DERIVED_FROM[RECENCY]) if last is None else last
    return ((at - last).dt.total_microseconds() / 86_400e6).clip(lower_bound=0.0).alias(RECENCY)


def parse_as_of(value: str | datetime) -> datetime:
    """An as-of time from ISO-8601 text or a datetime, as a naive UTC datetime."""
    parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def default_as_of(gold: pl.DataFrame) -> datetime | None:
    """The deterministic default as-of time: the latest `last_event_at` in gold (None if empty)."""
    if gold.is_empty():
        return None
    return gold["last_event_at"].max()


def features_for_scoring(
    df: pl.DataFrame | pd.DataFrame, as_of: str | datetime, features: Sequence[str] = FEATURES
) -> pd.DataFrame:
    """The model input for gold rows: `features` as float columns, recency computed at `as_of`.

    Args:
        df: Gold rows (polars or pandas). `last_event_at` may be a timestamp or ISO-8601 text;
            a frame that already carries `recency_days` and no `last_event_at` is used as is.
        as_of: The time recency is measured against (the model version's `as_of` tag).
        features: The columns to return, in this order.

    Returns:
        A pandas frame of float64 columns named `features` (nulls stay NaN).

    Raises:
        ValueError: a needed column is missing.
    """
    frame = df if isinstance(df, pl.DataFrame) else pl.from_pandas(df)
    needs_recency = RECENCY in features
    if needs_recency and "last_event_at" in frame.columns:
        last = pl.col("last_event_at")
        if frame.schema["last_event_at"] == pl.String:
            last = last.str.to_datetime(time_unit="us", strict=False)
        last = last.cast(pl.Datetime("us"))
        at = pl.lit(parse_as_of(as_of)).cast(pl.Datetime("us"))
        frame = frame.with_columns(recency_days(at, last))
    missing = [
        DERIVED_FROM.get(f, f) if f == RECENCY else f for f in features if f not in frame.columns
    ]
    if missing:
        raise ValueError(f"gold rows lack the columns {missing} the model needs")
    return frame.select(pl.col(f).cast(pl.Float64) for f in features).to_pandas()
