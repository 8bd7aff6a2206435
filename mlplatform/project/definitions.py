"""A project as Dagster definitions: one code location per project and target.

`project_definitions(project)` builds them from the project model, whichever face declared it
(the bundle YAML, the `mlplatform.Bundle` component, the Python API):

- `pipelines`: the pipeline machinery of `mlplatform.pipelines` (one asset per stored dataset
  under the pipeline's `catalog`/`schema`, expectation checks, the event log);
- `registered_models`: an observable source asset each (key: the registry name's parts);
- `experiments`: nothing at run time (`bundle deploy` creates them);
- `jobs`: a Dagster job each, with its schedule and triggers (`mlplatform.jobs`);
- `quality_monitors`: the metric tables' asset, checks, refresh job and schedule
  (`mlplatform.monitoring.monitor_definitions`);
- `python.resources`: more resources, and Definitions merged in;
- `model_serving_endpoints`: a "not yet supported" warning.

Every asset carries kinds, owners (the project's, else `team:<bundle name>`), a description, its
column schema where the code declares one, and a code reference to the file that declares it.
Asset keys are prefixed by nothing but the catalog and schema names the project declares, so two
projects side by side share nothing unless they declare the same names: that is refused
(`ProjectCollisionError`), naming both projects and the name.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path

import dagster as dg

from mlplatform.monitoring.monitor_defs import monitor_definitions
from mlplatform.project.automation import continuous_sensor
from mlplatform.project.model import Project
from mlplatform.project.pipelines import LoadedProjectPipeline, load_pipeline, where
from mlplatform.project.python_api import apply_python_resources
from mlplatform.project.registry import model_asset

NOT_YET = {
    "model_serving_endpoints": "model serving endpoints are not yet supported by mlplatform "
    "(they come with the serving-endpoints issue)",
}


class ProjectCollisionError(ValueError):
    """Two projects (or two resources of one) declare the same asset key or registry name."""


def load_project(path: str | Path, target: str | None = None, variables=None) -> Project:
    """The project of the bundle in `path` resolved for `target` (the bundle reader's seam)."""
    from mlplatform.project.bundle import load_project as read_bundle

    return read_bundle(Path(path), target, dict(variables or {}))


def owners_of(project: Project) -> list[str]:
    """The Dagster owners of the project's assets."""
    if project.owners:
        return list(project.owners)
    team = re.sub(r"[^A-Za-z0-9_-]+", "_", project.name).strip("_") or "project"
    return [f"team:{team}"]


def unsupported(project: Project) -> list[str]:
    """One warning per resource the definitions leave out, naming it."""
    lines = []
    for kind, why in NOT_YET.items():
        for key in getattr(project, kind):
            lines.append(f"resources.{kind}.{key}: {why}; skipped")
    return lines


def _pipeline_defs(project: Project, loaded: LoadedProjectPipeline) -> dg.Definitions:
    owners = owners_of(project)
    resource = loaded.resource

    def enrich(spec: dg.AssetSpec) -> dg.AssetSpec:
        name = spec.key.path[-1]
        file, line = loaded.declared_in.get(name, (None, None))
        if file is None and resource.position is not None:
            file, line = resource.position.file, resource.position.line
        metadata = {
            "mlplatform/project": project.name,
            "mlplatform/pipeline": resource.key,
            "mlplatform/development": resource.development,
        }
        if file is not None:
            ref = dg.LocalFileCodeReference(file_path=str(file), line_number=line)
            metadata["dagster/code_references"] = dg.CodeReferencesMetadataValue(
                code_references=[ref]
            )
        description = spec.description or (
            f"Dataset {name} of pipeline {resource.key} (project {project.name})."
        )
        return spec.replace_attributes(
            owners=list(spec.owners) or owners, description=description
        ).merge_attributes(metadata=metadata)

    defs = loaded.pipeline.definitions().map_asset_specs(func=enrich)
    if not resource.continuous:
        return defs
    keys = [k for a in defs.assets or () if isinstance(a, dg.AssetsDefinition) for k in a.keys]
    sensor = continuous_sensor(project, resource, loaded.pipeline.schema, keys)
    return dg.Definitions.merge(defs, dg.Definitions(sensors=[sensor]))


def _keys(defs: dg.Definitions) -> list[dg.AssetKey]:
    keys = []
    for asset in defs.assets or ():
        if isinstance(asset, dg.AssetsDefinition):
            keys += list(asset.keys)
        elif isinstance(asset, (dg.AssetSpec, dg.SourceAsset)):
            keys.append(asset.key)
    return keys


def _claim(claimed: dict[str, str], name: str, owner: str) -> None:
    other = claimed.get(name)
    if other is not None and other != owner:
        raise ProjectCollisionError(
            f"{owner} declares {name}, which {other} declares too: give one of them another "
            "catalog or schema (or name)"
        )
    claimed[name] = owner


def combine(parts: Iterable[dg.Definitions]) -> dg.Definitions:
    """One Definitions from parts: one lakehouse and one Spark session (whose settings are the
    union of the pipelines' `spark.*` configuration); other resources as the parts bind them."""
    from mlplatform.lakehouse.engines.spark_resource import PySparkResource
    from mlplatform.lakehouse.engines.spark_session import spark_config
    from mlplatform.lakehouse.resource import LakehouseResource

    assets, checks, sensors, schedules, jobs = [], [], [], [], []
    resources: dict[str, object] = {}
    spark: dict[str, str] = {}
    base = spark_config()
    for part in parts:
        assets += list(part.assets or ())
        checks += list(part.asset_checks or ())
        sensors += list(part.sensors or ())
        schedules += list(part.schedules or ())
        jobs += list(part.jobs or ())
        for name, value in (part.resources or {}).items():
            if name == "pyspark" and isinstance(value, PySparkResource):
                _spark_settings(spark, base, value)
            elif name != "lakehouse" or not isinstance(value, LakehouseResource):
                if name in resources and resources[name] is not value:
                    raise ProjectCollisionError(f"two definitions bind the resource {name!r}")
                resources[name] = value
    resources.setdefault("lakehouse", LakehouseResource())
    resources.setdefault("pyspark", PySparkResource(spark_config=base | spark))
    return dg.Definitions(
        assets=assets,
        asset_checks=checks,
        sensors=sensors,
        schedules=schedules,
        jobs=jobs,
        resources=resources,
        executor=dg.in_process_executor,
    )


def _spark_settings(spark: dict[str, str], base: dict, session) -> None:
    for key, value in dict(session.spark_config or {}).items():
        if not key.startswith("spark."):
            continue  # a pipeline setting: its code reads it through spark.conf.get
        if key in base and str(base[key]) == str(value):
            continue
        if key in spark and spark[key] != str(value):
            raise ProjectCollisionError(
                f"two pipelines set the Spark setting {key} to {spark[key]!r} and {value!r}"
            )
        spark[key] = str(value)


def build(project: Project) -> tuple[list[dg.Definitions], dict[str, str]]:
    """The parts of the project's Definitions, and every name it claims (asset keys, registry
    names) with the resource that claims it."""
    project, extra = apply_python_resources(project)
    for line in unsupported(project):
        warnings.warn(line, UserWarning, stacklevel=3)
    with warnings.catch_warnings():  # dagster's beta/preview notes on the APIs used here
        warnings.simplefilter("ignore", dg.BetaWarning)
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return _build(project, extra)


def _build(project: Project, extra: list[dg.Definitions]):
    claimed: dict[str, str] = {}
    who = f"project {project.name!r} (target {project.target.name})"
    parts = []
    for resource in project.pipelines.values():
        part = _pipeline_defs(project, load_pipeline(project, resource))
        for key in _keys(part):
            _claim(claimed, f"asset key {key.to_user_string()}", f"{who} {where(resource)}")
        parts.append(part)
    owners = owners_of(project)
    models = []
    for model in project.registered_models.values():
        at = f"{who} resources.registered_models.{model.key}"
        asset = model_asset(model, project, owners)
        for key in asset.keys:
            _claim(claimed, f"asset key {key.to_user_string()}", at)
        _claim(claimed, f"registered model {model.full_name}", at)
        models.append(asset)
    for exp in project.experiments.values():
        _claim(claimed, f"experiment {exp.name}", f"{who} resources.experiments.{exp.key}")
    for key, settings in project.jobs.items():
        at = f"{who} {_position(project, f'resources.jobs.{key}')}"
        # job names are per code location (each project deploys its own), so not claimed
        parts.append(_job_defs(project, key, settings, at))
    for monitor in project.quality_monitors.values():
        at = f"{who} resources.quality_monitors.{monitor.key}"
        part = monitor_definitions(monitor)
        for key in _keys(part):
            _claim(claimed, f"asset key {key.to_user_string()}", at)
        parts.append(part)
    for more in extra:
        for key in _keys(more):
            _claim(claimed, f"asset key {key.to_user_string()}", f"{who} python.resources")
    return [*parts, dg.Definitions(assets=models), *extra], claimed


def _position(project: Project, key: str) -> str:
    pos = project.positions.get(key) if project.positions else None
    return f"{pos.file}:{pos.line}: {key}" if pos else key


def _job_defs(project: Project, key: str, settings: dict, at: str) -> dg.Definitions:
    """A job of the project: its Jobs API settings read into the one job model; relative
    notebook and file paths start from the project folder. The Dagster job is named by the
    resource key (the job's `name` may carry development mode's `[dev user] ` prefix)."""
    from mlplatform.jobs import load_job
    from mlplatform.jobs.definitions import job_definitions

    job = load_job(settings, at)
    return job_definitions(
        job, project.root, development=project.target.mode == "development", name=key
    )


def project_definitions(project: Project) -> dg.Definitions:
    """The Dagster definitions of one project for its target."""
    return combine(build(project)[0])


def check_claims(claimed: Mapping[str, str], others: Mapping[str, str]) -> None:
    """Refuse a name of one project (`claimed`: name -> who) that other projects claim."""
    for name, owner in claimed.items():
        if name in others:
            raise ProjectCollisionError(
                f"{owner} declares {name}, which {others[name]} declares too: give one of them "
                "another catalog or schema (or name)"
            )


def projects_definitions(projects: Iterable[Project]) -> dg.Definitions:
    """Several projects side by side in one Definitions; a shared name is refused."""
    claimed: dict[str, str] = {}
    parts: list[dg.Definitions] = []
    for project in projects:
        more, names = build(project)
        check_claims(names, claimed)
        claimed |= names
        parts += more
    return combine(parts)


def load_definitions(
    path: str | Path, target: str | None = None, variables: Mapping[str, str] | None = None
) -> dg.Definitions:
    """The definitions of the bundle in `path` for `target` (a code location's `defs`)."""
    return project_definitions(load_project(path, target, variables))
