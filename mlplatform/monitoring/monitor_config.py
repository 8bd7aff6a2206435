"""The monitor's options with Lakehouse Monitoring's names, as plain typed data.

One `MonitorOptions` holds everything a monitoring run is configured with. It reads no file and
no environment: `mlplatform.monitoring.loader` fills it from, in this order, the asset's run
config, the YAML file named by `MLPLATFORM_MONITOR_CONFIG`, the environment variables
(`MLPLATFORM_DRIFT_*`, `MLPLATFORM_RETRAIN_*`) and the defaults below.

YAML form (every key optional)::

    granularities: ["1 hour", "1 day"]
    slicing_exprs: ["total_events > 50", "model_version"]
    max_slice_values: 100        # distinct values profiled per expression
    custom_metrics:
      - {type: aggregate, name: avg_log_amount, input_columns: [avg_amount],
         definition: "avg(ln({{input_column}} + 1))", output_data_type: double}
    baseline_table_name: ml/training_set   # <layer>/<table> under the lakehouse, or a path
    problem_type: classification  # or regression
    label_col: label
    prediction_col: prediction
    model_id_col: model_version
    timestamp_col: timestamp
    drift: {thresholds: {js_distance: {warn: 0.1, error: 0.2}}, min_rows: 500, alpha: 0.001}
    retrain: {evaluation_windows: 5, violation_windows: 2, granularity: "1 hour",
              cooldown_hours: 24, count_slices: false}
    table_quality: {floor_minutes: 10}   # see mlplatform.monitoring.table_health.judge
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from mlplatform.monitoring.config import (
    GRANULARITIES,
    MonitoringConfigError,
    parse_granularities,
)
from mlplatform.monitoring.custom_metrics import CustomMetric, parse_custom_metrics

PROBLEM_TYPES = ("classification", "regression")
MAX_SLICE_VALUES = 100
"""Distinct values profiled per slicing expression (Lakehouse Monitoring's cap)."""
SECTIONS = ("drift", "retrain", "table_quality")


@dataclass(frozen=True)
class MonitorOptions:
    """The options of the inference-table monitor (Lakehouse Monitoring's `InferenceLog`)."""

    granularities: tuple[str, ...] = GRANULARITIES
    slicing_exprs: tuple[str, ...] = ()
    max_slice_values: int = MAX_SLICE_VALUES
    custom_metrics: tuple[CustomMetric, ...] = ()
    baseline_table_name: str | None = None
    problem_type: str = "classification"
    label_col: str = "label"
    prediction_col: str = "prediction"
    model_id_col: str = "model_version"
    timestamp_col: str = "timestamp"
    drift: dict[str, Any] = field(default_factory=dict)  # DriftRules overrides
    retrain: dict[str, Any] = field(default_factory=dict)  # RetrainPolicy overrides
    table_quality: dict[str, Any] = field(default_factory=dict)  # QualityRules overrides

    def __post_init__(self):
        parse_granularities(list(self.granularities))
        if self.problem_type not in PROBLEM_TYPES:
            raise MonitoringConfigError(
                f"problem_type {self.problem_type!r} is not one of {', '.join(PROBLEM_TYPES)}"
            )
        if self.max_slice_values < 1:
            raise MonitoringConfigError(f"max_slice_values {self.max_slice_values} is below 1")
        for expr in self.slicing_exprs:
            if not isinstance(expr, str) or not expr.strip():
                raise MonitoringConfigError(f"slicing_exprs holds {expr!r}, not a SQL expression")
        if len(set(self.slicing_exprs)) != len(self.slicing_exprs):
            raise MonitoringConfigError(f"slicing_exprs repeat: {list(self.slicing_exprs)}")

    @property
    def columns(self) -> dict[str, str]:
        """The inference table's column for each role (`label`, `prediction`, ...)."""
        return {
            "timestamp": self.timestamp_col,
            "model_version": self.model_id_col,
            "prediction": self.prediction_col,
            "label": self.label_col,
        }

    def with_overrides(self, overrides: dict[str, Any]) -> MonitorOptions:
        """These options with the non-None values of `overrides` (same names) replacing them."""
        return build_options(
            {**self._as_dict(), **{k: v for k, v in overrides.items() if v is not None}}
        )

    def _as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


_NAMES = {f.name for f in fields(MonitorOptions)}


def build_options(values: dict[str, Any]) -> MonitorOptions:
    unknown = sorted(set(values) - _NAMES)
    if unknown:
        raise MonitoringConfigError(
            f"unknown monitor option(s) {', '.join(unknown)}; known: {', '.join(sorted(_NAMES))}"
        )
    values = dict(values)
    for name in ("granularities", "slicing_exprs"):
        if name in values:
            if isinstance(values[name], str) or not isinstance(values[name], list | tuple):
                raise MonitoringConfigError(f"{name} must be a list, got {values[name]!r}")
            values[name] = tuple(values[name])
    if "custom_metrics" in values:
        values["custom_metrics"] = parse_custom_metrics(values["custom_metrics"])
    for name in SECTIONS:
        if name in values and not isinstance(values[name], dict):
            raise MonitoringConfigError(f"{name} must be a mapping, got {values[name]!r}")
    try:
        return MonitorOptions(**values)
    except TypeError as err:
        raise MonitoringConfigError(f"monitor options: {err}") from err
