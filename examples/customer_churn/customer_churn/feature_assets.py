"""The feature store's customer assets: the feature history and the churn training set."""

import dagster as dg

from customer_churn import tables as catalog
from customer_churn.history import CUSTOMER_FEATURES_HISTORY, GRANULARITIES
from mlplatform.feature_store.timeseries import SeriesRefresh
from mlplatform.lakehouse.assets import table_pool
from mlplatform.lakehouse.delta import DeltaStore
from mlplatform.lakehouse.resource import LakehouseResource

HISTORY = catalog.CUSTOMER_ML_FEATURES_HISTORY
TRAINING_SET = catalog.CHURN_TRAINING_SET


class HistoryConfig(dg.Config):
    """Run options of the feature history."""

    granularity: str = "1 day"  # or "1 hour"; a change recomputes the table
    full_refresh: bool = False


def training_set_schema(label: str = "churned", label_doc: str = "") -> dg.TableSchema:
    """A training set's columns: the label row, the joined row's time and the features."""
    from customer_churn.tables import FEATURES

    COLUMNS = ["customer_id", "label_timestamp", label, "feature_timestamp", *FEATURES]  # noqa: N806
    declared = {f.name: f for f in CUSTOMER_FEATURES_HISTORY.features}
    fixed = {
        "customer_id": ("string", "the customer (lookup key)"),
        "label_timestamp": ("timestamp_ntz", "when the customer was observed"),
        "churned": ("tinyint", "1: the customer left within the following window"),
        "spend_30d": ("double", "what the customer spent in the 30 days after label_timestamp"),
        "feature_timestamp": ("timestamp_ntz", "the history row joined (null: none before)"),
        "recency_days": ("double", "days from last_event_at to label_timestamp"),
    }
    columns = []
    for name in COLUMNS:
        dtype, text = fixed.get(name) or (declared[name].dtype, declared[name].description)
        columns.append(dg.TableColumn(name, dtype, description=text))
    return dg.TableSchema(columns=columns)


def _meta(values: dict) -> dict:
    return {
        k: dg.MetadataValue.null()
        if v is None
        else dg.MetadataValue.json(v)
        if isinstance(v, dict | list)
        else v
        for k, v in values.items()
    }


def history_store(settings) -> DeltaStore:
    return HISTORY.store(settings)


def silver_store(settings) -> DeltaStore:
    return catalog.CLEANED_CUSTOMER_EVENTS.store(settings)


@dg.asset(
    key=HISTORY.asset_key,
    pool=table_pool(HISTORY.key),
    deps=[catalog.CLEANED_CUSTOMER_EVENTS.asset_key],
    group_name="gold",
    kinds={"deltalake", "polars"},
    description=CUSTOMER_FEATURES_HISTORY.description,
    metadata=CUSTOMER_FEATURES_HISTORY.metadata()
    | {"granularities": dg.MetadataValue.json(list(GRANULARITIES))},
)
def customer_ml_features_history(
    context: dg.AssetExecutionContext, config: HistoryConfig, lakehouse: LakehouseResource
):
    """Refresh the history from the silver rows appended since the version it consumed."""
    from customer_churn.history import series_spec
    from mlplatform.feature_store.timeseries import refresh_series

    settings = lakehouse.settings
    try:
        spec = series_spec(config.granularity)
    except ValueError as err:
        raise dg.Failure(description=str(err), allow_retries=False) from err
    target = history_store(settings)
    run: SeriesRefresh = refresh_series(
        target,
        silver_store(settings),
        spec,
        config.full_refresh,
        checkpoints=settings.checkpoints,
    )
    if run.mode == "no_source":
        context.log.warning(f"{HISTORY.key} not materialized: {run.reasons[0]}")
        context.log_event(
            dg.AssetObservation(asset_key=HISTORY.asset_key, metadata={"skipped": run.reasons[0]})
        )
        return
    untimed = 0
    if run.mode != "nothing_new":
        import polars as pl

        untimed = int(
            silver_store(settings)
            .scan(run.source_end)
            .select(pl.col("event_timestamp").is_null().sum())
            .collect()
            .item()
        )
    context.log.info(
        f"{run.mode} refresh: {run.keys_changed} customers, {run.rows_restated} rows restated"
    )
    yield dg.MaterializeResult(
        metadata=_meta(
            {
                "dagster/uri": str(target.path),
                "dagster/row_count": run.rows,
                "delta_version": run.version,
                "refresh": run.mode,
                "reasons": run.reasons,
                "batch_id": run.batch_id,
                "silver_versions": {
                    "start_exclusive": run.source_start_exclusive,
                    "end": run.source_end,
                },
                "silver_rows_read": run.source_rows_read,
                "keys_changed": run.keys_changed,
                "rows_restated": run.rows_restated,
                "events_without_timestamp": untimed,
                "granularity": spec.settings["granularity"],
            }
        )
    )


def training_set_asset(table, label: str, label_doc: str, deps, builder, doc: str):
    """The asset of one point-in-time training set table."""

    @dg.asset(
        key=table.asset_key,
        pool=table_pool(table.key),
        deps=deps,
        group_name="ml",
        kinds={"deltalake", "polars"},
        output_required=False,
        description=doc,
        metadata={
            "dagster/column_schema": training_set_schema(label, label_doc),
            "dagster/table_name": table.table_name,
        },
    )
    def training_set(context: dg.AssetExecutionContext, lakehouse: LakehouseResource):
        from customer_churn.churn_training_set import write

        settings = lakehouse.settings
        built = builder(settings)
        if built is None:
            reason = "no labels or no feature history yet"
            context.log.warning(f"{table.key} not materialized: {reason}")
            context.log_event(
                dg.AssetObservation(asset_key=table.asset_key, metadata={"skipped": reason})
            )
            return
        version = write(settings, built, table)
        yield dg.MaterializeResult(
            metadata=_meta(
                {
                    "dagster/uri": str(table.path(settings)),
                    "dagster/row_count": built.counts["rows"],
                    "delta_version": version,
                    "versions_read": built.versions,
                    "feature_spec": built.spec.to_dict(),
                    **built.counts,
                }
            )
        )

    return training_set


def _build_churn(settings):
    from customer_churn.churn_training_set import build

    return build(settings)


def _build_spend(settings):
    from customer_churn.spend_training_set import build

    return build(settings)


churn_training_set = training_set_asset(
    TRAINING_SET,
    "churned",
    "1: the customer left within the following window",
    [HISTORY.asset_key, catalog.RAW_CUSTOMER_LABELS.asset_key],
    _build_churn,
    "Churn labels with each customer's features as of the label time (point in time). One row "
    "per label row (`customer_id`, `label_timestamp`, `churned`), the `feature_timestamp` of the "
    "history row joined and the model's features; what `ml/churn_model` trains on and "
    "monitoring's baseline.",
)
spend_training_set = training_set_asset(
    catalog.SPEND_TRAINING_SET,
    "spend_30d",
    "what the customer spent in the 30 days after label_timestamp",
    [
        HISTORY.asset_key,
        catalog.RAW_CUSTOMER_LABELS.asset_key,
        catalog.CLEANED_CUSTOMER_EVENTS.asset_key,
    ],
    _build_spend,
    "Each observation's spend over the next 30 days (`spend_30d`, from the silver events) with "
    "the customer's features as of the observation time; what `ml/spend_model` trains on.",
)

feature_store_assets = [customer_ml_features_history, churn_training_set, spend_training_set]
