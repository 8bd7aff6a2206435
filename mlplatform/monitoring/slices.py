"""Slices of the inference rows (Lakehouse Monitoring's `slicing_exprs`).

Every metric row exists for the whole table (`slice_key` and `slice_value` null) and for each
value of each slicing expression: `slice_key` is the expression's text, `slice_value` the value
cast to text by polars (`true`/`false`, `3.0` for a double; a null value is its own slice with
`slice_value` null). An expression keeps at most `max_slice_values` values, the most frequent
in the rows a run reads (ties by value); rows of the other values are not profiled per slice
and are counted in `dropped`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from mlplatform.monitoring.config import MonitoringConfigError

SLICE_COLUMNS = ("slice_key", "slice_value")
ERROR_CHARS = 200
"""The most an engine's error message adds to ours."""


@dataclass
class Sliced:
    """The rows once per slice they belong to, and what the cap left out."""

    frame: pl.DataFrame
    dropped_rows: dict[str, int] = field(default_factory=dict)  # expression -> rows left out
    dropped_values: dict[str, int] = field(default_factory=dict)  # expression -> values


def slice_values(frame: pl.DataFrame, expr: str) -> pl.Series:
    """The text value of `expr` on each row.

    Raises:
        MonitoringConfigError: the expression is not SQL over the frame's columns.
    """
    try:
        return frame.select(pl.sql_expr(expr).cast(pl.String).alias("slice_value")).to_series()
    except Exception as err:  # noqa: BLE001 (polars SQL and column errors have several types)
        raise MonitoringConfigError(
            f"slicing expression {expr!r} cannot be evaluated on {frame.height} inference rows "
            f"(columns: {', '.join(frame.columns)}): {brief(err)}"
        ) from err


def brief(err: BaseException, limit: int = ERROR_CHARS) -> str:
    """The first line of an error, at most `limit` characters: what went wrong, never the data
    (an engine's error may quote values or a whole mask)."""
    lines = str(err).strip().splitlines()
    text = f"{type(err).__name__}: {lines[0] if lines else ''}"
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def apply(frame: pl.DataFrame, exprs, max_values: int) -> Sliced:
    """`frame` with `slice_key`/`slice_value`: the whole table, then each expression's slices
    (the rows where an expression is null form its slice with `slice_value` null)."""
    whole = frame.with_columns(
        pl.lit(None, pl.String).alias("slice_key"), pl.lit(None, pl.String).alias("slice_value")
    )
    parts, out = [whole], Sliced(whole)
    for expr in exprs:
        values = slice_values(frame, expr)
        counted = values.value_counts(name="n").sort(
            ["n", "slice_value"], descending=[True, False], nulls_last=True
        )
        kept = counted.head(max_values)
        out.dropped_values[expr] = counted.height - kept.height
        out.dropped_rows[expr] = int(counted["n"].sum() - kept["n"].sum())
        keep = values.is_in(kept["slice_value"].implode(), nulls_equal=True)
        parts.append(frame.with_columns(pl.lit(expr).alias("slice_key"), values).filter(keep))
    out.frame = pl.concat(parts, how="vertical_relaxed")
    return out


def try_slice(frame: pl.DataFrame, expr: str, value: str | None) -> pl.DataFrame | None:
    """The rows of `frame` in one slice (`value` None: the rows where `expr` is null), or None
    when the expression does not apply to it (a column it names is missing, as in a baseline
    without `model_version`)."""
    try:
        values = frame.select(pl.sql_expr(expr).cast(pl.String)).to_series()
    except Exception:  # noqa: BLE001 (the baseline lacks a column: compare with all of it)
        return None
    return frame.filter(values.eq_missing(value))
