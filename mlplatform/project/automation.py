"""How a project pipeline's `continuous` and `development` settings show in Dagster.

`continuous: true` becomes a sensor that starts an update of the pipeline whenever none is
queued or running, as a continuous pipeline keeps processing new data. In a target in mode
development it starts stopped, as the Databricks CLI pauses triggers there. `development: true`
is recorded on the pipeline's assets (`mlplatform/development`).
"""

from __future__ import annotations

import dagster as dg

from mlplatform.project.model import Pipeline, Project

PIPELINE_TAG = "mlplatform/pipeline"
IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def continuous_sensor(
    project: Project, resource: Pipeline, schema: str, keys: list
) -> dg.SensorDefinition:
    """The sensor that keeps a continuous pipeline updating."""
    paused = project.target.mode == "development"
    name = f"{schema}__continuous"

    @dg.sensor(
        name=name,
        asset_selection=dg.AssetSelection.assets(*keys),
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.STOPPED if paused else dg.DefaultSensorStatus.RUNNING,
        description=f"Keeps pipeline {resource.key} of {project.name} updating (continuous: true).",
    )
    def keep_updating(context: dg.SensorEvaluationContext):
        running = context.instance.get_runs(
            filters=dg.RunsFilter(statuses=IN_FLIGHT, tags={PIPELINE_TAG: name})
        )
        if running:
            return dg.SkipReason(f"update {running[0].run_id} is still in progress")
        return dg.RunRequest(tags={PIPELINE_TAG: name})

    return keep_updating
