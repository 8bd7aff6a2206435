"""The one loader of monitoring's configuration: run config > YAML > environment > defaults.

It reads the YAML file named by `MLPLATFORM_MONITOR_CONFIG` and the `MLPLATFORM_DRIFT_*` /
`MLPLATFORM_RETRAIN_*` variables (through `mlplatform.settings.variables`), and hands each rule
class plain typed data: `MonitorOptions` (granularities, slices, custom metrics, columns),
`DriftRules`, `RetrainPolicy` and the table-quality `QualityRules`. No rule class reads a file
or the environment.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from mlplatform.monitoring.config import (
    DEFAULT_THRESHOLDS,
    DriftRules,
    Granularity,
    MonitoringConfigError,
    RetrainPolicy,
    threshold_for,
)
from mlplatform.monitoring.monitor_config import MonitorOptions, build_options
from mlplatform.monitoring.table_health.judge import QualityRules
from mlplatform.project.model import QualityMonitor
from mlplatform.settings import variables

_KINDS = {int: "an integer", float: "a number"}  # _boolean names itself
_RETRAIN = {
    "evaluation_windows": variables.RETRAIN_EVALUATION_WINDOWS,
    "violation_windows": variables.RETRAIN_VIOLATION_WINDOWS,
    "granularity": variables.RETRAIN_GRANULARITY,
    "cooldown_hours": variables.RETRAIN_COOLDOWN_HOURS,
    "count_slices": variables.RETRAIN_COUNT_SLICES,
}
_QUALITY = {"history", "min_history", "warn_factor", "error_factor", "low_warn", "low_error"}
_QUALITY |= {"high_warn", "high_error", "floor_minutes", "overrides"}


def read_yaml(path: str | Path) -> dict[str, Any]:
    """The options of a monitor YAML file (a mapping).

    Raises:
        MonitoringConfigError: the file is missing, not YAML or not a mapping.
    """
    import yaml

    name, path = variables.MONITOR_CONFIG.name, Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise MonitoringConfigError(f"{name}={path}: no such file") from None
    except yaml.YAMLError as err:
        raise MonitoringConfigError(f"{name}={path} is not YAML: {err}") from err
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise MonitoringConfigError(f"{name}={path} holds {type(data).__name__}, not a map")
    return data


def yaml_options() -> dict[str, Any]:
    """The options of the file named by `MLPLATFORM_MONITOR_CONFIG` ({} when unset)."""
    path = variables.MONITOR_CONFIG.value()
    return read_yaml(path) if path else {}


def load_options(
    overrides: dict[str, Any] | None = None, base: dict[str, Any] | None = None
) -> MonitorOptions:
    """The monitor options: `overrides` (asset config) over the YAML file over `base` (the
    declared monitor's values, `monitor_options`) over the defaults.

    Raises:
        MonitoringConfigError: an option has a value that cannot be used (named in the message).
    """
    try:
        declared = build_options(base or {})
        return declared.with_overrides(yaml_options()).with_overrides(overrides or {})
    except MonitoringConfigError as err:
        raise MonitoringConfigError(f"monitor configuration: {err}") from err


def _section(name: str) -> dict:
    section = yaml_options().get(name) or {}
    if not isinstance(section, dict):
        raise MonitoringConfigError(f"{name} must be a mapping, got {section!r}")
    return section


def drift_rules(section: dict | None = None) -> DriftRules:
    """The drift rules: the YAML's `drift:` section (or `section`) over the `MLPLATFORM_DRIFT_*`
    variables over the defaults. A run's check config goes over these (`checks.rules_for`)."""
    rules = _drift_from_environment()
    return _drift_over(rules, _section("drift") if section is None else section)


def _drift_from_environment() -> DriftRules:
    thresholds = dict(DEFAULT_THRESHOLDS)
    text = variables.DRIFT_THRESHOLDS.value()
    if text:
        try:
            for metric, levels in json.loads(text).items():
                if levels is None:
                    thresholds.pop(metric, None)
                else:
                    thresholds[metric] = threshold_for(
                        metric, levels.get("warn"), levels.get("error")
                    )
        except (ValueError, AttributeError) as err:
            raise MonitoringConfigError(
                f"{variables.DRIFT_THRESHOLDS.name} is not JSON {{metric: {{warn, error}}}}: {err}"
            ) from err
    alpha, error = variables.DRIFT_ALPHA, MonitoringConfigError
    return DriftRules(
        thresholds=thresholds,
        min_rows=variables.DRIFT_MIN_ROWS.number(int, error),
        alpha=None if alpha.value() == "none" else alpha.number(float, error),
    )


def _drift_over(rules: DriftRules, section: dict) -> DriftRules:
    """`rules` with the `drift:` section of the monitor YAML over them."""
    unknown = sorted(set(section) - {"thresholds", "min_rows", "alpha"})
    if unknown:
        raise MonitoringConfigError(f"drift: unknown option(s) {', '.join(unknown)}")
    thresholds = dict(rules.thresholds)
    for metric, levels in (section.get("thresholds") or {}).items():
        if levels is None:
            thresholds.pop(metric, None)
        elif isinstance(levels, dict):
            thresholds[metric] = threshold_for(metric, levels.get("warn"), levels.get("error"))
        else:
            raise MonitoringConfigError(f"drift.thresholds.{metric} is not {{warn, error}}")
    alpha = section.get("alpha", rules.alpha)
    return DriftRules(
        thresholds=thresholds,
        min_rows=int(section.get("min_rows", rules.min_rows)),
        alpha=None if alpha in (None, "none") else float(alpha),
    )


def retrain_policy(section: dict | None = None) -> RetrainPolicy:
    """The retraining policy: the YAML's `retrain:` section (or `section`) over the
    `MLPLATFORM_RETRAIN_*` variables over the defaults.

    Raises:
        MonitoringConfigError: a value is not of its kind (named with where it came from), or
            not 1 <= violation_windows <= evaluation_windows.
    """
    section = _section("retrain") if section is None else section
    unknown = sorted(set(section) - set(_RETRAIN))
    if unknown:
        raise MonitoringConfigError(f"retrain: unknown option(s) {', '.join(unknown)}")

    def value(name, parse):
        variable = _RETRAIN[name]
        if name in section and section[name] is not None:
            source, raw = f"retrain.{name}", section[name]
        else:
            source, raw = variable.name, variable.value()
        try:
            return parse(raw)
        except ValueError:
            raise MonitoringConfigError(
                f"{source}={raw!r} is not {_KINDS.get(parse, 'valid')}"
            ) from None

    policy = RetrainPolicy(
        evaluation_windows=value("evaluation_windows", int),
        violation_windows=value("violation_windows", int),
        granularity=Granularity.parse(value("granularity", str)).name,
        cooldown=timedelta(hours=value("cooldown_hours", float)),
        count_slices=value("count_slices", _boolean),
    )
    if not 1 <= policy.violation_windows <= policy.evaluation_windows:
        raise MonitoringConfigError(
            "retraining needs 1 <= MLPLATFORM_RETRAIN_VIOLATION_WINDOWS <= "
            f"MLPLATFORM_RETRAIN_EVALUATION_WINDOWS (got {policy.violation_windows} of "
            f"{policy.evaluation_windows})"
        )
    return policy


def _boolean(value) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise MonitoringConfigError(f"{value!r} is not a boolean")


def quality_rules(section: dict | None = None) -> QualityRules:
    """The table-quality rules: the YAML's `table_quality:` section (or `section`) over the
    defaults::

        table_quality:
          floor_minutes: 10
          warn_factor: 2
          overrides: {gold/daily_features: {warn_after_hours: 26, error_after_hours: 50}}
    """
    section = _section("table_quality") if section is None else section
    if not isinstance(section, dict):
        raise MonitoringConfigError(f"table_quality must be a mapping, got {section!r}")
    unknown = sorted(set(section) - _QUALITY)
    if unknown:
        raise MonitoringConfigError(f"table_quality: unknown option(s) {', '.join(unknown)}")
    values = {k: v for k, v in section.items() if k not in ("floor_minutes", "overrides")}
    if "floor_minutes" in section:
        values["floor"] = timedelta(minutes=float(section["floor_minutes"]))
    overrides = {}
    for table, limits in (section.get("overrides") or {}).items():
        try:
            warn = timedelta(hours=float(limits["warn_after_hours"]))
            error = timedelta(hours=float(limits["error_after_hours"]))
        except (KeyError, TypeError, ValueError):
            raise MonitoringConfigError(
                f"table_quality.overrides.{table} needs warn_after_hours and "
                "error_after_hours (numbers)"
            ) from None
        overrides[table] = (warn, error)
    return QualityRules(**values, overrides=overrides)


def validate(data: dict[str, Any]) -> MonitorOptions:
    """Check a whole monitor YAML mapping (options and sections) without its file.

    Raises:
        MonitoringConfigError: the first problem found, named.
    """
    if not isinstance(data, dict):
        raise MonitoringConfigError(f"monitor options must be a mapping, got {data!r}")
    options = build_options(data)
    _drift_over(DriftRules(), options.drift)
    retrain_policy(options.retrain)
    quality_rules(options.table_quality)
    return options


def monitor_options(monitor: QualityMonitor) -> dict[str, Any]:
    """A declared quality monitor's values as monitor options (Lakehouse Monitoring's names)."""
    spec = monitor.inference_log or monitor.time_series
    values: dict[str, Any] = {
        "slicing_exprs": list(monitor.slicing_exprs),
        "custom_metrics": [
            m | {"type": str(m["type"]).lower().removeprefix("custom_metric_type_")}
            for m in monitor.custom_metrics
        ],
        "baseline_table_name": monitor.baseline_table_name,
    }
    if spec is not None:
        values |= {"granularities": list(spec.granularities), "timestamp_col": spec.timestamp_col}
    log = monitor.inference_log
    if log is not None:
        values |= {
            "problem_type": log.problem_type.lower().removeprefix("problem_type_"),
            "prediction_col": log.prediction_col,
            "model_id_col": log.model_id_col,
            "label_col": log.label_col,
        }
    return {k: v for k, v in values.items() if v is not None}
