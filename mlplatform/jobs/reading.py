"""Reading job settings from Jobs API JSON or a bundle's dict, with errors naming the source
and the key path (`job.json: tasks[2].notebook_task.notebook_path: ...`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mlplatform.jobs.errors import JobSpecError
from mlplatform.jobs.model import RUN_IF, TASK_KINDS, Dependency, JobParameter, JobSettings, Task
from mlplatform.jobs.validate import check


def load_job(data: Any, source: str = "job") -> JobSettings:
    """Job settings from a Jobs API / bundle dict, validated (`validate.check`).

    Raises:
        JobSpecError: naming `source` and the key path of what is wrong.
    """
    job = _read_job(data, source)
    check(job)
    return job


def load_job_json(text: str, source: str = "--json") -> JobSettings:
    """Job settings from JSON text; a JSON error names the line and column."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise JobSpecError(
            f"{source}: line {err.lineno} column {err.colno}: not valid JSON ({err.msg})"
        ) from None
    return load_job(data, source)


def load_job_file(path: Path) -> JobSettings:
    """Job settings from a JSON file."""
    return load_job_json(Path(path).read_text(), str(path))


def _fail(source: str, where: str, message: str) -> JobSpecError:
    return JobSpecError(f"{source}: {where}: {message}")


def _mapping(value: Any, source: str, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(source, where, f"must be an object, not {type(value).__name__}")
    return value


def _integer(data: dict, key: str, source: str, where: str, default: int = 0) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _fail(source, f"{where}.{key}", f"must be a non-negative integer, not {value!r}")
    return value


def _text(data: dict, key: str, source: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise _fail(source, f"{where}.{key}", "is required (a non-empty string)")
    return value


def _read_job(data: Any, source: str) -> JobSettings:
    data = _mapping(data, source, "job settings")
    if "settings" in data and "tasks" not in data:  # a `jobs get` object or a reset body
        data = _mapping(data["settings"], source, "settings")
    tasks = data.get("tasks")
    if not isinstance(tasks, list) or not tasks:
        raise _fail(source, "tasks", "a job needs a non-empty list of tasks")
    params = []
    for i, item in enumerate(data.get("parameters") or []):
        item = _mapping(item, source, f"parameters[{i}]")
        name = _text(item, "name", source, f"parameters[{i}]")
        if "default" not in item:
            raise _fail(
                source, f"parameters[{i}].default", "is required (a job parameter's default)"
            )
        params.append(JobParameter(name, str(item["default"])))
    envs = data.get("environments") or []
    if not isinstance(envs, list):
        raise _fail(source, "environments", "must be a list")
    return JobSettings(
        name=str(data.get("name") or "Untitled"),
        tasks=tuple(_read_task(t, source, f"tasks[{i}]") for i, t in enumerate(tasks)),
        parameters=tuple(params),
        schedule=data.get("schedule"),
        trigger=data.get("trigger"),
        continuous=data.get("continuous"),
        max_concurrent_runs=_integer(data, "max_concurrent_runs", source, "job", 1),
        timeout_seconds=_integer(data, "timeout_seconds", source, "job"),
        environments=tuple(envs),
        tags={str(k): str(v) for k, v in (data.get("tags") or {}).items()},
        raw=data,
        source=source,
    )


def _read_task(data: Any, source: str, where: str) -> Task:
    data = _mapping(data, source, where)
    key = _text(data, "task_key", source, where)
    kinds = [k for k in data if k.endswith("_task")]
    if not kinds:
        raise _fail(source, f"{where} ({key})", "names no task kind (notebook_task, ...)")
    if len(kinds) > 1:
        raise _fail(source, f"{where} ({key})", f"names several task kinds: {', '.join(kinds)}")
    kind = kinds[0]
    if kind not in TASK_KINDS:
        raise _fail(source, f"{where}.{kind}", f"task {key!r}: unknown task kind {kind!r}")
    spec = _mapping(data[kind], source, f"{where}.{kind}")
    deps = []
    for i, dep in enumerate(data.get("depends_on") or []):
        dep = _mapping(dep, source, f"{where}.depends_on[{i}]")
        outcome = dep.get("outcome")
        if outcome is not None and outcome not in ("true", "false"):
            raise _fail(
                source,
                f"{where}.depends_on[{i}].outcome",
                f'must be "true" or "false", not {outcome!r}',
            )
        deps.append(Dependency(_text(dep, "task_key", source, f"{where}.depends_on[{i}]"), outcome))
    run_if = data.get("run_if", "ALL_SUCCESS")
    if run_if not in RUN_IF:
        raise _fail(source, f"{where}.run_if", f"{run_if!r} is not one of {', '.join(RUN_IF)}")
    nested = None
    if kind == "for_each_task":
        nested = _read_task(spec.get("task"), source, f"{where}.for_each_task.task")
    return Task(
        task_key=key,
        kind=kind,
        spec=spec,
        depends_on=tuple(deps),
        run_if=run_if,
        max_retries=_integer(data, "max_retries", source, where),
        min_retry_interval_millis=_integer(data, "min_retry_interval_millis", source, where),
        retry_on_timeout=bool(data.get("retry_on_timeout", False)),
        timeout_seconds=_integer(data, "timeout_seconds", source, where),
        environment_key=data.get("environment_key"),
        where=where,
        nested=nested,
    )
