"""`mlplatform bundle ...`: the Databricks CLI's bundle verbs on a project folder.

`validate`, `summary` and `init` live here; the verbs that act on a target (`deploy`, `run`,
`destroy`) join the same `bundle_group`.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from mlplatform.project.bundle import BundleError, load_project, parse_var_options, report
from mlplatform.project.bundle.starter import TEMPLATES, write_starter
from mlplatform.project.model import Project

target_option = click.option(
    "-t", "--target", default=None, help="The bundle target (default: the one marked default)."
)
var_option = click.option(
    "--var", "var_options", multiple=True, metavar="NAME=VALUE", help="A variable's value."
)
output_option = click.option(
    "-o",
    "--output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Text for people, or the resolved configuration as JSON.",
)
project_option = click.option(
    "--project-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="The project folder (or a folder inside it).",
)


@click.group("bundle")
def bundle_group() -> None:
    """Validate, summarize and start bundle projects (`databricks.yml`)."""


def load_or_exit(project_dir: Path, target: str | None, var_options: tuple[str, ...]) -> Project:
    """The project, or the errors and warnings printed and exit status 1."""
    try:
        return load_project(project_dir, target, parse_var_options(var_options))
    except BundleError as err:
        for warning in err.warnings:
            click.echo(f"{warning}\n", err=True)
        for diagnostic in err.diagnostics:
            click.echo(f"{diagnostic}\n", err=True)
        click.echo(report.counted(len(err.diagnostics), len(err.warnings)), err=True)
        raise click.exceptions.Exit(1) from None


@bundle_group.command("validate")
@target_option
@var_option
@output_option
@project_option
def validate_command(target, var_options, output, project_dir) -> None:
    """Check the bundle: unknown keys warn; wrong types and unresolvable ${...} are errors."""
    project = load_or_exit(project_dir, target, var_options)
    if output == "json":
        for warning in project.warnings:
            click.echo(f"{warning}\n", err=True)
        click.echo(report.as_json(project))
        return
    for warning in project.warnings:
        click.echo(f"{warning}\n")
    click.echo(report.header(project))
    click.echo("")
    click.echo(report.counted(0, len(project.warnings)))


@bundle_group.command("summary")
@target_option
@var_option
@output_option
@project_option
def summary_command(target, var_options, output, project_dir) -> None:
    """Show the resources the bundle declares for the target (JSON: the resolved configuration)."""
    project = load_or_exit(project_dir, target, var_options)
    for warning in project.warnings:
        click.echo(f"{warning}\n", err=True)
    if output == "json":
        click.echo(report.as_json(project))
    else:
        click.echo(report.summary_text(project))


@bundle_group.command("init")
@click.argument("template", required=False, default="default", type=click.Choice(TEMPLATES))
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Where the project's folder is written.",
)
@click.option("--project-name", default=None, help="The bundle's name (default: my_project).")
@click.option(
    "--config-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help='A JSON file of the template\'s inputs: {"project_name": "..."}.',
)
def init_command(template, output_dir, project_name, config_file) -> None:
    """Write a starter project: a bundle with dev, staging and prod targets, a pipeline, a
    registered model, an experiment, a quality monitor, tests and a pull-request workflow."""
    if project_name is None:
        project_name = _config_input(config_file, "project_name") or "my_project"
    if not project_name.replace("_", "").isalnum() or not project_name[0].isalpha():
        raise click.BadParameter(
            f"{project_name!r}: use letters, digits and _, starting with a letter",
            param_hint="--project-name",
        )
    folder = output_dir / project_name
    try:
        written = write_starter(folder, project_name)
    except FileExistsError as err:
        raise click.ClickException(str(err)) from None
    click.echo(f"Wrote {len(written)} files to {folder} (template {template}).")
    click.echo(f"Next: cd {folder} && mlplatform bundle validate")


def _config_input(config_file: Path | None, key: str) -> str | None:
    """The `key` of a `--config-file` JSON object (None when there is no file)."""
    if config_file is None:
        return None
    try:
        inputs = json.loads(config_file.read_text())
    except ValueError as err:
        raise click.BadParameter(
            f"{config_file} is not valid JSON: {err}", param_hint="--config-file"
        ) from None
    if not isinstance(inputs, dict) or not isinstance(inputs.get(key, ""), str):
        raise click.BadParameter(
            f'{config_file} must hold a JSON object with a string "{key}"',
            param_hint="--config-file",
        )
    return inputs.get(key)
