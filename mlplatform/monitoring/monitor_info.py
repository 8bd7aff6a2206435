"""A quality monitor in the API's output shapes: its metric table names, `MonitorInfo` and the
`CreateMonitor` fields that rebuild it."""

from __future__ import annotations

from typing import Any

from mlplatform.monitoring.api import METRIC_TYPES
from mlplatform.monitoring.names import split_name
from mlplatform.project.model import QualityMonitor


def output_table(monitor: QualityMonitor, suffix: str) -> str:
    """`<output_schema_name>.<table>_<suffix>` (suffix `profile_metrics` or `drift_metrics`)."""
    return f"{monitor.output_schema_name}.{split_name(monitor.table_name)[-1]}_{suffix}"


def profile_table_name(monitor: QualityMonitor) -> str:
    return output_table(monitor, "profile_metrics")


def drift_table_name(monitor: QualityMonitor) -> str:
    return output_table(monitor, "drift_metrics")


def _fields(monitor: QualityMonitor) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if monitor.inference_log is not None:
        log = monitor.inference_log
        out["inference_log"] = {
            k: v
            for k, v in {
                "problem_type": log.problem_type,
                "prediction_col": log.prediction_col,
                "timestamp_col": log.timestamp_col,
                "model_id_col": log.model_id_col,
                "granularities": list(log.granularities),
                "label_col": log.label_col,
                "prediction_proba_col": log.prediction_proba_col,
            }.items()
            if v is not None
        }
    if monitor.time_series is not None:
        out["time_series"] = {
            "timestamp_col": monitor.time_series.timestamp_col,
            "granularities": list(monitor.time_series.granularities),
        }
    if monitor.snapshot:
        out["snapshot"] = {}
    if monitor.slicing_exprs:
        out["slicing_exprs"] = list(monitor.slicing_exprs)
    if monitor.custom_metrics:
        types = {v: k for k, v in METRIC_TYPES.items()}
        out["custom_metrics"] = [
            m | {"type": types.get(m["type"], m["type"])} for m in monitor.custom_metrics
        ]
    if monitor.baseline_table_name:
        out["baseline_table_name"] = monitor.baseline_table_name
    if monitor.schedule is not None:
        out["schedule"] = {
            "quartz_cron_expression": monitor.schedule.quartz_cron_expression,
            "timezone_id": monitor.schedule.timezone_id,
            "pause_status": monitor.schedule.pause_status,
        }
    return out


def monitor_info(monitor: QualityMonitor, status: str = "MONITOR_STATUS_ACTIVE", **extra) -> dict:
    """The API's `MonitorInfo` of a monitor (what `quality-monitors get` prints)."""
    return {
        "table_name": monitor.table_name,
        "status": status,
        "output_schema_name": monitor.output_schema_name,
        "profile_metrics_table_name": profile_table_name(monitor),
        "drift_metrics_table_name": drift_table_name(monitor),
        **({"assets_dir": monitor.assets_dir} if monitor.assets_dir else {}),
        **_fields(monitor),
        **extra,
    }


def create_fields(monitor: QualityMonitor) -> dict[str, Any]:
    """The `CreateMonitor` fields that rebuild `monitor` (what the registry stores)."""
    out = {"output_schema_name": monitor.output_schema_name, **_fields(monitor)}
    if monitor.assets_dir:
        out["assets_dir"] = monitor.assets_dir
    return out
