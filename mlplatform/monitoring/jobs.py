"""The monitoring job and its hourly schedule (the seed's Quartz cron `0 0 * * * ?`)."""

from __future__ import annotations

import dagster as dg

from mlplatform.catalog import INFERENCE
from mlplatform.monitoring.tables import MONITORING

monitoring_job = dg.define_asset_job(
    "monitoring_job",
    # the inference table is unpacked first, so each run sees the predictions served so far
    selection=dg.AssetSelection.groups(MONITORING) | dg.AssetSelection.assets(INFERENCE.asset_key),
    description="Unpack new predictions into the inference table, then recompute the profile "
    "and drift metrics of the windows that changed and run the drift checks.",
    tags={"mlplatform/monitoring": "hourly"},
)

monitoring_hourly = dg.ScheduleDefinition(
    name="monitoring_hourly",
    job=monitoring_job,
    cron_schedule="0 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Refresh the monitoring tables at the top of every hour.",
)
