"""The `mlplatform` command: demo data, the main job, serving, promotion and deployment.

Heavy imports happen inside each command so `mlplatform --help` stays fast.
"""

from __future__ import annotations

import os
import subprocess
import sys

import click

from mlplatform.settings import SettingsError, get_settings


def _exit_now(code: int) -> None:
    """Exit with `code` without running interpreter teardown.

    delta-rs with pyarrow 25 can abort at interpreter exit (exit 134) after the work is done; the
    commands flush their output and leave through `os._exit` so the status is the one they mean.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


class _Group(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            super().invoke(ctx)
        except SettingsError as err:
            click.echo(f"Error: {err}", err=True)
            _exit_now(2)
        except click.exceptions.Exit as err:
            _exit_now(err.exit_code)
        except click.ClickException as err:
            err.show()
            _exit_now(err.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            _exit_now(1)
        _exit_now(0)


@click.group(cls=_Group)
def main() -> None:
    """mlplatform: the Dagster-based ML lakehouse.

    Data lives under $MLPLATFORM_HOME (default ./.mlplatform).
    """


def dagster_env() -> dict[str, str]:
    """The environment for a dagster subprocess: an absolute DAGSTER_HOME with our dagster.yaml."""
    from mlplatform.instance import ensure_dagster_home

    env = dict(os.environ)
    env["DAGSTER_HOME"] = str(ensure_dagster_home(get_settings()))
    env["MLPLATFORM_HOME"] = str(get_settings().home)
    return env


@main.command("quickstart")
@click.option("--customers", default=2_000, show_default=True, help="Customers for the demo data.")
@click.option("--events", default=100_000, show_default=True, help="Events for the demo data.")
def quickstart(customers: int, events: int) -> None:
    """Generate demo data (if the landing zone is empty), materialize the whole graph, say where."""
    from mlplatform.features.demo_data import generate, landing_has_files

    settings = get_settings()
    if not landing_has_files(settings.landing):
        generate(settings.home, customers=customers, events=events, seed=7)
    cmd = ["dagster", "asset", "materialize", "-m", "mlplatform.definitions", "--select", "*"]
    click.echo("$ " + " ".join(cmd[:-1]) + " '*'")
    rc = subprocess.call(cmd, env=dagster_env())
    if rc != 0:
        raise click.ClickException(f"materializing the graph failed (exit {rc})")
    click.echo("")
    click.echo(f"Delta tables:   {settings.lakehouse}")
    click.echo(f"MLflow store:   {settings.tracking_uri}")
    click.echo(f"Dagster home:   {settings.dagster_home}")
    click.echo("Open the UI:    DAGSTER_HOME=" + str(settings.dagster_home) + " dagster dev")


def _register_commands() -> None:
    from mlplatform.features.demo_data import demo_data_command

    main.add_command(demo_data_command)


_register_commands()

if __name__ == "__main__":
    main()
