"""Drift metrics of the inference table per window, model version and column.

For every recomputed window and each model version with rows in it:

- BASELINE: each feature against the version's training data (`mlplatform.monitoring.baseline`);
  skipped, with the reason logged, for a version whose baseline cannot be built;
- CONSECUTIVE: each feature, `prediction` and `predicted_label` against the same version's
  previous window (the latest earlier window with rows of that version).

Both for the whole table and for each slice (`mlplatform.monitoring.slices`): a slice is compared
with the same slice of the previous window, and with the baseline rows of the same slice when
the slicing expression can be evaluated on the baseline (else with the whole baseline). With
`baseline_table_name` the baseline is that table (`mlplatform.monitoring.baseline_table`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import polars as pl

from mlplatform.catalog import FEATURES, INFERENCE
from mlplatform.catalog.schemas import DRIFT_SCHEMA
from mlplatform.monitoring import custom_metrics, slices
from mlplatform.monitoring.baseline import BaselineBinding, Baselines
from mlplatform.monitoring.baseline_table import TableBaselines
from mlplatform.monitoring.metrics import drift, reference
from mlplatform.monitoring.monitor_config import MonitorOptions
from mlplatform.monitoring.slices import SLICE_COLUMNS
from mlplatform.monitoring.tables import BASELINE, CONSECUTIVE, drift_store, replace_windows
from mlplatform.monitoring.windows import Batch, claim
from mlplatform.settings import Settings

CONSECUTIVE_COLUMNS = [*FEATURES, "prediction", "predicted_label"]


@dataclass
class DriftComputation:
    """The drift rows of a batch, and the samples behind them (for the report's plots)."""

    batch: Batch | None
    baselines: Baselines
    frame: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=DRIFT_SCHEMA))
    parts: dict[str, dict] = field(default_factory=dict)
    options: MonitorOptions = field(default_factory=MonitorOptions)

    def samples(
        self,
        granularity: str,
        window: datetime,
        version: str,
        column: str,
        drift_type: str,
        window_cmp: datetime | None = None,
        slice_key: str | None = None,
        slice_value: str | None = None,
    ) -> tuple[pl.Series, pl.Series] | None:
        """(reference, current) values behind one drift row, or None when not at hand."""
        parts = self.parts.get(granularity, {})
        current = parts.get((window, version, slice_key, slice_value))
        if current is None:
            return None
        if drift_type == BASELINE:
            base = self.baselines.get(version)
            if base is None or column not in base.frame.columns:
                return None
            return _baseline_slice(base, slice_key, slice_value)[column], current[column]
        previous = parts.get((window_cmp, version, slice_key, slice_value))
        return None if previous is None else (previous[column], current[column])


def _baseline_slice(base, slice_key: str | None, slice_value: str | None) -> pl.DataFrame:
    """The baseline rows of a slice; all of them when the expression does not apply."""
    if slice_key is None:
        return base.frame
    sliced = slices.try_slice(base.frame, slice_key, slice_value)
    return base.frame if sliced is None else sliced


class _References:
    """Prepared baseline references per (version, slice), built once per run."""

    def __init__(self, baselines: Baselines):
        self.baselines = baselines
        self._cache: dict[tuple, tuple] = {}

    def get(self, version: str, slice_key, slice_value):
        key = (version, slice_key, slice_value)
        if key not in self._cache:
            base = self.baselines.get(version)
            if base is None:
                self._cache[key] = (None, None, {})
            elif slice_key is None:
                self._cache[key] = (base, base.frame, base.references)
            else:
                frame = _baseline_slice(base, slice_key, slice_value)
                refs = {c: reference(frame[c], r.kind) for c, r in base.references.items()}
                self._cache[key] = (base, frame, refs)
        return self._cache[key]


def _row(window, g, version, column, dtype, kind, drift_type, metrics, **extra) -> dict:
    return {
        "window_start": window,
        "window_end": window + g.length,
        "granularity": g.name,
        "model_version": version,
        "column_name": column,
        "data_type": str(dtype),
        "kind": kind,
        "drift_type": drift_type,
        **extra,
        **metrics,
    }


def _custom(options: MonitorOptions, column: str, current, before) -> dict:
    metrics = options.custom_metrics
    if not any(m.type == "drift" and column in m.input_columns for m in metrics):
        return {}
    return custom_metrics.drift_values(
        column,
        custom_metrics.aggregate_values(current, column, metrics),
        custom_metrics.aggregate_values(before, column, metrics),
        metrics,
    )


