"""When the training job runs on its own."""

from __future__ import annotations

import dagster as dg

from mlplatform.training.jobs import ml_training_job

ml_training_daily = dg.ScheduleDefinition(
    name="ml_training_daily",
    job=ml_training_job,
    cron_schedule="0 3 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Retrain every night at 03:00 UTC on the day's features and labels.",
)
