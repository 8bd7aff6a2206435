"""Drift metrics of the inference table per window, model version and column.

For every recomputed window and each model version with rows in it:

- BASELINE: each feature against the version's training data (`mlplatform.monitoring.baseline`);
  skipped, with the reason logged, for a version whose baseline cannot be built;
- CONSECUTIVE: each feature, `prediction` and `predicted_label` against the same version's
  previous window (the latest earlier window with rows of that version).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import polars as pl

from mlplatform.monitoring.baseline import Baselines
from mlplatform.monitoring.metrics import drift, reference
from mlplatform.monitoring.tables import (
    BASELINE,
    CONSECUTIVE,
    DRIFT_SCHEMA,
    drift_store,
    replace_windows,
)
from mlplatform.monitoring.windows import Batch, plan, record
from mlplatform.settings import Settings
from mlplatform.training.features import FEATURES

CONSECUTIVE_COLUMNS = [*FEATURES, "prediction", "predicted_label"]


@dataclass
class DriftComputation:
    """The drift rows of a batch, and the samples behind them (for the report's plots)."""

    batch: Batch | None
    baselines: Baselines
    frame: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=DRIFT_SCHEMA))
    parts: dict[str, dict] = field(default_factory=dict)

    def samples(
        self,
        granularity: str,
        window: datetime,
        version: str,
        column: str,
        drift_type: str,
        window_cmp: datetime | None = None,
    ) -> tuple[pl.Series, pl.Series] | None:
        """(reference, current) values behind one drift row, or None when not at hand."""
        parts = self.parts.get(granularity, {})
        current = parts.get((window, version))
        if current is None:
            return None
        if drift_type == BASELINE:
            base = self.baselines.get(version)
            if base is None or column not in base.frame.columns:
                return None
            return base.frame[column], current[column]
        previous = parts.get((window_cmp, version))
        return None if previous is None else (previous[column], current[column])


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


def compute(batch: Batch, baselines: Baselines) -> DriftComputation:
    """The drift rows of every window the batch recomputes."""
    result = DriftComputation(batch, baselines)
    rows: list[dict] = []
    for g in batch.granularities:
        frame = batch.rows.get(g.name)
        if frame is None or frame.is_empty():
            continue
        parts = frame.partition_by("window_start", "model_version", as_dict=True)
        result.parts[g.name] = parts
        for window, version, _, previous in batch.pairs[g.name].iter_rows():
            current = parts[(window, version)]
            base = baselines.get(version)
            for column, ref in (base.references if base else {}).items():
                rows.append(
                    _row(
                        window,
                        g,
                        version,
                        column,
                        current.schema[column],
                        ref.kind,
                        BASELINE,
                        drift(ref, current[column]),
                        baseline_gold_version=base.gold_version,
                    )
                )
            if previous is None:
                continue
            before = parts[(previous, version)]
            for column in CONSECUTIVE_COLUMNS:
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
                        drift(ref, current[column]),
                        window_cmp_start=previous,
                        window_cmp_end=previous + g.length,
                    )
                )
    stamp = {
        "batch_id": batch.batch_id,
        "logging_table_commit_version": batch.end,
        "computed_at": datetime.now(UTC),
    }
    if rows:
        result.frame = pl.DataFrame(
            [{k: r.get(k) for k in DRIFT_SCHEMA} | stamp for r in rows], schema=DRIFT_SCHEMA
        ).sort("granularity", "window_start", "model_version", "drift_type", "column_name")
    return result


def update(
    settings: Settings,
    granularities,
    full_refresh: bool = False,
    log=None,
    baselines: Baselines | None = None,
) -> tuple[dict, DriftComputation]:
    """Bring the drift table up to the current inference table; return what was done."""
    store = drift_store(settings)
    baselines = baselines or Baselines(settings, log)
    batch = plan(settings, store, granularities, full_refresh)
    if batch is None:
        summary = {
            "nothing_new": True,
            "batch_id": store.committed_batch(),
            "windows": 0,
            "rows": 0,
        }
        return summary, DriftComputation(None, baselines)
    computation = compute(batch, baselines)
    record(settings, f"monitoring/{store.path.name}", batch)
    version = replace_windows(
        store,
        computation.frame,
        batch.batch_id,
        batch.replaced(),
        comment="Drift metrics of serving/churn_predictor_inference per window, version and "
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
