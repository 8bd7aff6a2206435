"""The one Definitions object: the project's definitions (`MLPLATFORM_PROJECT`, default the demo
under `examples/`) with what the platform adds across them: resources, monitoring, table-quality
checks, freshness policies, the automation sensor, the executor."""

from __future__ import annotations

import gc
import sys
import warnings

import dagster as dg

from mlplatform.catalog import INFERENCE
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
from mlplatform.project_loading import default_model, project_definitions, read_project
from mlplatform.settings import SettingsError, get_settings
from mlplatform.settings.variables import ENV
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


project = read_project()
project_defs = project_definitions(project)
"""The project's own definitions (its pipelines, feature store, models, serving tables)."""


def _training_job(defs: dg.Definitions, model: str):
    """The project's training job of the registered model `model` (from its model asset)."""
    for asset in defs.assets or ():
        for spec in getattr(asset, "specs", ()):
            if spec.metadata.get("mlplatform/registered_model") == model:
                name = spec.metadata["mlplatform/training_job"]
                return next(j for j in defs.jobs if j.name == name)
    raise LookupError(f"project {project.name} declares no model {model!r}")


def _observed(defs: dg.Definitions) -> list[dg.AssetKey]:
    """The keys of the project's observed source assets (the models' payload tables)."""
    return [
        spec.key
        for asset in defs.assets or ()
        if not getattr(asset, "is_materializable", True)
        for spec in getattr(asset, "specs", ())
    ]


# cross-domain wiring: the demo monitor's drift sensor launches the default model's training
# job (until the project's quality_monitors are built from its bundle)
_monitoring = monitoring_definitions(_training_job(project_defs, default_model(project)))
monitoring_assets = list(_monitoring.assets)
monitoring_checks = list(_monitoring.asset_checks)
monitoring_jobs, monitoring_schedules = list(_monitoring.jobs), list(_monitoring.schedules)
(drift_retrain_sensor,) = _monitoring.sensors
del _monitoring  # one Definitions object at module scope (dagster's loader requires it)

automation_condition_sensor = dg.AutomationConditionSensorDefinition(
    "automation_condition_sensor",
    # every materializable asset, and the payload table (a source asset it observes)
    target=dg.AssetSelection.all() | dg.AssetSelection.assets(*_observed(project_defs)),
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Runs the assets' declarative automation: observes the payload tables, refreshes "
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

project_assets = list(project_defs.assets or ())

# freshness and completeness checks on every Delta table; hourly freshness where a job sets it
table_quality_checks, table_quality = build_table_quality(
    delta_tables([*project_assets, *monitoring_assets])
)
monitoring_assets = with_freshness(monitoring_assets, [a.key for a in monitoring_assets])
inference_keys = [
    s.key
    for a in project_assets
    for s in getattr(a, "specs", ())
    if s.key.path[0] == INFERENCE.layer and s.key.path[-1].endswith("_inference")
]
project_assets = with_freshness(project_assets, inference_keys)

all_assets = [*project_assets, *monitoring_assets, table_quality]
if not _one_shot:
    # Links from each asset to the code that defines it, for the UI. Reading the sources takes
    # tens of milliseconds, which one-shot run processes skip: no run looks at them.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)  # code references are beta in 1.13
        all_assets = dg.with_source_code_references(all_assets)

defs = dg.Definitions(
    assets=all_assets,
    asset_checks=[*(project_defs.asset_checks or ()), *monitoring_checks, table_quality_checks],
    jobs=[*(project_defs.jobs or ()), *monitoring_jobs],
    schedules=[*(project_defs.schedules or ()), *monitoring_schedules],
    sensors=[*(project_defs.sensors or ()), drift_retrain_sensor, automation_condition_sensor],
    resources=platform_resources(),
    executor=dg.in_process_executor,
)

del project_defs  # one Definitions object at module scope (`dagster -m` requires it)

if _one_shot:
    gc.freeze()
