"""A quality monitor as Dagster definitions: `monitor_definitions(monitor)` is the one entry.

For a `QualityMonitor` (mlplatform.project.model) on the table `schema.table`:

- one multi-asset writing `<output_schema>/<table>_profile_metrics` and `_drift_metrics`
  (asset keys shaped like the tables: `[output schema, table name]`), downstream of the
  monitored table's asset `[schema, table]`, group: the output schema;
- on the drift table, the checks `baseline_drift_within_thresholds` and
  `consecutive_drift_within_thresholds` (thresholds: `loader.drift_rules()`);
- a job `<key>_refresh_job` selecting both tables and, with `schedule`, a schedule
  `<key>_refresh_schedule` on its Quartz cron (PAUSED: stopped by default);
- with a `RetrainBinding` (the monitored model's registered name and its training job), a
  sensor `<key>_drift_retrain_sensor` requesting the job when drift against the baseline
  persists (`mlplatform.monitoring.sensors.persistent_drift`).
"""

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import dagster as dg
import polars as pl

from mlplatform.lakehouse.resource import LakehouseResource
from mlplatform.monitoring.baseline_binding import BaselineBinding
from mlplatform.monitoring.lm_schema import BASELINE, CONSECUTIVE
from mlplatform.monitoring.loader import drift_rules, retrain_policy
from mlplatform.monitoring.monitor_info import drift_table_name, profile_table_name
from mlplatform.monitoring.names import asset_key, output_keys, schema_parts
from mlplatform.monitoring.schedule import unix_cron
from mlplatform.monitoring.thresholds import ERROR, breaches, describe
from mlplatform.project.model import QualityMonitor


@dataclass(frozen=True)
class IncrementalBinding:
    """Run the monitor on the incremental engine (windows recomputed as rows arrive, baselines
    from the model versions' training data, the dashboard): the demo's engine until the two
    engines are one. Names of the job, schedule and sensor are the binding's."""

    baselines: BaselineBinding
    job_name: str = "monitoring_job"
    schedule_name: str = "monitoring_hourly"


@dataclass(frozen=True)
class RetrainBinding:
    """What a drift-triggered retraining needs: the model's registered name and its job."""

    model_name: str
    job: "dg.JobDefinition | dg.UnresolvedAssetJobDefinition"


def _read_drift(monitor: QualityMonitor, lakehouse: LakehouseResource) -> pl.DataFrame | None:
    from mlplatform.monitoring.refresh import store

    target = store(lakehouse.settings, drift_table_name(monitor), "output_schema_name")
    if not target.exists():
        return None
    return target.read().with_columns(pl.col("model_id").alias("model_version"))


def _assets(monitor: QualityMonitor, group: str) -> dg.AssetsDefinition:
    profile_key, drift_key = output_keys(monitor)
    source = asset_key(monitor.table_name)
    specs = [
        dg.AssetSpec(
            key,
            deps=[source],
            group_name=group,
            kinds={"deltalake", "polars"},
            description=f"{what} of {monitor.table_name} per window, model and slice "
            "(Lakehouse Monitoring's columns).",
            metadata={"dagster/table_name": name},
        )
        for key, what, name in (
            (profile_key, "Profile metrics", profile_table_name(monitor)),
            (drift_key, "Drift metrics", drift_table_name(monitor)),
        )
    ]

    @dg.multi_asset(name=f"{monitor.key}_metrics", specs=specs)
    def _refresh(context: dg.AssetExecutionContext, lakehouse: LakehouseResource):
        from mlplatform.monitoring.refresh import refresh

        result = refresh(lakehouse.settings, monitor)
        if result.state != "SUCCESS":
            raise dg.Failure(f"refresh of {monitor.table_name} failed: {result.message}")
        context.log.info(
            f"{result.profile_rows} profile and {result.drift_rows} drift rows of "
            f"{monitor.table_name} version {result.logging_table_commit_version}"
        )
        common = {"logging_table_commit_version": result.logging_table_commit_version}
        yield dg.MaterializeResult(
            asset_key=profile_key, metadata=common | {"dagster/row_count": result.profile_rows}
        )
        yield dg.MaterializeResult(
            asset_key=drift_key, metadata=common | {"dagster/row_count": result.drift_rows}
        )

    return _refresh


