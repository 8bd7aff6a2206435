"""Quality monitors from the Lakehouse Monitoring API's `CreateMonitor` fields: a
`QualityMonitor` (mlplatform.project.model); `monitor_info` gives the output shapes.

The same field names as a bundle's `resources.quality_monitors.<key>`, so the bundle reader and
the `quality-monitors` verbs build monitors the same way. Every problem names its key
(`inference_log.problem_type`), and the file and line when the caller knows them.
"""

from __future__ import annotations

import json
from typing import Any

from mlplatform.monitoring.config import MonitoringConfigError
from mlplatform.monitoring.custom_metrics import parse_custom_metrics
from mlplatform.monitoring.names import schema_parts, split_name
from mlplatform.project.model import (
    InferenceLog,
    MonitorSchedule,
    Position,
    QualityMonitor,
    TimeSeries,
)

PROBLEM_TYPES = {
    "PROBLEM_TYPE_CLASSIFICATION": "classification",
    "PROBLEM_TYPE_REGRESSION": "regression",
}
METRIC_TYPES = {
    "CUSTOM_METRIC_TYPE_AGGREGATE": "aggregate",
    "CUSTOM_METRIC_TYPE_DERIVED": "derived",
    "CUSTOM_METRIC_TYPE_DRIFT": "drift",
}
KNOWN = {
    "output_schema_name",
    "assets_dir",
    "inference_log",
    "time_series",
    "snapshot",
    "slicing_exprs",
    "custom_metrics",
    "baseline_table_name",
    "schedule",
    "table_name",
}
ACCEPTED = {"notifications", "skip_builtin_dashboard", "warehouse_id", "data_classification_config"}
"""Fields of the API that are accepted and have no effect here (no dashboard, no warehouse)."""
PAUSE_STATUSES = ("PAUSED", "UNPAUSED")


class _Where:
    """Names a key in errors: `file:line: key` when the position is known."""

    def __init__(self, position: Position | None):
        self.position = position

    def error(self, key: str, problem: str) -> MonitoringConfigError:
        if self.position is None:
            return MonitoringConfigError(f"{key}: {problem}")
        at = f"{self.position.file}:{self.position.line}"
        return MonitoringConfigError(f"{at}: {self.position.key}.{key}: {problem}")


def _mapping(value, key: str, where: _Where) -> dict:
    if not isinstance(value, dict):
        raise where.error(key, f"must be a mapping, got {json.dumps(value)}")
    return value


def _text(section: dict, name: str, prefix: str, where: _Where, required: bool = True):
    value = section.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise where.error(
            f"{prefix}{name}",
            "is required (a column name)"
            if value is None
            else f"must be a non-empty string, got {json.dumps(value)}",
        )
    return value


def _granularities(section: dict, prefix: str, where: _Where) -> tuple[str, ...]:
    from mlplatform.monitoring.lm_frame import parse_window

    values = section.get("granularities")
    if not isinstance(values, list) or not values:
        raise where.error(f"{prefix}granularities", "must be a non-empty list, e.g. ['1 day']")
    try:
        names = tuple(parse_window(v).name for v in values)
    except MonitoringConfigError as err:
        raise where.error(f"{prefix}granularities", str(err)) from None
    if len(set(names)) != len(names):
        raise where.error(f"{prefix}granularities", f"granularities repeat: {list(values)}")
    return names


def _inference_log(section: dict, where: _Where) -> InferenceLog:
    p = "inference_log."
    problem = section.get("problem_type")
    if problem not in PROBLEM_TYPES:
        raise where.error(
            f"{p}problem_type", f"{json.dumps(problem)} is not one of {', '.join(PROBLEM_TYPES)}"
        )
    unknown = sorted(
        set(section)
        - {
            "problem_type",
            "prediction_col",
            "timestamp_col",
            "model_id_col",
            "granularities",
            "label_col",
            "prediction_proba_col",
        }
    )
    if unknown:
        raise where.error(f"{p}{unknown[0]}", "is not a field of inference_log")
    return InferenceLog(
        problem_type=problem,
        prediction_col=_text(section, "prediction_col", p, where),
        timestamp_col=_text(section, "timestamp_col", p, where),
        model_id_col=_text(section, "model_id_col", p, where),
        granularities=_granularities(section, p, where),
        label_col=_text(section, "label_col", p, where, required=False),
        prediction_proba_col=_text(section, "prediction_proba_col", p, where, required=False),
    )


def _time_series(section: dict, where: _Where) -> TimeSeries:
    unknown = sorted(set(section) - {"timestamp_col", "granularities"})
    if unknown:
        raise where.error(f"time_series.{unknown[0]}", "is not a field of time_series")
    return TimeSeries(
        timestamp_col=_text(section, "timestamp_col", "time_series.", where),
        granularities=_granularities(section, "time_series.", where),
    )


def _output_type(value) -> str:
    """`output_data_type`: a Spark type name (`double`) or its StructField JSON."""
    if isinstance(value, str) and value.strip().startswith("{"):
        value = json.loads(value).get("type")
    return str(value or "double").lower()