def consecutive_columns(options: MonitorOptions) -> list[str]:
    """The columns compared with the previous window (no predicted label in regression)."""
    if options.problem_type == "regression":
        return [*FEATURES, "prediction"]
    return CONSECUTIVE_COLUMNS


def compute(
    batch: Batch, baselines: Baselines, options: MonitorOptions | None = None
) -> DriftComputation:
    """The drift rows of every window the batch recomputes, for the whole table and each slice."""
    options = options or MonitorOptions()
    result = DriftComputation(batch, baselines, options=options)
    references = _References(baselines)
    rows: list[dict] = []
    for g in batch.granularities:
        frame = batch.rows.get(g.name)
        if frame is None or frame.is_empty():
            continue
        frame = slices.apply(frame, options.slicing_exprs, options.max_slice_values).frame
        parts = frame.partition_by(
            "window_start", "model_version", *SLICE_COLUMNS, as_dict=True, maintain_order=True
        )
        result.parts[g.name] = parts
        by_window: dict[tuple, list[tuple]] = {}
        for key in parts:
            by_window.setdefault(key[:2], []).append(key[2:])
        for window, version, _, previous in batch.pairs[g.name].iter_rows():
            for slice_key, slice_value in by_window.get((window, version), []):
                where = {"slice_key": slice_key, "slice_value": slice_value}
                current = parts[(window, version, slice_key, slice_value)]
                base, base_frame, refs = references.get(version, slice_key, slice_value)
                for column, ref in refs.items():
                    rows.append(
                        _row(
                            window,
                            g,
                            version,
                            column,
                            current.schema[column],
                            ref.kind,
                            BASELINE,
                            drift(ref, current[column])
                            | _custom(options, column, current, base_frame),
                            baseline_gold_version=base.gold_version,
                            **where,
                        )
                    )
                before = parts.get((previous, version, slice_key, slice_value))
                if previous is None or before is None:
                    continue
                for column in consecutive_columns(options):
                    ref = reference(before[column])
                    rows.append(
                        _row(
                            window,
                            g,
                            version,
                            column,
                            current.schema[column],
                            ref.kind,
                            CONSECUTIVE,
                            drift(ref, current[column]) | _custom(options, column, current, before),
                            window_cmp_start=previous,
                            window_cmp_end=previous + g.length,
                            **where,
                        )
                    )
    stamp = {
        "batch_id": batch.batch_id,
        "logging_table_commit_version": batch.end,
        "computed_at": datetime.now(UTC),
    }
    schema = drift_schema(options)
    result.frame = pl.DataFrame(schema=schema)
    if rows:
        result.frame = pl.DataFrame(
            [{k: r.get(k) for k in schema} | stamp for r in rows], schema=schema
        ).sort(
            "granularity",
            "window_start",
            "model_version",
            "slice_key",
            "slice_value",
            "drift_type",
            "column_name",
            nulls_last=False,
        )
    return result


def drift_schema(options: MonitorOptions) -> dict:
    """The drift table's columns with the custom drift metrics."""
    return DRIFT_SCHEMA | {m.name: m.dtype for m in options.custom_metrics if m.type == "drift"}


def update(
    settings: Settings,
    granularities,
    full_refresh: bool = False,
    log=None,
    baselines: Baselines | None = None,
    options: MonitorOptions | None = None,
    binding: BaselineBinding | None = None,
) -> tuple[dict, DriftComputation]:
    """Bring the drift table up to the current inference table; return what was done
    (`binding`: where the model versions' baselines come from)."""
    options = options or MonitorOptions()
    store = drift_store(settings)
    if baselines is None and options.baseline_table_name:
        baselines = TableBaselines(settings, options, log)
    baselines = baselines or Baselines(settings, log, binding=binding)
    batch = claim(settings, store, granularities, full_refresh, options.columns)
    if batch is None:
        summary = {
            "nothing_new": True,
            "batch_id": store.committed_batch(),
            "windows": 0,
            "rows": 0,
        }
        return summary, DriftComputation(None, baselines, options=options)
    computation = compute(batch, baselines, options)
    version = replace_windows(
        store,
        computation.frame,
        batch.batch_id,
        batch.replaced(),
        comment=f"Drift metrics of {INFERENCE.key} per window, version and "
        "column, against the training baseline and the previous window.",
        metadata={"inference_versions": [batch.start, batch.end]},
        again=batch.again,
    )
    summary = {
        "nothing_new": False,
        "batch_id": batch.batch_id,
        "windows": batch.window_count,
        "rows": computation.frame.height,
        "delta_version": version,
        "full": batch.full,
        "inference_versions": {"start_exclusive": batch.start, "end": batch.end},
        "baseline_problems": dict(baselines.problems),
    }
    return summary, computation