def _check(monitor: QualityMonitor, drift_type: str) -> dg.AssetChecksDefinition:
    name = f"{drift_type.lower()}_drift_within_thresholds"
    against = "the baseline table" if drift_type == BASELINE else "the previous window"

    @dg.asset_check(
        asset=output_keys(monitor)[1],
        name=name,
        description=f"No column drifted from {against} beyond its warn (WARN) or error "
        "(ERROR) level.",
    )
    def _drift_check(lakehouse: LakehouseResource) -> dg.AssetCheckResult:
        drift = _read_drift(monitor, lakehouse)
        if drift is None:
            return dg.AssetCheckResult(passed=True, description="no drift table yet")
        found = breaches(drift.filter(pl.col("drift_type") == drift_type), drift_rules())
        if found.is_empty():
            return dg.AssetCheckResult(passed=True, description="no drift")
        severity = (
            dg.AssetCheckSeverity.ERROR
            if (found["level"] == ERROR).any()
            else dg.AssetCheckSeverity.WARN
        )
        return dg.AssetCheckResult(
            passed=False,
            severity=severity,
            description=describe(found),
            metadata={"drifted_columns": sorted(set(found["column_name"]))},
        )

    return _drift_check


def _sensor(monitor: QualityMonitor, binding: RetrainBinding) -> dg.SensorDefinition:
    from mlplatform.monitoring.sensors import persistent_drift

    def _evaluate(context: dg.SensorEvaluationContext, lakehouse: LakehouseResource):
        drift = _read_drift(monitor, lakehouse)
        if drift is None:
            return dg.SkipReason("no drift table yet")
        policy, rules = retrain_policy(), drift_rules()
        whole = pl.col("model_id").is_null() | (pl.col("model_id") == "*")  # all models
        verdict = persistent_drift(drift.filter(whole), policy, rules)
        if not verdict.retrain:
            return dg.SkipReason(verdict.summary(policy))
        latest = verdict.drifted[0].isoformat()
        cursor = json.loads(context.cursor) if context.cursor else {}
        if cursor.get("last_window") == latest:
            return dg.SkipReason(f"retraining already requested for the window {latest}")
        now = datetime.now(UTC).isoformat()
        context.update_cursor(json.dumps({"last_request_at": now, "last_window": latest}))
        return dg.RunRequest(
            run_key=f"{monitor.key}-drift-{latest}",
            tags={"mlplatform/trigger": "drift", "mlplatform/model": binding.model_name},
        )

    return dg.sensor(
        name=f"{monitor.key}_drift_retrain_sensor",
        job=binding.job,
        minimum_interval_seconds=300,
        description=f"Requests {binding.job.name} (retrains {binding.model_name}) when "
        f"{monitor.table_name} drifted from its baseline in N of the last M windows.",
    )(_evaluate)


def _incremental(
    monitor: QualityMonitor, binding: IncrementalBinding, retrain: RetrainBinding | None
) -> dg.Definitions:
    from mlplatform.monitoring.assets import build_monitoring_assets
    from mlplatform.monitoring.checks import build_drift_check
    from mlplatform.monitoring.jobs import build_monitoring_job
    from mlplatform.monitoring.sensors import build_drift_retrain_sensor

    drift_key = output_keys(monitor)[1]
    job, schedules = build_monitoring_job(monitor, binding.job_name, binding.schedule_name)
    return dg.Definitions(
        assets=build_monitoring_assets(monitor, binding.baselines),
        asset_checks=[
            build_drift_check(BASELINE, drift_key),
            build_drift_check(CONSECUTIVE, drift_key),
        ],
        jobs=[job],
        schedules=schedules,
        sensors=[build_drift_retrain_sensor(retrain.job)] if retrain is not None else [],
    )


def monitor_definitions(
    monitor: QualityMonitor,
    retrain: RetrainBinding | None = None,
    incremental: IncrementalBinding | None = None,
) -> dg.Definitions:
    """The Dagster definitions of one quality monitor (see the module docstring); with
    `incremental`, those of the incremental engine (`IncrementalBinding`)."""
    if incremental is not None:
        return _incremental(monitor, incremental, retrain)
    group = schema_parts(monitor.output_schema_name)[-1]
    assets = _assets(monitor, group)
    job = dg.define_asset_job(
        f"{monitor.key}_refresh_job",
        selection=dg.AssetSelection.assets(*output_keys(monitor)),
        description=f"Refresh the metric tables of {monitor.table_name}.",
    )
    schedules = []
    if monitor.schedule is not None:
        paused = monitor.schedule.pause_status == "PAUSED"
        schedules.append(
            dg.ScheduleDefinition(
                name=f"{monitor.key}_refresh_schedule",
                job=job,
                cron_schedule=unix_cron(monitor.schedule.quartz_cron_expression),
                execution_timezone=monitor.schedule.timezone_id,
                default_status=dg.DefaultScheduleStatus.STOPPED
                if paused
                else dg.DefaultScheduleStatus.RUNNING,
            )
        )
    return dg.Definitions(
        assets=[assets],
        asset_checks=[_check(monitor, BASELINE), _check(monitor, CONSECUTIVE)],
        jobs=[job],
        schedules=schedules,
        sensors=[_sensor(monitor, retrain)] if retrain is not None else [],
    )
