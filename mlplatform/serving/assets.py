"""A served model's tables as Dagster assets (group "serving"), built by `serving_assets`.

`serving/<model>_payload` is written by the scoring server, not by Dagster: it is an observable
source asset whose data version is the table's Delta version, observed every 15 minutes by the
automation condition sensor. The inference table `serving/<model>_inference` depends on it (and
on the labels) in the graph, is materialized incrementally from it, and refreshes hourly
(`on_cron`) once the payload table has a new version.
"""

import warnings

import dagster as dg

from mlplatform.lakehouse.assets import table_pool
from mlplatform.lakehouse.resource import LakehouseResource
from mlplatform.serving.inference import InferenceTable
from mlplatform.serving.served import ServedModel

OWNERS = ["team:ml-engineering"]
OBSERVE_CRON = "*/15 * * * *"
"""How often the automation sensor observes the payload table (its Delta version)."""
INFERENCE_CRON = "0 * * * *"
"""The inference table is refreshed hourly once the payload table has new requests."""


def serving_assets(served: ServedModel) -> list:
    """The payload (observed) and inference assets of one served model."""
    payload, inference = served.payload, served.inference

    def observe_payload(lakehouse: LakehouseResource) -> dg.ObserveResult:
        """Report the payload table's Delta version and row count."""
        store = payload.store(lakehouse.settings)
        if not store.exists():
            return dg.ObserveResult(
                data_version=dg.DataVersion("absent"),
                metadata={"dagster/row_count": 0, "exists": False},
            )
        table = store.table()
        version = table.version()
        return dg.ObserveResult(
            data_version=dg.DataVersion(str(version)),
            metadata={
                "dagster/uri": store.uri,
                "dagster/row_count": table.count(),
                "delta_version": version,
                "exists": True,
            },
        )

    spec = dg.AssetSpec(
        key=payload.asset_key,
        group_name=inference.layer,
        kinds={"deltalake", "fastapi"},
        owners=OWNERS,
        description=f"Every scoring request of `{served.name}`'s endpoint (`mlplatform serve "
        "--model`), answered or refused: request and client request ids, time, status, "
        "latency, request and response JSON, model name and version. Written by the server in "
        "batches; observed here every 15 minutes.",
        automation_condition=dg.AutomationCondition.cron_tick_passed(
            OBSERVE_CRON
        ).since_last_handled(),
        metadata=payload.catalog_metadata(),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)  # observable source assets are beta
        observed = dg.multi_observable_source_asset(specs=[spec], name=f"observe_{payload.name}")(
            observe_payload
        )

    labels = [served.labels_table.asset_key] if served.labels_table else []
    condition = dg.AutomationCondition.on_cron(INFERENCE_CRON)
    if labels:
        # new predictions drive it; labels that arrive alone are filled in by the next run
        condition = condition.ignore(dg.AssetSelection.assets(*labels))

    @dg.asset(
        key=inference.asset_key,
        pool=table_pool(inference.key),
        deps=[payload.asset_key, *labels],
        group_name=inference.layer,
        kinds={"deltalake", "polars"},
        owners=OWNERS,
        automation_condition=condition,
        description=f"One row per prediction `{served.name}` served: the request's identifiers "
        "and features as columns, the prediction, model version, time, request id, and the "
        "label that judges it once it is known. What monitoring reads.",
        metadata=inference.catalog_metadata(),
    )
    def inference_asset(
        context: dg.AssetExecutionContext, lakehouse: LakehouseResource
    ) -> dg.MaterializeResult:
        """Unpack the payload versions not yet consumed; fill labels that arrived since."""
        table = InferenceTable(lakehouse.settings, served)
        run = table.run()
        if run.unreadable_requests:
            context.log.warning(f"{run.unreadable_requests} logged requests could not be unpacked")
        target = table.target.table()
        return dg.MaterializeResult(
            metadata={
                "dagster/uri": str(table.target.path),
                "dagster/row_count": target.count(),
                "delta_version": target.version(),
                "batch_id": run.batch_id,
                "payload_versions": dg.MetadataValue.json(
                    {"start_exclusive": run.start_version, "end": run.end_version}
                ),
                "nothing_new": run.nothing_new,
                "requests_read": run.requests,
                "unpacked_requests": run.unpacked_requests,
                "failed_requests": run.failed_requests,
                "unreadable_requests": run.unreadable_requests,
                "rows_appended": run.rows_appended,
                "labels_filled": run.labels_filled,
                "ignored_columns": dg.MetadataValue.json(run.ignored_columns),
            }
        )

    return [observed, inference_asset]
