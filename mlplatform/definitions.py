"""The one Definitions object: assets, checks, jobs, sensors, schedules and resources."""

from __future__ import annotations

import dagster as dg

from mlplatform.features.assets import table_assets
from mlplatform.features.sensors import build_file_arrival_sensor

feature_pipeline_job = dg.define_asset_job(
    "feature_pipeline_job",
    selection=dg.AssetSelection.groups("bronze", "silver", "gold"),
    description="Ingest new landing files and refresh the silver and gold tables.",
    tags={"mlplatform/pipeline": "features"},
)

defs = dg.Definitions(
    assets=[*table_assets],
    jobs=[feature_pipeline_job],
    sensors=[build_file_arrival_sensor(feature_pipeline_job)],
    executor=dg.in_process_executor,
)
