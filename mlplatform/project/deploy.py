"""`bundle deploy` and `bundle destroy` on the local instance (a development target).

Deploy builds the project's definitions first (a project that does not load is not
registered), refuses a name another deployed project claims, creates the registered models and
experiments, then registers the code location. Destroy undoes exactly that; with `delete_data`
it also deletes the pipelines' tables (and their ledgers) and the model versions and runs.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg

from mlplatform.project import workspace
from mlplatform.project.definitions import build, check_claims, combine
from mlplatform.project.model import Project
from mlplatform.project.registry import deploy_registry, destroy_registry
from mlplatform.settings import Settings


def _tables(defs: dg.Definitions) -> list[str]:
    tables = []
    for asset in defs.assets or ():
        specs = asset.specs if isinstance(asset, dg.AssetsDefinition) else [asset]
        for spec in specs:
            if "deltalake" in (getattr(spec, "kinds", None) or set()):
                tables.append("/".join(spec.key.path))
    return sorted(tables)


def find_deployment(project: Project, settings: Settings) -> workspace.Deployment | None:
    """The registered deployment of the project's target, if any."""
    name = workspace.location_name(project)
    return next((d for d in workspace.deployments(settings) if d.location == name), None)


def deploy_locally(project: Project, variables: dict, settings: Settings) -> list[str]:
    """Register the project's target in the local workspace; returns what it did, by line."""
    location = workspace.location_name(project)
    parts, claims = build(project)
    defs = combine(parts)
    others = {}
    for other in workspace.deployments(settings):
        if other.location != location:
            others |= other.claims
    check_claims(claims, others)
    previous = find_deployment(project, settings)
    changes = deploy_registry(project, settings)
    deployment = workspace.Deployment(
        location=location,
        project=project.name,
        target=project.target.name,
        root=str(project.root),
        variables=dict(variables),
        claims=claims,
        models=sorted(set(changes.models) | set(previous.models if previous else [])),
        experiments=sorted(
            set(changes.experiments) | set(previous.experiments if previous else [])
        ),
        tables=_tables(defs),
    )
    path = workspace.register(deployment, settings)
    lines = [f"deploying {project.name} to target {project.target.name} (local instance)"]
    lines += [f"  {m}" for m in changes.messages]
    lines += [f"  table {t}" for t in deployment.tables]
    lines.append(f"registered code location {location} ({path})")
    lines.append(f"run: dagster dev -w {workspace.workspace_file(settings)}")
    return lines


def destroy_locally(
    deployment: workspace.Deployment, settings: Settings, delete_data: bool
) -> list[str]:
    """Remove a deployment: its registry entries that hold no data, its code location, and
    with `delete_data` its tables, model versions and runs."""
    lines = destroy_registry(deployment.models, deployment.experiments, settings, delete_data)
    if delete_data:
        lines += _delete_tables(deployment.tables, settings)
    elif deployment.tables:
        lines.append(f"kept {len(deployment.tables)} table(s) (pass --delete-data to delete them)")
    workspace.unregister(deployment.location, settings)
    lines.append(f"removed code location {deployment.location}")
    return lines


def _delete_tables(tables: list[str], settings: Settings) -> list[str]:
    lines = []
    root = settings.lakehouse
    if not isinstance(root, Path):
        return [f"kept {len(tables)} table(s): deleting tables in an object store is not supported"]
    for table in tables:
        layer, _, name = table.rpartition("/")
        path = root / table
        if path.exists():
            shutil.rmtree(path)
            lines.append(f"deleted table {table}")
        ledgers = Path(settings.checkpoints) / layer
        for ledger in [ledgers / name, *ledgers.glob(f"{name}__*")]:
            if ledger.is_dir():
                shutil.rmtree(ledger)
            elif ledger.exists():
                ledger.unlink()
    return lines
