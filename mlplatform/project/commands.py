"""`mlplatform bundle deploy|run|destroy`, the Databricks CLI's verbs on a project.

The bundle is the one of `--project-dir` (default: the current folder, or the nearest folder
above it holding a bundle file); `-t/--target` picks the target (default: the bundle's default),
`--var k=v` sets variables.

- `deploy`: a development target is the local instance: the project's code location is
  registered in `$MLPLATFORM_HOME/workspace.yaml` (`dagster dev -w` shows it) and its registered
  models and experiments are created in MLflow. `staging` and `prod` render and apply `deploy/`
  as `mlplatform deploy --target` does.
- `run KEY`: one update of a pipeline through Dagster; prints the run id and the result.
- `destroy`: removes what deploy registered; data (tables, model versions, runs) only with
  `--delete-data`.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import click

from mlplatform.project.cli import project_option, target_option, var_option

RENDERED_TARGETS = ("staging", "prod")


def _load(project_dir: Path, target: str | None, var_options: tuple[str, ...]):
    from mlplatform.project.cli import load_or_exit
    from mlplatform.project.definitions import unsupported

    project = load_or_exit(project_dir, target, var_options)
    for warning in project.warnings:
        click.echo(f"{warning}\n", err=True)
    for line in unsupported(project):
        click.echo(f"Warning: {line}", err=True)
    warnings.filterwarnings(
        "ignore", message=r"resources\.\w+\.\S+: .* not yet", category=UserWarning
    )
    return project


def _pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    found = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not name:
            raise click.UsageError(f"{option} {value!r}: write it as name=value")
        found[name] = text
    return found


def _variables(var_options: tuple[str, ...]) -> dict[str, str]:
    from mlplatform.project.bundle import parse_var_options

    return parse_var_options(var_options)


def _project_errors() -> tuple[type[Exception], ...]:
    from mlplatform.dlt.analysis import DltDefinitionError
    from mlplatform.project.definitions import ProjectCollisionError
    from mlplatform.project.python_api import PythonResourcesError

    return (DltDefinitionError, ProjectCollisionError, PythonResourcesError)


def _settings():
    from mlplatform.instance import ensure_dagster_home
    from mlplatform.settings import get_settings

    settings = get_settings()
    os.environ.setdefault("DAGSTER_HOME", str(ensure_dagster_home(settings)))
    return settings


def _local(project) -> bool:
    return project.target.mode != "production" and project.target.name not in RENDERED_TARGETS


@click.command("deploy")
@project_option
@target_option
@var_option
@click.option("--dry-run", is_flag=True, help="staging/prod: render and validate only.")
@click.option("--image-tag", default=None, help="staging/prod: the image tag (default: git HEAD).")
def deploy_command(project_dir, target, var_options, dry_run, image_tag) -> None:
    """Deploy the bundle to TARGET: a development target registers the project's code location
    in the local workspace and creates its registered models and experiments."""
    project = _load(project_dir, target, var_options)
    if not _local(project):
        _render(project, dry_run, image_tag)
        return
    from mlplatform.project.deploy import deploy_locally

    settings = _settings()
    try:
        lines = deploy_locally(project, _variables(var_options), settings)
    except _project_errors() as err:
        raise click.ClickException(str(err)) from err
    for line in lines:
        click.echo(line)


def _render(project, dry_run: bool, image_tag: str | None) -> None:
    from mlplatform.deployment.errors import DeployError
    from mlplatform.project.image import ImageError, deploy_image

    if project.target.name not in RENDERED_TARGETS:
        raise click.ClickException(
            f"target {project.target.name!r} (mode production): only the targets "
            f"{', '.join(RENDERED_TARGETS)} render deploy/ manifests today"
        )
    try:
        result = deploy_image(project, image_tag, None, dry_run)
    except (DeployError, ImageError) as err:
        raise click.ClickException(str(err)) from err
    for warning in result.warnings:
        click.echo(f"Warning: {warning}", err=True)
    manifest = result.manifest
    click.echo(
        f"target {manifest['target']} (mode {manifest['mode']}): image {manifest['image']}, "
        f"release {manifest['release']} in namespace {manifest['namespace']}"
    )
    for path in result.paths:
        click.echo(f"  wrote {path}")
    if result.applied:
        click.echo(f"applied: {' '.join(manifest['helm_command'])}")
    else:
        click.echo(f"dry run: nothing applied; to apply: {' '.join(manifest['helm_command'])}")


@click.command("run")
@project_option
@target_option
@var_option
@click.argument("key")
@click.option("--params", multiple=True, metavar="K=V", help="Pipeline configuration values.")
@click.option("--full-refresh-all", is_flag=True, help="Reset and recompute every dataset.")
@click.option("--full-refresh", "full_refresh", help="Datasets to reset and recompute: A,B.")
@click.option("--refresh", help="Datasets to update (default: all): A,B.")
def run_command(
    project_dir, target, var_options, key, params, full_refresh_all, full_refresh, refresh
) -> None:
    """Run the resource KEY: one update of a pipeline, through Dagster."""
    import dagster as dg

    from mlplatform.pipelines.update import run_update
    from mlplatform.project.pipelines import load_pipeline

    project = _load(project_dir, target, var_options)
    if key in project.jobs:
        raise click.ClickException(
            f"resources.jobs.{key}: `bundle run` of a job is not yet supported by mlplatform; "
            f"the deployed code location holds it as the Dagster job {key!r}, and "
            "`mlplatform jobs create` / `run-now` run its Jobs API JSON"
        )
    if key not in project.pipelines:
        known = ", ".join(sorted(project.pipelines)) or "none"
        raise click.ClickException(f"{key!r} is not a pipeline of the bundle (pipelines: {known})")
    if full_refresh_all and (full_refresh or refresh):
        raise click.UsageError("--full-refresh-all excludes --full-refresh and --refresh")
    _settings()
    try:
        loaded = load_pipeline(project, project.pipelines[key], _pairs(params, "--params"))
    except _project_errors() as err:
        raise click.ClickException(str(err)) from err
    with dg.DagsterInstance.get() as instance:
        result = run_update(
            loaded.pipeline,
            instance,
            full_refresh_all=full_refresh_all,
            full_refresh=_names(full_refresh),
            refresh=_names(refresh),
        )
    click.echo(f"run {result.run_id}: update of pipeline {key} ({project.target.name})")
    for line in result.lines:
        click.echo(line)
    if not result.success:
        raise click.ClickException(f"update {result.run_id} failed: {result.error}")
    click.echo(f"update {result.run_id} completed")


def _names(value: str | None) -> list[str]:
    return [n.strip() for n in (value or "").split(",") if n.strip()]


@click.command("destroy")
@project_option
@target_option
@var_option
@click.option("--auto-approve", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--delete-data", is_flag=True, help="Also delete the tables, model versions and runs."
)
def destroy_command(project_dir, target, var_options, auto_approve, delete_data) -> None:
    """Remove what `bundle deploy` registered for TARGET; data only with --delete-data."""
    from mlplatform.project.deploy import destroy_locally, find_deployment

    project = _load(project_dir, target, var_options)
    settings = _settings()
    deployment = find_deployment(project, settings)
    if deployment is None:
        click.echo(f"nothing to destroy: {project.name} ({project.target.name}) is not deployed")
        return
    what = "its registration, tables and model versions" if delete_data else "its registration"
    if not auto_approve:
        if not sys.stdin.isatty():
            raise click.ClickException(
                "destroy asks for confirmation: pass --auto-approve to run it non-interactively"
            )
        click.confirm(f"Destroy {deployment.location} ({what})?", abort=True)
    for line in destroy_locally(deployment, settings, delete_data):
        click.echo(line)


BUNDLE_COMMANDS = (deploy_command, run_command, destroy_command)
"""Added to bundle-load's `bundle` group (`mlplatform.project.cli.bundle_group`)."""
