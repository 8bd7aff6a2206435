"""The Definitions of a pipeline: one asset per stored dataset, and its event log."""

from __future__ import annotations

import dagster as dg

from mlplatform.dlt.cdc_asset import build_change_asset, build_snapshot_asset
from mlplatform.lakehouse import event_log
from mlplatform.lakehouse.event_log import EVENT_LOG, EventLogTarget


def event_log_target(pipeline) -> EventLogTarget:
    """``lakehouse/[<catalog>/]<schema>/event_log`` of the pipeline, with its event hooks."""
    return EventLogTarget(pipeline.name, tuple(pipeline.key(EVENT_LOG).split("/")), pipeline.hooks)


def update_sensors(schema: str, keys: set, target: EventLogTarget) -> list:
    """Log ``update_progress COMPLETED``/``FAILED`` of the runs (updates) that materialized this
    pipeline's datasets, as the daemon sees them end (``mlplatform pipelines run`` logs it
    itself; either way it is written once)."""

    def finish(context, error) -> None:
        run = context.dagster_run
        if set(run.asset_selection or ()) & keys:
            event_log.finish_update(target, run.run_id, error)

    @dg.run_status_sensor(
        run_status=dg.DagsterRunStatus.SUCCESS,
        name=f"{schema}__event_log_update_completed",
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Logs the end of each update of {schema} in {schema}/event_log.",
    )
    def completed(context: dg.RunStatusSensorContext):
        finish(context, None)

    @dg.run_failure_sensor(
        name=f"{schema}__event_log_update_failed",
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Logs a failed update of {schema} in {schema}/event_log.",
    )
    def failed(context: dg.RunFailureSensorContext):
        finish(context, RuntimeError(context.failure_event.message or "the update failed"))

    return [completed, failed]


def pipeline_definitions(pipeline, engine: str) -> dg.Definitions:
    """Assets for every dataset that is stored (views are not), on ``engine`` (the pipeline's:
    ``polars`` or ``spark``)."""
    from mlplatform.lakehouse.assets import build_table_asset
    from mlplatform.lakehouse.engines.spark_resource import PySparkResource
    from mlplatform.lakehouse.engines.spark_session import spark_config
    from mlplatform.lakehouse.resource import LakehouseResource

    target = event_log_target(pipeline)
    assets: list = [
        dg.AssetSpec(
            list(target.parts),
            group_name=pipeline.schema,
            kinds={"deltalake"},
            description=f"The event log of pipeline {pipeline.name!r}: every update appends its "
            "create_update, flow_definition, flow_progress and update_progress events "
            "(Delta Live Tables' columns; details as JSON).",
        )
    ]
    for ds in pipeline.datasets.values():
        if ds.kind == "view":
            continue
        if ds.changes is not None:
            source = pipeline.datasets.get(ds.changes.source)
            view = None
            if source is not None and source.kind == "view":
                view = (pipeline.table_definition(source, full_reads=True), engine)
            assets.append(build_change_asset(ds.changes, pipeline.layer, ds.comment, target, view))
            continue
        if ds.snapshot is not None:
            assets.append(build_snapshot_asset(ds.snapshot, pipeline.layer, ds.comment, target))
            continue
        if ds.kind in ("streaming_table", "sink") and not ds.flows and ds.func is None:
            continue  # declared, waiting for its flow (apply_changes or append_flow)
        defn = pipeline.table_definition(ds)
        event_log.register(defn.key, target, ds.name)
        assets.append(build_table_asset(defn, engine))
    keys = {k for a in assets if isinstance(a, dg.AssetsDefinition) for k in a.keys}
    from mlplatform.monitoring.table_health.checks import build_table_quality, delta_tables

    tables = delta_tables(a for a in assets if isinstance(a, dg.AssetsDefinition))
    quality = [build_table_quality(tables, own_table=False)[0]] if tables else []
    return dg.Definitions(
        assets=assets,
        asset_checks=quality,
        sensors=update_sensors(pipeline.layer.replace("/", "__"), keys, target),
        resources={
            "lakehouse": LakehouseResource(),
            "pyspark": PySparkResource(spark_config=spark_config() | pipeline.configuration),
        },
        executor=dg.in_process_executor,
    )
