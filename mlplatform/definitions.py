"""The one Definitions object: assets, checks, jobs, sensors, schedules and resources."""

from __future__ import annotations

import gc
import sys
import warnings

import dagster as dg

from mlplatform.catalog import INFERENCE, PAYLOAD
from mlplatform.customers.assets import table_assets
from mlplatform.customers.feature_assets import feature_store_assets
from mlplatform.customers.online_assets import online_assets, online_checks
from mlplatform.customers.sensors import build_file_arrival_sensor
from mlplatform.demo_monitor import monitoring_definitions
from mlplatform.front_door import warn_on_load
from mlplatform.lakehouse.engines.spark_resource import PySparkResource
from mlplatform.lakehouse.engines.spark_session import spark_config
from mlplatform.lakehouse.resource import LakehouseResource
from mlplatform.monitoring.table_health.checks import (
    build_table_quality,
    delta_tables,
    with_freshness,
)
from mlplatform.serving.assets import serving_assets
from mlplatform.settings import SettingsError, get_settings
from mlplatform.settings.variables import ENV
from mlplatform.training.assets import churn_model, churn_model_evaluation
from mlplatform.training.checks import churn_model_checks
from mlplatform.training.jobs import ml_training_job, promote_model_job
from mlplatform.training.schedules import ml_training_daily
from mlplatform.training.sensors import promote_model_sensor
from mlplatform.training.tracking import MlflowResource


def platform_resources() -> dict:
    """The resources of the graph, the same keys and types in every environment.

    Their unset fields take the environment's values when a run or tick starts (see
    `LakehouseResource`, `MlflowResource`). Staging and prod (`MLPLATFORM_ENV`) read the
    tracking server's token from `MLFLOW_TRACKING_TOKEN` (a Kubernetes secret in the deploy
    targets) as an `EnvVar`, resolved in the run: it is never part of the config the UI shows.
    """
    lakehouse = LakehouseResource()
    # a deployed environment's tracking server takes a token; dev's embedded store none
    deployed = ENV.value() != "dev"
    token = dg.EnvVar("MLFLOW_TRACKING_TOKEN") if deployed else None
    return {
        "lakehouse": lakehouse,
        "mlflow": MlflowResource(lakehouse=lakehouse, tracking_token=token),
        "pyspark": PySparkResource(spark_config=spark_config()),
    }


feature_pipeline_job = dg.define_asset_job(
    "feature_pipeline_job",
    selection=dg.AssetSelection.groups("bronze", "silver", "gold", "online"),
    description="Ingest new landing files, refresh the silver and gold tables and publish the "
    "online features.",
    tags={"mlplatform/pipeline": "features"},
)

# cross-domain wiring: the demo monitor's drift sensor launches training's job
_monitoring = monitoring_definitions(ml_training_job)
monitoring_assets = list(_monitoring.assets)
monitoring_checks = list(_monitoring.asset_checks)
monitoring_jobs, monitoring_schedules = list(_monitoring.jobs), list(_monitoring.schedules)
(drift_retrain_sensor,) = _monitoring.sensors
del _monitoring  # one Definitions object at module scope (dagster's loader requires it)

automation_condition_sensor = dg.AutomationConditionSensorDefinition(
    "automation_condition_sensor",
    # every materializable asset, and the payload table (a source asset it observes)
    target=dg.AssetSelection.all() | dg.AssetSelection.assets(PAYLOAD.asset_key),
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Runs the assets' declarative automation: observes the payload table, refreshes "
    "the inference and monitoring tables hourly (`on_cron`) when their inputs changed.",
)

# One-shot command processes (a CLI materialization, a run or step worker) exit right after the
# run: the objects made by importing dagster and these definitions live until then, so they are
# moved out of the cyclic collector's view. Collections during the run skip them, and the exit
# no longer walks them (about 0.6 s of every `dagster asset materialize`). Long-lived processes
# (code servers, the webserver, the daemon) reload definitions and keep the default.
_ONE_SHOT = {
    ("asset", "materialize"),
    ("job", "execute"),
    ("api", "execute_run"),
    ("api", "execute_step"),
}
_one_shot = tuple(sys.argv[1:3]) in _ONE_SHOT

try:
    warn_on_load(get_settings().home)
except SettingsError:
    pass  # a bad setting is reported, naming the variable, when a run or tick reads it

# freshness and completeness checks on every Delta table; hourly freshness where a job sets it
table_quality_checks, table_quality = build_table_quality(
    delta_tables([*table_assets, *feature_store_assets, *serving_assets, *monitoring_assets])
)
monitoring_assets = with_freshness(monitoring_assets, [a.key for a in monitoring_assets])
serving_assets = with_freshness(serving_assets, [INFERENCE.asset_key])

all_assets = [
    *table_assets,
    *feature_store_assets,
    *online_assets,
    churn_model,
    churn_model_evaluation,
    *serving_assets,
    *monitoring_assets,
    table_quality,
]
if not _one_shot:
    # Links from each asset to the code that defines it, for the UI. Reading the sources takes
    # tens of milliseconds, which one-shot run processes skip: no run looks at them.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)  # code references are beta in 1.13
        all_assets = dg.with_source_code_references(all_assets)

defs = dg.Definitions(
    assets=all_assets,
    asset_checks=[
        churn_model_checks,
        *monitoring_checks,
        *online_checks,
        table_quality_checks,
    ],
    jobs=[feature_pipeline_job, ml_training_job, promote_model_job, *monitoring_jobs],
    schedules=[ml_training_daily, *monitoring_schedules],
    sensors=[
        build_file_arrival_sensor(feature_pipeline_job),
        promote_model_sensor,
        drift_retrain_sensor,
        automation_condition_sensor,
    ],
    resources=platform_resources(),
    executor=dg.in_process_executor,
)

if _one_shot:
    gc.freeze()
