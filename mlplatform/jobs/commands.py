"""`mlplatform jobs ...`: the Databricks CLI's `jobs` commands and argument forms over the local
Jobs API (`create --json @job.json`, `run-now JOB_ID --json '{"job_parameters": ...}'`, ...)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

OK_RESULTS = ("SUCCESS", "SUCCESS_WITH_FAILURES")


def _json_arg(value: str | None, what: str) -> tuple[Any, str, Path]:
    """The JSON of `--json` (`@file` or inline): the data, its source name and its folder."""
    if value is None:
        raise click.UsageError(f"{what}: --json is required")
    from mlplatform.jobs.errors import JobSpecError

    if value.startswith("@"):
        path = Path(value[1:])
        if not path.is_file():
            raise click.ClickException(f"--json {value}: no such file")
        text, source, folder = path.read_text(), str(path), path.resolve().parent
    else:
        text, source, folder = value, "--json", Path.cwd()
    try:
        return json.loads(text), source, folder
    except json.JSONDecodeError as err:
        raise click.ClickException(
            str(
                JobSpecError(
                    f"{source}: line {err.lineno} column {err.colno}: not valid JSON ({err.msg})"
                )
            )
        ) from None


def _api():
    from mlplatform.jobs.api import JobsApi

    return JobsApi.local()


def _guard(fn):
    """Show a job spec error or an unknown id as `Error: ...` and exit 1."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from mlplatform.jobs.errors import JobSpecError
        from mlplatform.jobs.runs import NotFound

        try:
            return fn(*args, **kwargs)
        except (JobSpecError, NotFound) as err:
            raise click.ClickException(str(err)) from None

    return wrapper


def _print(obj: Any, output: str, text: str | None = None) -> None:
    if output == "json" or text is None:
        click.echo(json.dumps(obj, indent=2))
    else:
        click.echo(text)


def _run_text(run: dict) -> str:
    lines = [f"Run {run['run_id']} of job {run['job_id']}: {run['state'].get('result_state', '')}"]
    for task in run["tasks"]:
        state = task["state"].get("result_state", task["state"]["life_cycle_state"])
        message = task["state"].get("state_message", "")
        lines.append(f"  {task['task_key']} (run {task['run_id']}): {state} {message}".rstrip())
    return "\n".join(lines)


output_option = click.option(
    "-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True
)


@click.group("jobs")
def jobs_group() -> None:
    """Lakeflow Jobs: create and run multi-task jobs (Jobs API 2.2 JSON)."""


@jobs_group.command("create")
@click.option("--json", "json_", help="Job settings: inline JSON or @file.json")
@output_option
@_guard
def create_command(json_: str | None, output: str) -> None:
    """Create a job from Jobs API 2.2 JSON; prints its job_id."""
    from mlplatform.jobs.reading import load_job

    data, source, folder = _json_arg(json_, "jobs create")
    job = load_job(data, source)
    _print(_api().create(job, folder), "json")


@jobs_group.command("reset")
@click.option("--json", "json_", help='{"job_id": N, "new_settings": {...}}: inline or @file')
@_guard
def reset_command(json_: str | None) -> None:
    """Replace a job's settings."""
    from mlplatform.jobs.errors import JobSpecError
    from mlplatform.jobs.reading import load_job

    data, source, _ = _json_arg(json_, "jobs reset")
    if not isinstance(data, dict) or "job_id" not in data or "new_settings" not in data:
        raise JobSpecError(f"{source}: reset needs job_id and new_settings")
    _api().reset(int(data["job_id"]), load_job(data["new_settings"], source))


@jobs_group.command("get")
@click.argument("job_id", type=int)
@output_option
@_guard
def get_command(job_id: int, output: str) -> None:
    """Show a job."""
    _print(_api().get(job_id), "json")


@jobs_group.command("list")
@output_option
@_guard
def list_command(output: str) -> None:
    """List the jobs."""
    found = _api().list()
    text = "\n".join(f"{j['job_id']}  {j['settings'].get('name', '')}" for j in found["jobs"])
    _print(found, output, text)


@jobs_group.command("delete")
@click.argument("job_id", type=int)
@_guard
def delete_command(job_id: int) -> None:
    """Delete a job."""
    _api().delete(job_id)


def _finish(api, run_id: int, output: str) -> None:
    run = api.get_run(run_id)
    _print(run, output, _run_text(run))
    if run["state"].get("result_state") not in OK_RESULTS:
        raise click.exceptions.Exit(1)


@jobs_group.command("run-now")
@click.argument("job_id", type=int)
@click.option("--json", "json_", help='{"job_parameters": {...}}: inline JSON or @file')
@output_option
@_guard
def run_now_command(job_id: int, json_: str | None, output: str) -> None:
    """Run a job and wait for it; exits 1 unless the run succeeded."""
    params = {}
    if json_ is not None:
        data, _, _ = _json_arg(json_, "jobs run-now")
        params = (data or {}).get("job_parameters") or {}
    api = _api()
    _finish(api, api.run_now(job_id, params), output)


@jobs_group.command("get-run")
@click.argument("run_id", type=int)
@output_option
@_guard
def get_run_command(run_id: int, output: str) -> None:
    """Show a run and its tasks' states."""
    run = _api().get_run(run_id)
    _print(run, output, _run_text(run) if "tasks" in run else None)


@jobs_group.command("get-run-output")
@click.argument("run_id", type=int)
@output_option
@_guard
def get_run_output_command(run_id: int, output: str) -> None:
    """Show a task run's output (`notebook_output.result`: its dbutils.notebook.exit value)."""
    found = _api().get_run_output(run_id)
    _print(found, output, (found.get("notebook_output") or {}).get("result", found.get("error")))


@jobs_group.command("list-runs")
@click.option("--job-id", type=int, default=None)
@output_option
@_guard
def list_runs_command(job_id: int | None, output: str) -> None:
    """List job runs, newest first."""
    found = _api().list_runs(job_id)
    text = "\n".join(
        f"{r['run_id']}  job {r['job_id']}  {r['state'].get('result_state', '')}"
        for r in found["runs"]
    )
    _print(found, output, text)


@jobs_group.command("repair-run")
@click.argument("run_id", type=int)
@click.option("--rerun-tasks", default="", help="Task keys to rerun, comma-separated")
@click.option("--rerun-all-failed-tasks", is_flag=True)
@click.option("--rerun-dependent-tasks", is_flag=True)
@click.option("--json", "json_", help='{"rerun_tasks": [...], ...}: inline JSON or @file')
@output_option
@_guard
def repair_run_command(
    run_id: int,
    rerun_tasks: str,
    rerun_all_failed_tasks: bool,
    rerun_dependent_tasks: bool,
    json_: str | None,
    output: str,
) -> None:
    """Rerun tasks of a run (the others keep their results and values); waits for it."""
    tasks = [k.strip() for k in rerun_tasks.split(",") if k.strip()]
    if json_ is not None:
        data, _, _ = _json_arg(json_, "jobs repair-run")
        tasks += list(data.get("rerun_tasks") or [])
        rerun_all_failed_tasks |= bool(data.get("rerun_all_failed_tasks"))
        rerun_dependent_tasks |= bool(data.get("rerun_dependent_tasks"))
    api = _api()
    api.repair_run(run_id, tasks, rerun_all_failed_tasks, rerun_dependent_tasks)
    _finish(api, run_id, output)
