"""`mlplatform deploy`: render, validate and apply a deployment target."""

from __future__ import annotations

from pathlib import Path

import click

from mlplatform.deployment.errors import DeployError

TARGETS = ("dev", "staging", "prod")


@click.command("deploy")
@click.option(
    "--target",
    "-t",
    required=True,
    type=click.Choice(TARGETS),
    help="Environment to deploy: a file deploy/targets/<target>.yaml merged over deploy/base.yaml.",
)
@click.option(
    "--image-tag",
    default=None,
    metavar="TAG",
    help="Tag of the code-location image (the commit SHA). Default: $GITHUB_SHA, else git HEAD.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the rendered manifests. Default: build/deploy/<target>.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Render and validate only; do not run helm. The prod branch check only warns.",
)
@click.option(
    "--bundle-dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    hidden=True,
    help="Folder holding base.yaml and targets/ (default: ./deploy when it holds base.yaml, "
    "else the bundle shipped with mlplatform).",
)
def deploy_command(
    target: str, image_tag: str | None, out: Path | None, dry_run: bool, bundle_dir: Path | None
) -> None:
    """Deploy the platform to TARGET (dev, staging or prod), like `databricks bundle deploy`.

    Merges deploy/base.yaml with deploy/targets/TARGET.yaml, checks it (ports, secrets, the
    environment contract; prod deploys only from main and takes secrets only by reference), loads
    the Dagster definitions, renders dagster.yaml, workspace.yaml, the Helm values of the code
    location, automation.yaml, the Dockerfile and deploy.json, validates them against Dagster's
    config schema and the Helm values schema, writes them to --out and, unless --dry-run, runs
    `helm upgrade --install ... --atomic` against the configured cluster. Dev mode prefixes every
    deployed name with dev-<user>- (user: $MLPLATFORM_DEPLOY_USER, else $GITHUB_ACTOR, else the
    login name) and pauses all schedules and sensors. Variables come from MLPLATFORM_VAR_<name>.
    """
    from mlplatform.deployment.deployer import deploy

    try:
        result = deploy(
            target, image_tag=image_tag, out=out, dry_run=dry_run, bundle_dir=bundle_dir
        )
    except DeployError as err:
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
