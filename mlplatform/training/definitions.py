"""`lifecycle_definitions`: a declared model (`ModelLifecycle`) as Dagster definitions.

Training and evaluation assets, the blocking checks, the training job and its schedule, the
promotion job and its sensor: every name comes from the declaration, so a project with two
models gets two sets side by side.
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg

from mlplatform.training.assets import model_assets
from mlplatform.training.checks import model_checks
from mlplatform.training.jobs import promote_job, training_job
from mlplatform.training.lifecycle import ModelLifecycle
from mlplatform.training.schedules import training_schedule
from mlplatform.training.sensors import promotion_sensor


@dataclass(frozen=True)
class LifecycleDefinitions:
    """One model's definitions, by role (a project may wire some of them further)."""

    lifecycle: ModelLifecycle
    assets: list[dg.AssetsDefinition]
    checks: dg.AssetChecksDefinition
    training_job: object  # an unresolved asset job
    promote_job: dg.JobDefinition
    promote_sensor: dg.SensorDefinition
    schedule: dg.ScheduleDefinition

    def definitions(self) -> dg.Definitions:
        return dg.Definitions(
            assets=self.assets,
            asset_checks=[self.checks],
            jobs=[self.training_job, self.promote_job],
            sensors=[self.promote_sensor],
            schedules=[self.schedule],
        )


def lifecycle_definitions(lc: ModelLifecycle) -> LifecycleDefinitions:
    """Build every definition of one declared model."""
    train_job = training_job(lc)
    promotion = promote_job(lc)
    return LifecycleDefinitions(
        lifecycle=lc,
        assets=model_assets(lc),
        checks=model_checks(lc),
        training_job=train_job,
        promote_job=promotion,
        promote_sensor=promotion_sensor(lc, promotion),
        schedule=training_schedule(lc, train_job),
    )
