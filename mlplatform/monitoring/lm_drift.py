"""The drift metrics table of a monitor: each window against the previous one and the baseline.

For every window, model group and slice, each drift column (the profiled columns but the model
id) is compared (`mlplatform.monitoring.metrics`: KS test, Wasserstein distance, PSI and JS
distance for numeric columns; chi-squared test, TV, L-infinity and JS distance for categorical
ones, an integer column with at most 20 values being categorical):

- `CONSECUTIVE`: with the same group and slice of the window just before (start minus the
  granularity), when it has rows; `window_cmp` names it;
- `BASELINE`: with the baseline table's rows of the same model (all of them for `*` or a
  baseline without the model id column) and slice (the whole baseline when the slicing
  expression does not apply to it).

Custom `drift` metrics add columns (`mlplatform.monitoring.custom_metrics`).
"""

from __future__ import annotations

import polars as pl

from mlplatform.monitoring import custom_metrics, slices
from mlplatform.monitoring.api import custom_metrics_of
from mlplatform.monitoring.lm_frame import KEYS, Window
from mlplatform.monitoring.lm_schema import ALL_MODELS, BASELINE, CONSECUTIVE, DRIFT_SCHEMA
from mlplatform.monitoring.metrics import column_kind, drift, reference
from mlplatform.project.model import QualityMonitor


def drift_schema(monitor: QualityMonitor) -> dict:
    metrics = custom_metrics_of(monitor)
    return DRIFT_SCHEMA | {m.name: m.dtype for m in metrics if m.type == "drift"}


def drift_columns(monitor: QualityMonitor, source: pl.DataFrame, profiled: list[str]) -> dict:
    """`{column: kind}` of the compared columns (kinds from the whole table, once)."""
    model = monitor.inference_log.model_id_col if monitor.inference_log else None
    out = {}
    for column in profiled:
        if column == model:
            continue
        try:
            out[column] = column_kind(source[column])
        except TypeError:
            continue
    return out


def _baseline_rows(monitor: QualityMonitor, baseline: pl.DataFrame, model: str | None, key, value):
    rows = baseline
    column = monitor.inference_log.model_id_col if monitor.inference_log else None
    if model not in (None, ALL_MODELS) and column in rows.columns:
        rows = rows.filter(pl.col(column).cast(pl.String) == model)
    if key is not None:
        sliced = slices.try_slice(rows, key, value)
        rows = rows if sliced is None else sliced
    return rows


def _compare(columns: dict, current: pl.DataFrame, before: pl.DataFrame, metrics) -> list[dict]:
    out = []
    for column, kind in columns.items():
        if column not in before.columns:
            continue
        values = drift(reference(before[column], kind), current[column])
        if any(m.type == "drift" and column in m.input_columns for m in metrics):
            values |= custom_metrics.drift_values(
                column,
                custom_metrics.aggregate_values(current, column, metrics),
                custom_metrics.aggregate_values(before, column, metrics),
                metrics,
            )
        out.append({"column_name": column, "data_type": str(current.schema[column])} | values)
    return out


def drift_rows(
    monitor: QualityMonitor,
    frame: pl.DataFrame,
    window: Window,
    columns: dict,
    baseline: pl.DataFrame | None,
) -> pl.DataFrame:
    """The drift rows of one granularity's prepared frame (`lm_frame`)."""
    schema = drift_schema(monitor)
    metrics = custom_metrics_of(monitor)
    rows: list[dict] = []
    if not frame.is_empty():
        parts = frame.partition_by(KEYS, as_dict=True, maintain_order=True)
        for (start, model, key, value), current in parts.items():
            where = {
                "window_start": start,
                "window_end": current["window_end"][0],
                "model_id": model,
                "slice_key": key,
                "slice_value": value,
            }
            if window.every is not None:
                previous = window.previous(start)
                before = parts.get((previous, model, key, value))
                if before is not None:
                    cmp = {"window_cmp_start": previous, "drift_type": CONSECUTIVE}
                    cmp["window_cmp"] = {"start": previous, "end": start}
                    rows += [where | cmp | r for r in _compare(columns, current, before, metrics)]
            if baseline is not None:
                base = _baseline_rows(monitor, baseline, model, key, value)
                if base.height:
                    cmp = {"drift_type": BASELINE}
                    rows += [where | cmp | r for r in _compare(columns, current, base, metrics)]
    if not rows:
        return pl.DataFrame(schema=schema)
    out = pl.DataFrame([{k: r.get(k) for k in schema} for r in rows], schema=schema, orient="row")
    return out.with_columns(
        pl.struct(start="window_start", end="window_end").alias("window"),
        pl.lit(window.name, pl.String).alias("granularity"),
    )
