"""When a declared model's training job runs on its own."""

from __future__ import annotations

import dagster as dg

from mlplatform.training.lifecycle import ModelLifecycle


def training_schedule(lc: ModelLifecycle, job) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name=lc.schedule_name,
        job=job,
        cron_schedule=lc.cron,
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"Retrain `{lc.registered_model}` on the latest features and labels "
        f"(`{lc.cron}` UTC).",
    )
