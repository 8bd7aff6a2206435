"""The demo project as Dagster definitions, built only from mlplatform's public API.

`definitions(project)` is the entry the bundle's `python.resources` names: the medallion
pipeline (bronze, silver, gold), the feature history, the two training sets and the online
publish, the lifecycle of both models (`customer_churn.models`) and their serving tables.
"""

from __future__ import annotations

import dagster as dg

from customer_churn.assets import table_assets
from customer_churn.feature_assets import feature_store_assets
from customer_churn.models import MODELS
from customer_churn.online_assets import online_assets, online_checks
from customer_churn.sensors import build_file_arrival_sensor
from mlplatform.project.model import Project
from mlplatform.serving.assets import serving_assets
from mlplatform.serving.served import ServedModel
from mlplatform.training.definitions import lifecycle_definitions

feature_pipeline_job = dg.define_asset_job(
    "feature_pipeline_job",
    selection=dg.AssetSelection.groups("bronze", "silver", "gold", "online"),
    description="Ingest new landing files, refresh the silver and gold tables and publish the "
    "online features.",
    tags={"mlplatform/pipeline": "features"},
)


def definitions(project: Project) -> dg.Definitions:
    """The project's definitions (the project's name and target are not used yet)."""
    models = [lifecycle_definitions(lc).definitions() for lc in MODELS]
    served = [a for lc in MODELS for a in serving_assets(ServedModel.from_lifecycle(lc))]
    pipeline = dg.Definitions(
        assets=[*table_assets, *feature_store_assets, *online_assets, *served],
        asset_checks=online_checks,
        jobs=[feature_pipeline_job],
        sensors=[build_file_arrival_sensor(feature_pipeline_job)],
    )
    return dg.Definitions.merge(pipeline, *models)


DEMO_DATA = {
    "demo_data_command": "demo_data_command",
    "demo_data_present": "landing_has_files",
    "generate_demo_data": "generate",
}
"""What `mlplatform demo-data` and `mlplatform quickstart` take from the project, read on use
(the generator imports numpy, which loading the definitions does not need)."""


def __getattr__(name: str):
    if name in DEMO_DATA:
        from customer_churn import demo_data

        return getattr(demo_data, DEMO_DATA[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
