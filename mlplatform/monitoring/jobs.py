"""The incremental engine's monitoring job and its schedule (the monitor's Quartz cron, e.g.
`0 0 * * * ?`: hourly)."""

from __future__ import annotations

import dagster as dg

from mlplatform.monitoring.names import asset_key
from mlplatform.monitoring.schedule import unix_cron
from mlplatform.monitoring.tables import MONITORING
from mlplatform.project.model import QualityMonitor


def build_monitoring_job(
    monitor: QualityMonitor, job_name: str, schedule_name: str
) -> tuple[dg.UnresolvedAssetJobDefinition, list[dg.ScheduleDefinition]]:
    """The job refreshing the monitored table and its metric tables, and its schedule (none
    when the monitor has no `schedule`; PAUSED: stopped by default)."""
    job = dg.define_asset_job(
        job_name,
        # the monitored table is refreshed first, so each run sees the rows logged so far
        selection=dg.AssetSelection.groups(MONITORING)
        | dg.AssetSelection.assets(asset_key(monitor.table_name)),
        description=f"Refresh {monitor.table_name}, then recompute the profile and drift "
        "metrics of the windows that changed and run the drift checks.",
        tags={"mlplatform/monitoring": "hourly"},
    )
    if monitor.schedule is None:
        return job, []
    schedule = dg.ScheduleDefinition(
        name=schedule_name,
        job=job,
        cron_schedule=unix_cron(monitor.schedule.quartz_cron_expression),
        execution_timezone=monitor.schedule.timezone_id,
        default_status=dg.DefaultScheduleStatus.STOPPED
        if monitor.schedule.pause_status == "PAUSED"
        else dg.DefaultScheduleStatus.RUNNING,
        description=f"Refresh the monitoring tables of {monitor.table_name} "
        f"({monitor.schedule.quartz_cron_expression}).",
    )
    return job, [schedule]
