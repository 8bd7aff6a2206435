"""`online/customer_ml_features`: the latest customer features in the online store, for serving.

Published from `gold/customer_ml_features_history` (its latest row per customer equals
`gold/customer_ml_features`) into the SQLite table `customer_ml_features` of
`$MLPLATFORM_HOME/online/features.db`, or the PostgreSQL database of
`MLPLATFORM_ONLINE_STORE_URI`. The published Delta version lives in the table
`mlplatform_online_versions` of the same database, written in the publish's transaction.
"""

import dagster as dg

from customer_churn.feature_assets import history_store
from customer_churn.history import CUSTOMER_FEATURES_HISTORY
from customer_churn.tables import CUSTOMER_ML_FEATURES_HISTORY, ONLINE_CUSTOMER_ML_FEATURES
from mlplatform.lakehouse.assets import table_pool
from mlplatform.lakehouse.resource import LakehouseResource
from mlplatform.settings import Settings

ONLINE = ONLINE_CUSTOMER_ML_FEATURES


def online_store(settings: Settings):
    from mlplatform.feature_store.online import OnlineStore

    return OnlineStore.from_settings(settings)


@dg.asset(
    key=ONLINE.asset_key,
    pool=table_pool(ONLINE.key),
    deps=[CUSTOMER_ML_FEATURES_HISTORY.asset_key],
    group_name="online",
    kinds={"sqlite", "postgres"},
    description="The latest feature row of every customer in the online store (SQLite by "
    "default, PostgreSQL with MLPLATFORM_ONLINE_STORE_URI): what the serving endpoint looks "
    "features up in. Publishes only the customers whose history rows changed since the "
    "published version; rows and version commit in one database transaction.",
    metadata={
        "dagster/table_name": ONLINE.table_name,
        "dagster/column_schema": CUSTOMER_FEATURES_HISTORY.column_schema(),
    },
)
def customer_ml_features_online(context: dg.AssetExecutionContext, lakehouse: LakehouseResource):
    """Publish the changed customers' latest rows and the history version they reflect."""
    from mlplatform.feature_store.publish import publish_latest

    store = online_store(lakehouse.settings)
    history = history_store(lakehouse.settings)
    run = publish_latest(store, ONLINE.name, history, "customer_id", "feature_timestamp")
    if run.mode == "no_source":
        context.log.warning(f"{ONLINE.key} not published: {run.reasons[0]}")
        context.log_event(
            dg.AssetObservation(asset_key=ONLINE.asset_key, metadata={"skipped": run.reasons[0]})
        )
        return
    context.log.info(f"{run.mode} publish of {run.keys_published} customers to {store.location}")
    yield dg.MaterializeResult(
        metadata={
            "online_store": store.location,
            "dagster/row_count": store.row_count(ONLINE.name) or 0,
            "publish": run.mode,
            "reasons": dg.MetadataValue.json(run.reasons),
            "keys_published": run.keys_published,
            "offline_version": run.offline_version,
            "published_before": dg.MetadataValue.null()
            if run.published_before is None
            else run.published_before,
        }
    )


@dg.asset_check(
    asset=ONLINE.asset_key,
    name="online_store_in_sync",
    description="The online store reflects the current version of the feature history "
    "(ERROR when it is behind after a publish; the lag in versions is in the metadata).",
)
def online_store_in_sync(lakehouse: LakehouseResource) -> dg.AssetCheckResult:
    store = online_store(lakehouse.settings)
    history = history_store(lakehouse.settings)
    offline = history.version()
    published = store.published_version(ONLINE.name)
    lag = None if offline is None else offline - (published if published is not None else -1)
    return dg.AssetCheckResult(
        passed=offline is None or lag == 0,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "offline_version": dg.MetadataValue.null() if offline is None else offline,
            "published_version": dg.MetadataValue.null() if published is None else published,
            "lag_versions": dg.MetadataValue.null() if lag is None else lag,
            "online_store": store.location,
        },
    )


online_assets = [customer_ml_features_online]
online_checks = [online_store_in_sync]
