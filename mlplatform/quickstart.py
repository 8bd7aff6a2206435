"""`mlplatform quickstart`: the main job on the embedded default, from an empty home to a
champion model: demo data, the whole asset graph, then one tick of the promotion sensor (what the
Dagster daemon does under `dagster dev`).

By default it shows one line per finished step (read from the run's events on the instance) and
sends Dagster's event stream, library logs and warnings to a log file; `--verbose` shows them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

import click

from mlplatform.instance import ensure_dagster_home
from mlplatform.settings import get_settings

LOG_NAME = "quickstart.log"
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
"""Run config that keeps a run's console logger silent (the events still go to the instance)."""
POLL_SECONDS = 0.25
TAIL_LINES = 40
EXIT_MODEL_GATE = 3
"""Exit status when every table is built but the new model failed a blocking check (a gate)."""


def _instance(dagster_home: str):
    import dagster as dg

    os.environ["DAGSTER_HOME"] = dagster_home
    return dg.DagsterInstance.get()


def _promotion_sensors(defs) -> list:
    """The project's promotion sensors: those launching a job tagged with its model."""
    repo = defs.get_repository_def()
    found = []
    for sensor in repo.sensor_defs:
        try:
            job = repo.get_job(sensor.job_name)
        except Exception:  # noqa: BLE001 (a sensor without one job)
            continue
        if "mlplatform/model" in job.tags and not job.asset_layer.selected_asset_keys:
            found.append((sensor, job.tags["mlplatform/model"]))
    return found


def _promote_once(instance, verbose: bool) -> list[str]:
    """Evaluate each model's promotion sensor once on the instance and run what it requests."""
    import dagster as dg

    from mlplatform.definitions import defs

    said = []
    for sensor, model in _promotion_sensors(defs):
        context = dg.build_sensor_context(instance=instance, definitions=defs)
        tick = sensor.evaluate_tick(context)
        if not tick.run_requests:
            said.append(f"{tick.skip_message or 'the sensor requested nothing'} ({model})")
            continue
        for request in tick.run_requests:
            run_config = dict(request.run_config)
            if not verbose:
                run_config.update(QUIET_RUN_CONFIG)
            result = defs.resolve_job_def(sensor.job_name).execute_in_process(
                run_config=run_config, instance=instance, tags=request.tags
            )
            if not result.success:
                raise click.ClickException(f"the {sensor.job_name} run failed")
        said.append(f"the evaluation said promote: the new {model} version is now the champion")
    return said or ["no model declares a promotion sensor"]


def _find_run(instance, started: datetime):
    """The graph run `dagster asset materialize` created on the instance since `started`."""
    import dagster as dg

    records = instance.get_run_records(filters=dg.RunsFilter(created_after=started), limit=5)
    runs = [r.dagster_run for r in records if r.dagster_run.job_name == "__ASSET_JOB"]
    return runs[0].run_id if runs else None


def _materialize_quietly(cmd: list[str], env: dict, instance, log_path: Path) -> int:
    """Run `cmd` with its output in `log_path`, echoing one line per step it finishes."""
    from mlplatform.run_progress import RunProgress

    progress, run_id, seen = RunProgress(), None, 0
    started = datetime.now(UTC)
    with log_path.open("w") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        while True:
            done = proc.poll() is not None
            run_id = run_id or _find_run(instance, started)
            if run_id is not None:
                entries = instance.all_logs(run_id)
                for line in progress.feed(entries[seen:]):
                    click.echo(line)
                seen = len(entries)
            if done:
                return proc.returncode
            time.sleep(POLL_SECONDS)


def _failed_gates(instance, started: datetime) -> list | None:
    """The failed gates of the graph run, if they are the only reason it failed (else None)."""
    from mlplatform.run_progress import RunProgress

    run_id = _find_run(instance, started)
    if run_id is None:
        return None
    progress = RunProgress()
    progress.feed(instance.all_logs(run_id))
    if progress.failed_gates and not progress.other_failures:
        return progress.failed_gates
    return None


def _gate_line(gates: list) -> str:
    """One line: which version failed which gate with what value, and what was not done."""
    from mlplatform.run_progress import gate_sentence

    first = gates[0]
    version = first.metadata.get("model_version")
    what = first.asset_key.to_user_string()
    if version is not None:
        what += f" version {version.value}"
    failed = "; ".join(gate_sentence(g) for g in gates)
    return (
        f"model: {what} failed its quality gate: {failed}. It was not evaluated or promoted "
        f"(the champion is unchanged); every table is built. Exit {EXIT_MODEL_GATE}."
    )


