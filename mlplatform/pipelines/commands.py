"""``mlplatform pipelines run|dry-run``: mirror ``spark-pipelines run`` / ``dry-run`` on a spec."""

from __future__ import annotations

import os
from pathlib import Path

import click


def _names(value: str | None) -> list[str]:
    return [n.strip() for n in (value or "").split(",") if n.strip()]


def _load(spec: str | None):
    from mlplatform.dlt.analysis import DltDefinitionError
    from mlplatform.pipelines.graph import analyze
    from mlplatform.pipelines.spec import find_spec, load

    try:
        loaded = load(Path(spec) if spec else find_spec())
    except DltDefinitionError as err:
        raise click.ClickException(str(err)) from err
    return loaded, analyze(loaded.pipeline)


def _show(loaded, report) -> None:
    pipeline = loaded.pipeline
    click.echo(f"pipeline {pipeline.name!r} ({loaded.spec_path}), schema {pipeline.schema!r}:")
    for key, (kind, deps) in sorted(report.datasets.items()):
        reads = f" <- {', '.join(d.replace('/', '.') for d in deps)}" if deps else ""
        click.echo(f"  {key.replace('/', '.')}: {kind}{reads}")


spec_option = click.option(
    "--spec",
    type=click.Path(dir_okay=False),
    help="The spark-pipeline.yml (default: the one in the current folder).",
)


@click.group("pipelines")
def pipelines_group() -> None:
    """Run Lakeflow / Spark Declarative Pipelines specs (spark-pipeline.yml)."""


@pipelines_group.command("dry-run")
@spec_option
def dry_run_command(spec: str | None) -> None:
    """Load and analyze the pipeline (names, dependencies, cycles) without running it."""
    loaded, report = _load(spec)
    _show(loaded, report)
    for error in report.errors:
        click.echo(f"error: {error}", err=True)
    if report.errors:
        raise click.exceptions.Exit(1)
    click.echo("dry run succeeded: nothing was run")


@pipelines_group.command("run")
@spec_option
@click.option("--full-refresh-all", is_flag=True, help="Reset and recompute every dataset.")
@click.option("--full-refresh", "full_refresh", help="Datasets to reset and recompute: A,B.")
@click.option("--refresh", help="Datasets to update (default: all): A,B.")
def run_command(spec, full_refresh_all, full_refresh, refresh) -> None:
    """Run one update of the pipeline: materialize its datasets on the local Dagster instance."""
    import dagster as dg

    from mlplatform.instance import ensure_dagster_home
    from mlplatform.pipelines.update import run_update
    from mlplatform.settings import get_settings

    if full_refresh_all and (full_refresh or refresh):
        raise click.UsageError("--full-refresh-all excludes --full-refresh and --refresh")
    loaded, report = _load(spec)
    if report.errors:
        for error in report.errors:
            click.echo(f"error: {error}", err=True)
        raise click.exceptions.Exit(1)
    os.environ.setdefault("DAGSTER_HOME", str(ensure_dagster_home(get_settings())))
    with dg.DagsterInstance.get() as instance:
        result = run_update(
            loaded.pipeline,
            instance,
            full_refresh_all=full_refresh_all,
            full_refresh=_names(full_refresh),
            refresh=_names(refresh),
        )
    for line in result.lines:
        click.echo(line)
    if not result.success:
        raise click.ClickException(f"update {result.run_id} failed: {result.error}")
    click.echo(f"update {result.run_id} completed")
