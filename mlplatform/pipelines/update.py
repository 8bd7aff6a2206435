"""One update of a pipeline, as ``mlplatform pipelines run`` starts it: a Dagster run of the
selected datasets (full refresh through each asset's ``full_refresh`` config), then the update's
final ``update_progress`` event."""

from __future__ import annotations

from dataclasses import dataclass, field

import click
import dagster as dg

from mlplatform.dlt.outputs import event_log_target
from mlplatform.dlt.pipeline import Pipeline
from mlplatform.lakehouse import event_log


@dataclass
class UpdateResult:
    run_id: str
    success: bool
    error: str | None = None
    lines: list[str] = field(default_factory=list)


def _selected(pipeline: Pipeline, assets: dict, names: list[str]) -> list[dg.AssetKey]:
    keys = []
    for name in names:
        ds = pipeline.datasets.get(name.split(".")[-1])
        key = dg.AssetKey((ds.sink or pipeline.key(ds.name)).split("/")) if ds else None
        if key not in assets:
            known = ", ".join(sorted(k.path[-1] for k in assets))
            raise click.UsageError(f"{name!r} is not a dataset of the pipeline (known: {known})")
        keys.append(key)
    return keys


def run_update(
    pipeline: Pipeline,
    instance: dg.DagsterInstance,
    full_refresh_all: bool = False,
    full_refresh: list[str] | None = None,
    refresh: list[str] | None = None,
) -> UpdateResult:
    defs = pipeline.definitions()
    assets = {}
    for asset in defs.assets:
        if isinstance(asset, dg.AssetsDefinition):
            for key in asset.keys:
                assets[key] = asset
    reset = list(assets) if full_refresh_all else _selected(pipeline, assets, full_refresh or [])
    chosen = _selected(pipeline, assets, refresh or []) + reset
    ops = {}
    for key in reset:
        ops[assets[key].op.name] = {"config": {"full_refresh": True}}
    result = dg.materialize(
        list({id(a): a for a in assets.values()}.values()),
        selection=chosen or None,
        resources=defs.resources,
        run_config={"ops": ops} if ops else None,
        instance=instance,
        raise_on_error=False,
        tags={"mlplatform/pipeline": pipeline.name},
    )
    failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    error = None
    if failures:
        error = "; ".join(
            f"{e.step_key}: {e.event_specific_data.error.message.strip()}" for e in failures
        )
    target = event_log_target(pipeline)
    event_log.finish_update(target, result.run_id, RuntimeError(error) if error else None)
    lines = [
        f"  {e.event_specific_data.materialization.asset_key.to_user_string()}: materialized"
        for e in result.get_asset_materialization_events()
    ]
    return UpdateResult(result.run_id, result.success, error, lines)
