"""A project's registered models and experiments in MLflow: the observable asset of each model,
and what `bundle deploy` creates and `bundle destroy` removes.

Deploy creates a registered model (description: its `comment`, tags naming the project and
target) and sets its `aliases` on versions that exist; it creates each experiment. Destroy removes
only what deploy created, and never data: a model that holds versions or an experiment that holds
runs is kept unless `--delete-data` is given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from mlplatform.project.model import Experiment, Project, RegisteredModel
from mlplatform.settings import Settings

PROJECT_TAG = "mlplatform.project"
TARGET_TAG = "mlplatform.target"


def model_key(model: RegisteredModel) -> dg.AssetKey:
    """A registered model's asset key: its registry name's parts (`catalog/schema/name`)."""
    return dg.AssetKey(model.full_name.split("."))


def client(settings: Settings):
    """An MLflow client of the settings' tracking store and registry (created if missing)."""
    from mlflow import MlflowClient

    if not settings.tracking_uri_override:
        from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

        db = settings.mlflow_dir / "mlflow.db"
        if not db.exists():
            db.parent.mkdir(parents=True, exist_ok=True)
            SqlAlchemyStore(settings.tracking_uri, settings.artifact_location).engine.dispose()
    return MlflowClient(tracking_uri=settings.tracking_uri, registry_uri=settings.tracking_uri)


def model_asset(model: RegisteredModel, project: Project, owners: list[str]):
    """An observable source asset of a registered model: each observation records the latest
    version (its data version) and the aliases."""
    from mlplatform.settings import get_settings

    pos = model.position
    refs = [dg.LocalFileCodeReference(file_path=str(pos.file), line_number=pos.line)] if pos else []

    spec = dg.AssetSpec(
        key=model_key(model),
        group_name=model.schema or "registered_models",
        description=model.comment or f"Registered model {model.full_name} of {project.name}.",
        kinds={"mlflow"},
        owners=owners,
        metadata={
            "registered_model": model.full_name,
            "dagster/uri": f"models:/{model.full_name}",
            "dagster/code_references": dg.CodeReferencesMetadataValue(code_references=refs),
        },
    )

    @dg.multi_observable_source_asset(specs=[spec], name=f"observe_{_op_name(model)}")
    def observe(context) -> dg.ObserveResult:
        from mlflow.exceptions import MlflowException

        mlflow_client = client(get_settings())
        try:
            found = mlflow_client.get_registered_model(model.full_name)
        except MlflowException:
            return dg.ObserveResult(
                asset_key=spec.key,
                data_version=dg.DataVersion("absent"),
                metadata={"registered": False, "hint": "run `mlplatform bundle deploy`"},
            )
        versions = mlflow_client.search_model_versions(f"name = '{model.full_name}'")
        latest = max((int(v.version) for v in versions), default=0)
        aliases = dict(sorted((found.aliases or {}).items()))
        return dg.ObserveResult(
            asset_key=spec.key,
            data_version=dg.DataVersion(str(latest)),
            metadata={
                "registered": True,
                "latest_version": latest,
                "aliases": dg.MetadataValue.json(aliases),
            },
        )

    return observe


def _op_name(model: RegisteredModel) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", model.full_name)


@dataclass
class RegistryChanges:
    """What a deploy created (so destroy removes only that) and what it reported."""

    models: list[str] = field(default_factory=list)
    experiments: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


def deploy_registry(project: Project, settings: Settings) -> RegistryChanges:
    """Create the project's registered models (with comment and aliases) and experiments."""
    from mlflow.exceptions import MlflowException

    mlflow_client = client(settings)
    done = RegistryChanges()
    tags = {PROJECT_TAG: project.name, TARGET_TAG: project.target.name}
    for model in project.registered_models.values():
        name = model.full_name
        try:
            mlflow_client.get_registered_model(name)
            mlflow_client.update_registered_model(name, description=model.comment or "")
            done.messages.append(f"registered model {name}: exists, description updated")
        except MlflowException:
            mlflow_client.create_registered_model(name, tags=tags, description=model.comment)
            done.models.append(name)
            done.messages.append(f"registered model {name}: created")
        for alias in model.aliases:
            try:
                mlflow_client.get_model_version(name, str(alias.version_num))
            except MlflowException:
                done.messages.append(
                    f"Warning: registered model {name}: alias {alias.alias_name!r} not set, "
                    f"version {alias.version_num} does not exist yet"
                )
                continue
            mlflow_client.set_registered_model_alias(name, alias.alias_name, alias.version_num)
            done.messages.append(
                f"registered model {name}: alias {alias.alias_name} -> {alias.version_num}"
            )
    for exp in project.experiments.values():
        found = mlflow_client.get_experiment_by_name(exp.name)
        if found is not None and found.lifecycle_stage == "deleted":
            mlflow_client.restore_experiment(found.experiment_id)
            done.experiments.append(exp.name)
            done.messages.append(f"experiment {exp.name}: restored")
            continue
        if found is not None:
            done.messages.append(f"experiment {exp.name}: exists")
            continue
        location = exp.artifact_location or _artifacts(settings, exp)
        mlflow_client.create_experiment(exp.name, location, tags | exp.tags)
        done.experiments.append(exp.name)
        done.messages.append(f"experiment {exp.name}: created")
    return done


def _artifacts(settings: Settings, exp: Experiment) -> str | None:
    if settings.tracking_uri.startswith(("http://", "https://", "databricks")):
        return None  # a tracking server decides where artifacts go
    safe = "_".join(p for p in Path(exp.name).parts if p not in ("/", ".."))
    return f"{settings.artifact_location}/experiments/{safe}"


def destroy_registry(
    models: list[str], experiments: list[str], settings: Settings, delete_data: bool
) -> list[str]:
    """Remove the models and experiments a deploy created; keep those that hold data (versions,
    runs) unless `delete_data`. Returns what was done, one line each."""
    from mlflow.exceptions import MlflowException

    mlflow_client = client(settings)
    lines = []
    for name in models:
        try:
            mlflow_client.get_registered_model(name)
        except MlflowException:
            continue  # already gone
        versions = mlflow_client.search_model_versions(f"name = '{name}'")
        if versions and not delete_data:
            lines.append(
                f"kept registered model {name}: it holds {len(versions)} version(s) "
                "(pass --delete-data to delete them)"
            )
            continue
        mlflow_client.delete_registered_model(name)
        lines.append(f"deleted registered model {name}")
    for name in experiments:
        found = mlflow_client.get_experiment_by_name(name)
        if found is None or found.lifecycle_stage == "deleted":
            continue
        runs = mlflow_client.search_runs([found.experiment_id], max_results=1)
        if runs and not delete_data:
            lines.append(f"kept experiment {name}: it holds runs (pass --delete-data)")
            continue
        mlflow_client.delete_experiment(found.experiment_id)
        lines.append(f"deleted experiment {name}")
    return lines
