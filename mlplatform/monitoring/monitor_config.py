"""The monitor's options with Lakehouse Monitoring's names, and where each value comes from.

One `MonitorOptions` holds everything a monitoring run is configured with. Each option is taken
from, in this order: the asset's run config, the YAML file named by `MLPLATFORM_MONITOR_CONFIG`,
the older environment variables (`MLPLATFORM_DRIFT_*`, `MLPLATFORM_RETRAIN_*`, see
`mlplatform.monitoring.config`), the defaults below.

YAML form (every key optional)::

    granularities: ["1 hour", "1 day"]
    slicing_exprs: ["total_events > 50", "model_version"]
    max_slice_values: 100        # distinct values profiled per expression
    custom_metrics:
      - {type: aggregate, name: avg_log_amount, input_columns: [avg_amount],
         definition: "avg(ln({{input_column}} + 1))", output_data_type: double}
    baseline_table_name: ml/churn_training_set   # <layer>/<table> under the lakehouse, or a path
    problem_type: classification  # or regression
    label_col: label
    prediction_col: prediction
    model_id_col: model_version
    timestamp_col: timestamp
    drift: {thresholds: {js_distance: {warn: 0.1, error: 0.2}}, min_rows: 500, alpha: 0.001}
    retrain: {evaluation_windows: 5, violation_windows: 2, granularity: "1 hour",
              cooldown_hours: 24, count_slices: false}
    table_quality: {floor_minutes: 10}   # see mlplatform.monitoring.table_quality
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from mlplatform.monitoring.config import (
    GRANULARITIES,
    MonitoringConfigError,
    parse_granularities,
)
from mlplatform.monitoring.custom_metrics import CustomMetric, parse_custom_metrics

CONFIG_ENV = "MLPLATFORM_MONITOR_CONFIG"
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
        return _build({**self._as_dict(), **{k: v for k, v in overrides.items() if v is not None}})

    def _as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


_NAMES = {f.name for f in fields(MonitorOptions)}


def _build(values: dict[str, Any]) -> MonitorOptions:
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


def read_yaml(path: str | Path) -> dict[str, Any]:
    """The options of a monitor YAML file (a mapping).

    Raises:
        MonitoringConfigError: the file is missing, not YAML or not a mapping.
    """
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise MonitoringConfigError(f"{CONFIG_ENV}={path}: no such file") from None
    except yaml.YAMLError as err:
        raise MonitoringConfigError(f"{CONFIG_ENV}={path} is not YAML: {err}") from err
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise MonitoringConfigError(f"{CONFIG_ENV}={path} holds {type(data).__name__}, not a map")
    return data


def yaml_options() -> dict[str, Any]:
    """The options of the file named by `MLPLATFORM_MONITOR_CONFIG` ({} when unset)."""
    path = os.environ.get(CONFIG_ENV)
    return read_yaml(path) if path else {}


def load_options(overrides: dict[str, Any] | None = None) -> MonitorOptions:
    """The monitor options: `overrides` (asset config) over the YAML file over the defaults.

    The environment variables of `DriftRules` and `RetrainPolicy` sit between the YAML and the
    defaults; they are applied by `drift_rules` and `retrain_policy`.

    Raises:
        MonitoringConfigError: an option has a value that cannot be used (named in the message).
    """
    try:
        return _build(yaml_options()).with_overrides(overrides or {})
    except MonitoringConfigError as err:
        raise MonitoringConfigError(f"monitor configuration: {err}") from err


def validate(data: dict[str, Any]) -> MonitorOptions:
    """Check a whole monitor YAML mapping (options and sections) without the environment.

    Raises:
        MonitoringConfigError: the first problem found, named.
    """
    from mlplatform.monitoring.config import DriftRules, RetrainPolicy
    from mlplatform.monitoring.table_quality import QualityRules

    if not isinstance(data, dict):
        raise MonitoringConfigError(f"monitor options must be a mapping, got {data!r}")
    options = _build(data)
    DriftRules().with_yaml(options.drift)
    policy = RetrainPolicy.from_env(options.retrain)
    if not 1 <= policy.violation_windows <= policy.evaluation_windows:
        raise MonitoringConfigError("retrain: needs 1 <= violation_windows <= evaluation_windows")
    QualityRules.from_yaml(options.table_quality)
    return options
