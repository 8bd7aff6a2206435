"""`mlplatform promote` and `mlplatform rollback`: move the champion alias by hand, audited."""

from __future__ import annotations

import click

MODEL_OPTION = click.option(
    "--model",
    "model",
    default=None,
    help="The registered model (default: the project's first registered model).",
)


def _model(model: str | None) -> str:
    if model:
        return model
    from mlplatform.project_loading import ProjectError, default_model

    try:
        return default_model()
    except ProjectError as err:
        raise click.ClickException(f"{err} (or name the model with --model)") from err


def _describe(move) -> str:
    before = f"version {move.replaced}" if move.replaced is not None else "none"
    after = move.previous_champion if move.previous_champion is not None else "none"
    return f"champion: version {move.champion} (was {before}); previous_champion: {after}"


@click.command("promote")
@click.option(
    "--version",
    "version",
    type=int,
    required=True,
    help="The model version to make champion.",
)
@MODEL_OPTION
@click.option(
    "--reason",
    default="manual promotion",
    show_default=True,
    help="Why (kept in the version's audit tags).",
)
def promote_command(version: int, model: str | None, reason: str) -> None:
    """Make a model version the champion; the current one becomes previous_champion."""
    from mlplatform.training import registry

    name = _model(model)
    client = registry.client()
    try:
        move = registry.promote(client, version, registry.current_user(), reason, name)
    except registry.RegistryError as err:
        raise click.ClickException(str(err)) from err
    if not move.changed:
        click.echo(f"version {version} already is the champion; nothing changed")
        return
    click.echo(_describe(move))


@click.command("rollback")
@MODEL_OPTION
@click.option(
    "--reason",
    default="manual rollback",
    show_default=True,
    help="Why (kept in the versions' audit tags).",
)
def rollback_command(model: str | None, reason: str) -> None:
    """Restore the previous champion (the alias previous_champion)."""
    from mlplatform.training import registry

    name = _model(model)
    client = registry.client()
    try:
        move = registry.rollback(client, registry.current_user(), reason, name)
    except registry.RegistryError as err:
        raise click.ClickException(str(err)) from err
    click.echo(_describe(move))
