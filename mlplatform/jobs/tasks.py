"""Running one task of a job run: its kind's work (a task process, a condition, a for-each
loop, another job) with retries and time limits; the result is the task's record."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlplatform.jobs import states
from mlplatform.jobs.errors import ReferenceError_
from mlplatform.jobs.launch import launch
from mlplatform.jobs.model import JobSettings, Task
from mlplatform.jobs.references import RunContext, resolve, resolve_all
from mlplatform.jobs.run_tags import RunTags

NO_INPUT = object()


def now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


def run_context(job: JobSettings, tags: RunTags, records: dict[str, dict]) -> RunContext:
    """What references in this run may name."""
    params = {p.name: p.default for p in job.parameters} | dict(tags.parameters)
    return RunContext(
        job_id=tags.job_id,
        run_id=tags.run_id,
        job_name=job.name,
        repair_count=tags.repair_count,
        start_time=tags.start_time,
        trigger_type=tags.trigger,
        parameters=params,
        tasks=records,
    )


def record(task_key: str, state: str, message: str = "", **extra: Any) -> dict[str, Any]:
    """A task's record: what the run keeps of it (state, values, output, outcome, times)."""
    out = {
        "task_key": task_key,
        "result_state": state,
        "state_message": message,
        "values": {},
        "output": None,
        "outcome": None,
        "attempt_number": 0,
    }
    return out | extra


RunJob = Callable[[int, dict[str, str]], tuple[int, str]]
"""Runs a job to its end: (job id, job parameters) -> (run id, result state)."""


def execute(
    context, job: JobSettings, task: Task, ctx: RunContext, root: Path, run_job: RunJob | None
) -> dict[str, Any]:
    """Run `task` (its dependencies allow it); its record.

    Args:
        run_job: How a `run_job_task` runs another job (None: where no job registry is).
    """
    start = now_ms()
    try:
        if task.kind == "condition_task":
            result = _condition(task, ctx)
        elif task.kind == "for_each_task":
            result = _for_each(context, job, task, ctx, root)
        elif task.kind == "run_job_task":
            result = _run_job(task, ctx, run_job)
        else:
            result = _with_retries(context, job, task, ctx, root, NO_INPUT)
    except (ReferenceError_, ValueError) as err:
        result = record(task.task_key, states.FAILED, str(err))
    return result | {"start_time": start, "end_time": now_ms()}


def _condition(task: Task, ctx: RunContext) -> dict[str, Any]:
    left = resolve(task.spec["left"], ctx)
    right = resolve(task.spec["right"], ctx)
    outcome = states.compare(task.spec["op"], left, right)
    message = f"{left!r} {task.spec['op']} {right!r}: {str(outcome).lower()}"
    return record(task.task_key, states.SUCCESS, message, outcome=str(outcome).lower())


def _for_each(context, job: JobSettings, task: Task, ctx: RunContext, root: Path) -> dict:
    inputs = resolve(task.spec["inputs"], ctx)
    if isinstance(inputs, str):
        try:
            inputs = json.loads(inputs)
        except json.JSONDecodeError as err:
            raise ValueError(f"for_each_task.inputs is not a JSON array: {err.msg}") from None
    if not isinstance(inputs, list):
        raise ValueError(f"for_each_task.inputs must be a JSON array, not {inputs!r}")
    concurrency = task.spec.get("concurrency", 1)

    def one(index: int) -> dict[str, Any]:
        started = now_ms()
        try:
            done = _with_retries(context, job, task.nested, ctx, root, inputs[index])
        except (ReferenceError_, ValueError) as err:
            done = record(task.nested.task_key, states.FAILED, str(err))
        return done | {
            "index": index,
            "input": inputs[index],
            "start_time": started,
            "end_time": now_ms(),
        }

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        iterations = list(pool.map(one, range(len(inputs))))
    failed = [it for it in iterations if it["result_state"] != states.SUCCESS]
    state = states.FAILED if failed else states.SUCCESS
    message = f"{len(failed)} of {len(iterations)} iterations failed" if failed else ""
    return record(task.task_key, state, message, iterations=iterations)


def _run_job(task: Task, ctx: RunContext, run_job: RunJob | None) -> dict[str, Any]:
    job_id = resolve(str(task.spec["job_id"]), ctx)
    if not str(job_id).isdigit():
        raise ValueError(f"run_job_task.job_id {job_id!r} is not a job id")
    if run_job is None:
        raise ValueError("run_job_task: no job registry here (run the job with `mlplatform jobs`)")
    params = resolve_all(task.spec.get("job_parameters") or {}, ctx)
    run_id, state = run_job(int(job_id), {k: str(v) for k, v in params.items()})
    ok = state in (states.SUCCESS, states.SUCCESS_WITH_FAILURES)
    return record(
        task.task_key,
        states.SUCCESS if ok else states.FAILED,
        f"job {job_id} run {run_id}: {state}",
        run_job_output={"run_id": run_id},
    )


def _extras(task: Task, ctx: RunContext, item: Any) -> dict[str, Any]:
    args = (ctx,) if item is NO_INPUT else (ctx, item)
    spec = task.spec
    if task.kind == "notebook_task":
        base = resolve_all(spec.get("base_parameters") or {}, *args)
        widgets = {k: str(v) for k, v in base.items()} | dict(ctx.parameters)
        return {
            "kind": "notebook",
            "path": resolve(spec["notebook_path"], *args),
            "widgets": widgets,
        }
    if task.kind == "spark_python_task":
        argv = [str(resolve(p, *args)) for p in spec.get("parameters") or []]
        return {"kind": "python_file", "path": resolve(spec["python_file"], *args), "argv": argv}
    argv = [str(resolve(p, *args)) for p in spec.get("parameters") or []]
    named = resolve_all(spec.get("named_parameters") or {}, *args)
    argv += [f"--{k}={v}" for k, v in named.items()]
    return {
        "kind": "wheel",
        "package_name": spec["package_name"],
        "entry_point": spec["entry_point"],
        "argv": argv,
    }


def _with_retries(context, job, task: Task, ctx: RunContext, root: Path, item: Any) -> dict:
    from mlplatform.settings import get_settings

    settings = get_settings()
    extras = _extras(task, ctx, item) | {
        "base": str(root),
        "task_key": task.task_key,
        "upstream_values": {k: r.get("values", {}) for k, r in ctx.tasks.items()},
        "dbfs_root": str(settings.home / "dbfs"),
        "secrets_root": str(settings.home / "secrets"),
    }
    env = {"MLFLOW_TRACKING_URI": settings.tracking_uri}
    timeout = task.timeout_seconds or job.timeout_seconds
    attempt = 0
    while True:
        result = launch(context, extras, timeout, env, root, settings.home / "secrets")
        if result.exit_code == 0 and not result.timed_out:
            state, message = states.SUCCESS, ""
        elif result.timed_out:
            state, message = states.TIMEDOUT, f"timed out after {timeout} seconds"
        else:
            state, message = states.FAILED, result.error
        retry = state == states.FAILED or (state == states.TIMEDOUT and task.retry_on_timeout)
        if not retry or attempt >= task.max_retries:
            break
        context.log.warning(f"task {task.task_key} attempt {attempt}: {message}; retrying")
        attempt += 1
        time.sleep(task.min_retry_interval_millis / 1000)
    return record(
        task.task_key,
        state,
        message,
        values=result.values,
        output=result.output,
        attempt_number=attempt,
    )
