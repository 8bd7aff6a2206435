"""One refresh of a monitor: read the monitored table (and baseline), recompute both metric
tables, write them (`<output_schema_name>.<table>_profile_metrics` / `_drift_metrics`).

A time series or inference log refresh recomputes every window and replaces the tables; a
snapshot refresh adds the window of the refresh time to the rows already there (a snapshot's
consecutive drift is not computed: the previous snapshot's rows are not kept).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import polars as pl

from mlplatform.lakehouse.delta import DeltaStore
from mlplatform.monitoring import lm_drift, lm_frame, lm_profile
from mlplatform.monitoring.config import MonitoringConfigError
from mlplatform.monitoring.lm_schema import BASELINE_LOG, INPUT
from mlplatform.monitoring.monitor_info import drift_table_name, profile_table_name
from mlplatform.monitoring.names import table_location
from mlplatform.project.model import QualityMonitor
from mlplatform.settings import Settings


@dataclass
class RefreshResult:
    """What a refresh did: the API's `MonitorRefreshInfo` fields and the tables written."""

    state: str
    start_time_ms: int
    end_time_ms: int
    message: str = ""
    profile_rows: int = 0
    drift_rows: int = 0
    logging_table_commit_version: int | None = None
    slice_rows_over_cap: dict = field(default_factory=dict)
    profile: pl.DataFrame | None = None
    drift: pl.DataFrame | None = None

    def info(self, refresh_id: int, trigger: str = "MANUAL") -> dict:
        out = {
            "refresh_id": refresh_id,
            "state": self.state,
            "start_time_ms": self.start_time_ms,
            "end_time_ms": self.end_time_ms,
            "trigger": trigger,
        }
        return out | ({"message": self.message} if self.message else {})


def store(settings: Settings, name: str, key: str = "table_name") -> DeltaStore:
    return DeltaStore(table_location(settings, name, key), name.replace(".", "/"))


def read_table(settings: Settings, name: str, key: str = "table_name") -> tuple[pl.DataFrame, int]:
    """The rows and Delta version of the table `name`.

    Raises:
        MonitoringConfigError: there is no Delta table by that name (named with `key`).
    """
    source = store(settings, name, key)
    if not source.exists():
        raise MonitoringConfigError(f"{key}: no Delta table {name} (at {source.path})")
    version = source.version()
    return source.read(version), version


def compute(
    monitor: QualityMonitor,
    source: pl.DataFrame,
    version: int,
    baseline: pl.DataFrame | None = None,
    monitor_version: int = 1,
    now: datetime | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, dict]:
    """(profile rows, drift rows, rows left out per slicing expression) of a table's rows."""
    now = now or datetime.now(UTC)
    lm_frame.check_columns(monitor, source, monitor.table_name)
    columns = lm_profile.profiled_columns(monitor, source.schema)
    compared = lm_drift.drift_columns(monitor, source, columns)
    profiles, drifts, dropped = [], [], {}
    for window in lm_frame.windows_of(monitor):
        rows = lm_frame.with_window(monitor, source, window, now)
        frame, cut = lm_frame.grouped(monitor, rows)
        for expr, n in cut.items():
            dropped[expr] = dropped.get(expr, 0) + n
        profile = lm_profile.profile_rows(monitor, frame, columns)
        profiles.append(profile.with_columns(pl.lit(window.name, pl.String).alias("granularity")))
        drifts.append(lm_drift.drift_rows(monitor, frame, window, compared, baseline))
    if baseline is not None:
        frame, _ = lm_frame.grouped(
            monitor,
            baseline.with_columns(
                pl.lit(None, lm_frame.UTC_US).alias("window_start"),
                pl.lit(None, lm_frame.UTC_US).alias("window_end"),
            ),
        )
        base_columns = [c for c in columns if c in baseline.columns]
        profile = lm_profile.profile_rows(monitor, frame, base_columns)
        profiles.append(profile.with_columns(pl.lit(BASELINE_LOG).alias("log_type")))
    stamp = [
        pl.lit(version, pl.Int64).alias("logging_table_commit_version"),
        pl.lit(monitor_version, pl.Int64).alias("monitor_version"),
    ]
    profile = pl.concat(profiles, how="vertical_relaxed").with_columns(
        pl.col("log_type").fill_null(INPUT), *stamp
    )
    drift = pl.concat(drifts, how="vertical_relaxed").with_columns(
        pl.lit(INPUT).alias("log_type"), *stamp
    )
    order = ["log_type", "granularity", "window_start", "model_id", "slice_key", "slice_value"]
    return (
        profile.sort([*order, "column_name"], nulls_last=False),
        drift.sort([*order, "drift_type", "column_name"], nulls_last=False),
        dropped,
    )


def _write(target: DeltaStore, frame: pl.DataFrame, append: bool, comment: str) -> None:
    exists = target.exists()
    batch = target.committed_batch() + 1
    mode = "append" if append and exists else "overwrite"
    target.write(
        frame, batch, mode=mode if exists else "append", comment=comment, evolve_schema=exists
    )


def refresh(settings: Settings, monitor: QualityMonitor, monitor_version: int = 1) -> RefreshResult:
    """Recompute and write both metric tables of `monitor`; FAILED (with the reason) when the
    table, baseline or a setting cannot be used."""
    started = int(time.time() * 1000)
    try:
        source, version = read_table(settings, monitor.table_name)
        baseline = None
        if monitor.baseline_table_name:
            baseline, _ = read_table(settings, monitor.baseline_table_name, "baseline_table_name")
        profile, drift, dropped = compute(monitor, source, version, baseline, monitor_version)
        append = monitor.snapshot
        profile_name, drift_name = profile_table_name(monitor), drift_table_name(monitor)
        _write(
            store(settings, profile_name, "output_schema_name"),
            profile,
            append,
            f"Profile metrics of {monitor.table_name}.",
        )
        _write(
            store(settings, drift_name, "output_schema_name"),
            drift,
            append,
            f"Drift metrics of {monitor.table_name}.",
        )
    except (MonitoringConfigError, FileNotFoundError) as err:
        return RefreshResult("FAILED", started, int(time.time() * 1000), message=str(err))
    return RefreshResult(
        "SUCCESS",
        started,
        int(time.time() * 1000),
        profile_rows=profile.height,
        drift_rows=drift.height,
        logging_table_commit_version=version,
        slice_rows_over_cap=dropped,
        profile=profile,
        drift=drift,
    )