def _command(name: str) -> str:
    """This environment's `name` command, as a path a user can type from the current folder."""
    path = Path(sys.executable).parent / name
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _where(settings, dagster_home: str, log_path: Path | None) -> None:
    """Where everything is, and the commands that open it (runnable without an activated venv)."""
    homes = f"MLPLATFORM_HOME={settings.home} DAGSTER_HOME={dagster_home}"
    ui = "dev" if Path("workspace.yaml").is_file() else "dev -m mlplatform.definitions"
    click.echo("")
    click.echo(f"Delta tables:   {settings.lakehouse}")
    click.echo(f"MLflow store:   {settings.tracking_uri}")
    click.echo(f"Dagster home:   {dagster_home}")
    if log_path is not None:
        click.echo(f"Run log:        {log_path}")
    click.echo(f"Dashboard:      {settings.home / 'monitoring' / 'dashboard.html'}")
    click.echo(f"Open the UI:    {homes} {_command('dagster')} {ui}")
    click.echo(f"Serve the model: MLPLATFORM_HOME={settings.home} {_command('mlplatform')} serve")


def _tail(path: Path, lines: int = TAIL_LINES) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@click.command(
    "quickstart",
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
)
@click.option(
    "--verbose",
    "-v",
    is_flag=True,
    help="Show Dagster's full event stream, library logs and warnings instead of a line per step.",
)
@click.argument("demo_args", nargs=-1, type=click.UNPROCESSED)
def quickstart_command(verbose: bool, demo_args: tuple[str, ...]) -> None:
    """Generate the project's demo data (if the landing zone is empty; other options, e.g. the
    demo's `--events 60000`, go to the project's `demo-data`), materialize the
    whole graph, promote each model if its evaluation says so, and say where everything is.

    Exit status: 0 done (promoted or not, as the evaluation decided); 1 a step failed (the tail of
    the run log is shown); 2 a usage or settings error; 3 every table is built but a new model
    failed a quality gate (e.g. its ROC AUC floor), so it was not evaluated or promoted.
    """
    from mlplatform.project_loading import ProjectError, project_attribute

    settings = get_settings()
    try:
        demo_data = project_attribute("demo_data_command")
        present = project_attribute("demo_data_present")
    except ProjectError as err:
        raise click.ClickException(str(err)) from err
    if demo_data is not None and not (present and present(settings.landing)):
        if verbose:
            demo_data.main(list(demo_args), standalone_mode=False)
        else:  # its progress bars go to the run log
            log = Path(ensure_dagster_home(settings)) / LOG_NAME
            with log.open("a") as sink, contextlib.redirect_stderr(sink):
                demo_data.main(list(demo_args), standalone_mode=False)
    if not verbose:
        warnings.simplefilter("ignore")
        logging.getLogger("mlflow").setLevel(logging.WARNING)
    dagster_home = str(ensure_dagster_home(settings))
    env = dict(os.environ, DAGSTER_HOME=dagster_home, MLPLATFORM_HOME=str(settings.home))
    dagster = str(Path(sys.executable).parent / "dagster")  # this environment's, not PATH's
    cmd = [dagster, "asset", "materialize", "-m", "mlplatform.definitions", "--select", "*"]
    click.echo("$ dagster asset materialize -m mlplatform.definitions --select '*'")
    log_path = Path(dagster_home) / LOG_NAME
    started, started_at = time.monotonic(), datetime.now(UTC)
    with _instance(dagster_home) as instance:
        if verbose:
            rc = subprocess.call(cmd, env=env)
        else:
            rc = _materialize_quietly(cmd, env, instance, log_path)
        gates = _failed_gates(instance, started_at) if rc != 0 else None
        if gates:
            click.echo(_gate_line(gates))
            _where(settings, dagster_home, None if verbose else log_path)
            raise click.exceptions.Exit(EXIT_MODEL_GATE)
        if rc != 0:
            if not verbose:
                click.echo(_tail(log_path), err=True)
            where = "" if verbose else f"; full log: {log_path}"
            raise click.ClickException(f"materializing the graph failed (exit {rc}){where}")
        click.echo(f"graph materialized in {time.monotonic() - started:.1f} s")
        for line in _promote_once(instance, verbose):
            click.echo(f"promotion: {line}")
    _where(settings, dagster_home, None if verbose else log_path)
