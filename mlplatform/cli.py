"""The `mlplatform` command: demo data, the main job, serving, promotion and deployment.

Heavy imports happen inside each command so `mlplatform --help` stays fast.
"""

from __future__ import annotations

import os
import sys
import traceback

import click

from mlplatform.settings import SettingsError


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
        except Exception:  # an unexpected error: show it, and still exit with the status we mean
            traceback.print_exc()
            _exit_now(1)
        _exit_now(0)


@click.group(cls=_Group)
def main() -> None:
    """mlplatform: the Dagster-based ML lakehouse.

    Data lives under $MLPLATFORM_HOME (default ./.mlplatform).
    """


def _demo_data() -> click.Command:
    """`mlplatform demo-data`: the project's `demo_data_command`, or a command saying there is
    none (the project is loaded only when the command runs)."""

    class _ProjectCommand(click.Command):
        def _target(self):
            from mlplatform.project_loading import ProjectError, project_attribute

            try:
                found = project_attribute("demo_data_command")
            except ProjectError as err:
                raise click.ClickException(str(err)) from err
            if found is None:
                raise click.ClickException(
                    "the project's python.resources modules define no demo_data_command"
                )
            return found

        def main(self, *args, **kwargs):
            return self._target().main(*args, **kwargs)

        def invoke(self, ctx):
            target = self._target()
            return target.main(ctx.args, prog_name=ctx.command_path, standalone_mode=False)

    return _ProjectCommand(
        "demo-data",
        help="Generate the project's demo landing files (the project's demo_data_command).",
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
        add_help_option=False,
    )


def _register_commands() -> None:
    from mlplatform.deployment.command import deploy_command
    from mlplatform.jobs.commands import jobs_group
    from mlplatform.lakehouse.engines.spark_commands import spark_group
    from mlplatform.monitoring.commands import quality_monitors_group
    from mlplatform.pipelines.commands import pipelines_group
    from mlplatform.project.cli import bundle_group
    from mlplatform.project.commands import BUNDLE_COMMANDS
    from mlplatform.quickstart import quickstart_command
    from mlplatform.serving.commands import serve_command
    from mlplatform.training.commands import promote_command, rollback_command

    main.add_command(_demo_data())
    main.add_command(quickstart_command)
    main.add_command(deploy_command)
    main.add_command(serve_command)
    main.add_command(promote_command)
    main.add_command(rollback_command)
    main.add_command(pipelines_group)
    for command in BUNDLE_COMMANDS:  # deploy, run, destroy
        bundle_group.add_command(command)
    main.add_command(bundle_group)
    main.add_command(jobs_group)
    main.add_command(quality_monitors_group)
    main.add_command(spark_group)


_register_commands()

if __name__ == "__main__":
    main()