def _custom_metrics(items, where: _Where) -> tuple[dict[str, Any], ...]:
    if items is None:
        return ()
    if not isinstance(items, list):
        raise where.error("custom_metrics", "must be a list")
    metrics = []
    for i, item in enumerate(items):
        key = f"custom_metrics[{i}]"
        item = dict(_mapping(item, key, where))
        kind = str(item.get("type", ""))
        item["type"] = METRIC_TYPES.get(kind, kind.lower())
        try:
            item["output_data_type"] = _output_type(item.get("output_data_type"))
        except ValueError:
            raise where.error(f"{key}.output_data_type", "is not a type or JSON") from None
        metrics.append(item)
    for i, item in enumerate(metrics):
        # a drift metric compares aggregate ones: check each with every aggregate beside it
        others = [m for m in metrics if m is not item and m["type"] == "aggregate"]
        try:
            parse_custom_metrics([*others, item] if item["type"] == "drift" else [item])
        except MonitoringConfigError as err:
            raise where.error(f"custom_metrics[{i}]", str(err)) from None
    try:
        parse_custom_metrics(metrics)
    except MonitoringConfigError as err:
        raise where.error("custom_metrics", str(err)) from None
    return tuple(metrics)


def custom_metrics_of(monitor: QualityMonitor) -> tuple:
    """The monitor's custom metrics parsed (`CustomMetric`), from the API's or the internal
    spelling (`CUSTOM_METRIC_TYPE_AGGREGATE` or `aggregate`; a type name or StructField JSON)."""
    items = []
    for m in monitor.custom_metrics:
        kind = str(m.get("type", ""))
        items.append(
            dict(m)
            | {
                "type": METRIC_TYPES.get(kind, kind.lower()),
                "output_data_type": _output_type(m.get("output_data_type")),
            }
        )
    return parse_custom_metrics(items)


def _schedule(value, where: _Where) -> MonitorSchedule | None:
    if value is None:
        return None
    value = _mapping(value, "schedule", where)
    cron = value.get("quartz_cron_expression")
    if not isinstance(cron, str):
        raise where.error("schedule.quartz_cron_expression", "is required (a Quartz cron)")
    from mlplatform.monitoring.schedule import unix_cron

    try:
        unix_cron(cron)
    except MonitoringConfigError as err:
        raise where.error("schedule.quartz_cron_expression", str(err)) from None
    pause = value.get("pause_status", "UNPAUSED")
    if pause not in PAUSE_STATUSES:
        raise where.error("schedule.pause_status", f"{pause!r} is not PAUSED or UNPAUSED")
    return MonitorSchedule(cron, str(value.get("timezone_id") or "UTC"), pause)


def monitor_from_fields(
    table_name: str, fields: dict, key: str | None = None, position: Position | None = None
) -> tuple[QualityMonitor, list[str]]:
    """A monitor of `table_name` from the `CreateMonitor` fields; with the warnings about
    fields accepted without effect or unknown.

    Raises:
        MonitoringConfigError: a field is missing or wrong (its key in the message).
    """
    where = _Where(position)
    fields = _mapping(fields, "(monitor)", where)
    split_name(table_name, "table_name")
    warnings = [f"{k}: accepted, has no effect here" for k in sorted(set(fields) & ACCEPTED)]
    warnings += [f"{k}: unknown field, ignored" for k in sorted(set(fields) - KNOWN - ACCEPTED)]
    schema = fields.get("output_schema_name")
    if not isinstance(schema, str):
        raise where.error("output_schema_name", "is required ('schema' or 'catalog.schema')")
    try:
        schema_parts(schema)
    except MonitoringConfigError as err:
        raise where.error("output_schema_name", str(err).split(": ", 1)[1]) from None
    kinds = [k for k in ("inference_log", "time_series", "snapshot") if fields.get(k) is not None]
    if len(kinds) != 1:
        raise where.error(
            "inference_log",
            "exactly one of inference_log, time_series, snapshot must be set"
            + (f" (got {', '.join(kinds)})" if kinds else ""),
        )
    baseline = fields.get("baseline_table_name")
    if baseline is not None:
        try:
            split_name(baseline)
        except MonitoringConfigError as err:
            raise where.error("baseline_table_name", str(err).split(": ", 1)[1]) from None
    slicing = fields.get("slicing_exprs") or []
    if not isinstance(slicing, list) or not all(isinstance(s, str) and s for s in slicing):
        raise where.error("slicing_exprs", "must be a list of SQL expressions")
    section = {k: _mapping(fields[k], k, where) for k in kinds}
    monitor = QualityMonitor(
        key=key or table_name.replace(".", "_"),
        table_name=table_name,
        output_schema_name=schema,
        inference_log=_inference_log(section["inference_log"], where)
        if "inference_log" in section
        else None,
        time_series=_time_series(section["time_series"], where)
        if "time_series" in section
        else None,
        snapshot="snapshot" in section,
        slicing_exprs=tuple(slicing),
        custom_metrics=_custom_metrics(fields.get("custom_metrics"), where),
        baseline_table_name=baseline,
        schedule=_schedule(fields.get("schedule"), where),
        assets_dir=fields.get("assets_dir"),
        position=position,
    )
    return monitor, warnings
