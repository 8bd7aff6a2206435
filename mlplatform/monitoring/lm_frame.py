"""A monitored table's rows prepared for the metrics: windows, model groups and slices.

`prepare` gives one frame per granularity whose rows carry `window_start`/`window_end`, then
once per model group (`model_id`: each model's id as text and `*` for all models; null for time
series and snapshot monitors) and once per slice (`slice_key`/`slice_value`, null for the whole
table: `mlplatform.monitoring.slices`). A snapshot monitor has one window, the refresh time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from mlplatform.monitoring import slices
from mlplatform.monitoring.config import MonitoringConfigError
from mlplatform.monitoring.lm_schema import ALL_MODELS, UTC_US
from mlplatform.monitoring.monitor_config import MAX_SLICE_VALUES
from mlplatform.project.model import QualityMonitor

KEYS = ["window_start", "model_id", "slice_key", "slice_value"]
GROUP_COLUMNS = {"window_start", "window_end", "model_id", "slice_key", "slice_value"}


@dataclass(frozen=True)
class Window:
    """A window size: its name (null for snapshots) and polars duration (`1h`, `1mo`)."""

    name: str | None
    every: str | None

    def end(self, start: datetime) -> datetime:
        return start if self.every is None else _offset(start, self.every)

    def previous(self, start: datetime) -> datetime:
        return _offset(start, f"-{self.every}")


_UNITS = {"minute": "m", "hour": "h", "day": "d", "week": "w", "month": "mo", "year": "y"}
_GRANULARITY = re.compile(r"\s*(\d+)\s+(minute|hour|day|week|month|year)s?\s*")


def _offset(moment: datetime, by: str) -> datetime:
    return pl.Series([moment], dtype=UTC_US).dt.offset_by(by)[0]


def parse_window(text: str) -> Window:
    """`"<n> minute|hour|day|week|month|year[s]"` (Lakehouse Monitoring's granularities).

    Raises:
        MonitoringConfigError: anything else.
    """
    found = _GRANULARITY.fullmatch(str(text))
    if not found or int(found.group(1)) < 1:
        raise MonitoringConfigError(
            f"granularity {text!r} is not '<n> minute|hour|day|week|month|year', e.g. '1 day'"
        )
    n, unit = int(found.group(1)), found.group(2)
    return Window(f"{n} {unit}" if n == 1 else f"{n} {unit}s", f"{n}{_UNITS[unit]}")


def windows_of(monitor: QualityMonitor) -> list[Window]:
    spec = monitor.inference_log or monitor.time_series
    if spec is None:
        return [Window(None, None)]
    return [parse_window(g) for g in spec.granularities]


def timestamp_col(monitor: QualityMonitor) -> str | None:
    spec = monitor.inference_log or monitor.time_series
    return spec.timestamp_col if spec else None


def role_columns(monitor: QualityMonitor) -> dict[str, str]:
    """The monitor's named columns by role (`timestamp`, `model_id`, `prediction`, ...)."""
    log = monitor.inference_log
    out = {"timestamp": timestamp_col(monitor)}
    if log is not None:
        out |= {
            "model_id": log.model_id_col,
            "prediction": log.prediction_col,
            "label": log.label_col,
            "prediction_proba": log.prediction_proba_col,
        }
    return {k: v for k, v in out.items() if v}


def check_columns(monitor: QualityMonitor, frame: pl.DataFrame, table: str) -> None:
    """Raises MonitoringConfigError naming each role column the table lacks."""
    missing = [
        f"{role}_col {name!r}"
        for role, name in role_columns(monitor).items()
        if name not in frame.columns
    ]
    if missing:
        raise MonitoringConfigError(
            f"{', '.join(missing)} not in {table} (columns: {', '.join(frame.columns)})"
        )


def _timestamps(frame: pl.DataFrame, column: str) -> pl.Expr:
    dtype = frame.schema[column]
    x = pl.col(column)
    if isinstance(dtype, pl.Datetime):
        return (x.dt.replace_time_zone("UTC") if dtype.time_zone is None else x).cast(UTC_US)
    if dtype == pl.Date:
        return x.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    raise MonitoringConfigError(f"timestamp_col {column!r} is {dtype}, not a timestamp or date")


def with_window(
    monitor: QualityMonitor, frame: pl.DataFrame, window: Window, now: datetime
) -> pl.DataFrame:
    """`frame` with `window_start` and `window_end` of each row (rows without a time dropped)."""
    column = timestamp_col(monitor)
    if column is None:
        start = pl.lit(now).cast(UTC_US)
        return frame.with_columns(start.alias("window_start"), start.alias("window_end"))
    start = _timestamps(frame, column).dt.truncate(window.every)
    return (
        frame.with_columns(start.alias("window_start"))
        .filter(pl.col("window_start").is_not_null())
        .with_columns(pl.col("window_start").dt.offset_by(window.every).alias("window_end"))
    )


def with_models(monitor: QualityMonitor, frame: pl.DataFrame) -> pl.DataFrame:
    """Each row once per model group: its model's id and `*` (inference logs), else null."""
    if monitor.inference_log is None:
        return frame.with_columns(pl.lit(None, pl.String).alias("model_id"))
    column = monitor.inference_log.model_id_col
    if column not in frame.columns:  # a baseline table without model ids: all models
        return frame.with_columns(pl.lit(ALL_MODELS).alias("model_id"))
    own = frame.with_columns(pl.col(column).cast(pl.String).fill_null("null").alias("model_id"))
    return pl.concat([own, frame.with_columns(pl.lit(ALL_MODELS).alias("model_id"))])


def grouped(monitor: QualityMonitor, frame: pl.DataFrame) -> tuple[pl.DataFrame, dict]:
    """Rows with model groups and slices; with the rows each slicing expression's cap left out."""
    sliced = slices.apply(frame, monitor.slicing_exprs, MAX_SLICE_VALUES)
    return with_models(monitor, sliced.frame), sliced.dropped_rows
