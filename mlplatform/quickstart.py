"""`mlplatform quickstart`: the main job on the embedded default, from an empty home to a
champion model: demo data, the whole asset graph, then one tick of the promotion sensor (what the
Dagster daemon does under `dagster dev`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click

from mlplatform.instance import ensure_dagster_home
from mlplatform.settings import get_settings


def _promote_once(dagster_home: str) -> str:
    """Evaluate the promotion sensor once on the instance and run what it requests."""
    import dagster as dg

    os.environ["DAGSTER_HOME"] = dagster_home
    from mlplatform.definitions import defs
    from mlplatform.training.sensors import promote_model_sensor

    with dg.DagsterInstance.get() as instance:
        context = dg.build_sensor_context(instance=instance, definitions=defs)
        tick = promote_model_sensor.evaluate_tick(context)
        if not tick.run_requests:
            return tick.skip_message or "the promotion sensor requested nothing"
        for request in tick.run_requests:
            result = defs.resolve_job_def("promote_model").execute_in_process(
                run_config=request.run_config, instance=instance, tags=request.tags
            )
            if not result.success:
                raise click.ClickException("the promote_model run failed")
        return "the evaluation said promote: the new version is now the champion"


@click.command("quickstart")
@click.option("--customers", default=2_000, show_default=True, help="Customers for the demo data.")
@click.option("--events", default=100_000, show_default=True, help="Events for the demo data.")
def quickstart_command(customers: int, events: int) -> None:
    """Generate demo data (if the landing zone is empty), materialize the whole graph, promote the
    model if its evaluation says so, and say where everything is."""
    from mlplatform.features.demo_data import generate, landing_has_files

    settings = get_settings()
    if not landing_has_files(settings.landing):
        generate(settings.home, customers=customers, events=events, seed=7, progress=True)
    dagster_home = str(ensure_dagster_home(settings))
    env = dict(os.environ, DAGSTER_HOME=dagster_home, MLPLATFORM_HOME=str(settings.home))
    dagster = str(Path(sys.executable).parent / "dagster")  # this environment's, not PATH's
    cmd = [dagster, "asset", "materialize", "-m", "mlplatform.definitions", "--select", "*"]
    click.echo("$ dagster asset materialize -m mlplatform.definitions --select '*'")
    rc = subprocess.call(cmd, env=env)
    if rc != 0:
        raise click.ClickException(f"materializing the graph failed (exit {rc})")
    click.echo(f"promotion: {_promote_once(dagster_home)}")
    click.echo("")
    click.echo(f"Delta tables:   {settings.lakehouse}")
    click.echo(f"MLflow store:   {settings.tracking_uri}")
    click.echo(f"Dagster home:   {dagster_home}")
    click.echo(f"Open the UI:    DAGSTER_HOME={dagster_home} dagster dev")
    click.echo("Serve the model: mlplatform serve")
