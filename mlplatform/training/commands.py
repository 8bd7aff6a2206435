"""`mlplatform promote` and `mlplatform rollback`: move the champion alias by hand, audited."""

from __future__ import annotations

import click


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
    help="The churn_predictor version to make champion.",
)
@click.option(
    "--reason",
    default="manual promotion",
    show_default=True,
    help="Why (kept in the version's audit tags).",
)
def promote_command(version: int, reason: str) -> None:
    """Make a model version the champion; the current one becomes previous_champion."""
    from mlplatform.training import registry

    client = registry.client()
    try:
        move = registry.promote(client, version, registry.current_user(), reason)
    except registry.RegistryError as err:
        raise click.ClickException(str(err)) from err
    if not move.changed:
        click.echo(f"version {version} already is the champion; nothing changed")
        return
    click.echo(_describe(move))


@click.command("rollback")
@click.option(
    "--reason",
    default="manual rollback",
    show_default=True,
    help="Why (kept in the versions' audit tags).",
)
def rollback_command(reason: str) -> None:
    """Restore the previous champion (the alias previous_champion)."""
    from mlplatform.training import registry

    client = registry.client()
    try:
        move = registry.rollback(client, registry.current_user(), reason)
    except registry.RegistryError as err:
        raise click.ClickException(str(err)) from err
    click.echo(_describe(move))
