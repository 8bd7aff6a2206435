"""The Dagster assets of an ``apply_changes`` target and of a snapshot CDC target."""

from functools import partial

import dagster as dg

from mlplatform.lakehouse import event_log
from mlplatform.lakehouse.engines.spark_resource import PySparkResource
from mlplatform.lakehouse.resource import LakehouseResource
from mlplatform.lakehouse.update.changes import ChangeRunner, ChangeSpec
from mlplatform.lakehouse.update.snapshot import SnapshotRunner, SnapshotSpec


class ChangesConfig(dg.Config):
    """Run options of an apply_changes target."""

    full_refresh: bool = False


def _log(target, context, dataset, flow_type, inputs, metrics=None, error=None, settings=None):
    if target is None:
        return
    definition = {"flow_type": flow_type, "input_datasets": inputs}
    event_log.record_flow(
        target, context.run_id, dataset, definition, metrics, error=error, settings=settings
    )


def view_frame(view, engine_name: str, settings, pyspark):
    """The whole change feed a view computes in this update, as a polars frame."""
    from mlplatform.lakehouse.engines import get_engine
    from mlplatform.lakehouse.update.runner import TableRunner
    from mlplatform.lakehouse.update.runs import UpstreamMissingError
    from mlplatform.lakehouse.update.snapshot import to_polars

    session = pyspark.spark_session if engine_name == "spark" else None
    engine = get_engine(engine_name, session)
    runner = TableRunner(view, settings, engine)
    frames = []
    for inp in view.upstream:
        store = runner.store_for(inp.key)
        if not store.exists():
            raise UpstreamMissingError(f"{view.key} reads {inp.key}, not materialized yet")
        frames.append(engine.read_table(store, store.version()))
    return to_polars(engine.run_function(view, frames, has_lineage=False))


def build_change_asset(
    spec: ChangeSpec, schema: str, comment: str = "", target=None, view=None
) -> dg.AssetsDefinition:
    """``view``: ``(definition, engine)`` when the source is a view computed in the update.
    ``schema`` is the pipeline's folder: ``schema`` or ``catalog/schema``."""
    deps = [dg.AssetKey([*schema.split("/"), spec.source])]
    if view is not None:
        deps = [dg.AssetKey(i.key.split("/")) for i in view[0].upstream]

    @dg.asset(
        key_prefix=schema.split("/"),
        name=spec.target,
        deps=deps,
        group_name=schema.split("/")[-1],
        kinds={"deltalake", "polars"},
        description=comment
        or f"{spec.target}: changes of {spec.source} applied as SCD type "
        f"{spec.stored_as_scd_type} (keys {spec.keys}, sequenced by {spec.sequence_by})",
    )
    def _changes(
        context: dg.AssetExecutionContext,
        config: ChangesConfig,
        lakehouse: LakehouseResource,
        pyspark: PySparkResource,  # the session of a view on spark (started when used)
    ) -> dg.MaterializeResult:
        inputs = [f"{schema}.{spec.source}".replace("/", ".")]
        log = partial(
            _log, target, context, spec.target, "AUTO_CDC", inputs, settings=lakehouse.settings
        )
        try:
            runner = ChangeRunner(spec, schema, lakehouse.settings)
            if view is not None:
                frame = view_frame(view[0], view[1], lakehouse.settings, pyspark)
                result = runner.run_frame(frame, full_refresh=config.full_refresh)
            else:
                result = runner.run(full_refresh=config.full_refresh)
        except Exception as err:
            log(error=err)
            raise
        metrics = {"num_output_rows": result["rows"], "num_upserted_rows": result["changes"]}
        log(metrics)
        context.log.info(f"applied {result['changes']} changes; {result['rows']} rows")
        return dg.MaterializeResult(
            metadata={
                "batch_id": result["batch_id"],
                "applied_changes": result["changes"],
                "dagster/row_count": result["rows"],
                "scd_type": spec.stored_as_scd_type,
            }
        )

    return _changes


def build_snapshot_asset(
    spec: SnapshotSpec, schema: str, comment: str = "", target=None
) -> dg.AssetsDefinition:
    from_table = isinstance(spec.source, str)
    source = spec.source if from_table else getattr(spec.source, "__name__", "snapshots")

    @dg.asset(
        key_prefix=schema.split("/"),
        name=spec.target,
        deps=[dg.AssetKey(spec.source.split("/"))] if from_table else [],
        group_name=schema.split("/")[-1],
        kinds={"deltalake", "polars"},
        description=comment
        or f"{spec.target}: snapshots of {source} applied as SCD type "
        f"{spec.stored_as_scd_type} (keys {spec.keys}); keys missing from a snapshot deleted",
    )
    def _snapshots(
        context: dg.AssetExecutionContext, config: ChangesConfig, lakehouse: LakehouseResource
    ) -> dg.MaterializeResult:
        inputs = [source.replace("/", ".")]
        log = partial(
            _log,
            target,
            context,
            spec.target,
            "AUTO_CDC_FROM_SNAPSHOT",
            inputs,
            settings=lakehouse.settings,
        )
        try:
            result = SnapshotRunner(spec, schema, lakehouse.settings).run(config.full_refresh)
        except Exception as err:
            log(error=err)
            raise
        metrics = {"num_output_rows": result["rows"], "num_upserted_rows": result["changes"]}
        log(metrics)
        context.log.info(f"applied snapshots {result['snapshots']}; {result['rows']} rows")
        return dg.MaterializeResult(
            metadata={
                "applied_snapshots": dg.MetadataValue.json(result["snapshots"]),
                "applied_changes": result["changes"],
                "dagster/row_count": result["rows"],
                "scd_type": spec.stored_as_scd_type,
            }
        )

    return _snapshots
