"""Checks of a job's settings beyond their shape: kinds that cannot run here, task keys, the
dependency graph (unknown keys, cycles) and each supported kind's required fields."""

from __future__ import annotations

import re

from mlplatform.jobs.errors import JobSpecError
from mlplatform.jobs.model import CONDITION_OPS, JobSettings, Task

UNSUPPORTED = {
    "spark_jar_task": "JAR tasks need a JVM cluster",
    "spark_submit_task": "spark-submit tasks need a cluster",
    "dbt_task": "dbt tasks are not supported",
    "dbt_cloud_task": "dbt Cloud tasks are not supported",
    "dbt_platform_task": "dbt platform tasks are not supported",
    "dashboard_task": "dashboards are not supported",
    "power_bi_task": "Power BI tasks are not supported",
    "clean_rooms_notebook_task": "clean rooms are not supported",
    "gen_ai_compute_task": "serverless GPU tasks are not supported",
    "alert_task": "SQL alerts are not supported",
    "pipeline_task": "not yet: run the pipeline with `mlplatform pipelines run`",
    "sql_task": "not yet: SQL tasks are not implemented",
}
KEY = re.compile(r"^[\w\-]{1,100}$")


def check(job: JobSettings) -> None:
    """Raise `JobSpecError` for the first problem of `job` (naming the source and key path)."""
    seen: dict[str, str] = {}
    for task in job.tasks:
        _check_task(job, task)
        op = op_name(task.task_key)
        if op in seen:
            raise _error(job, task, f"task key {task.task_key!r} repeats {seen[op]!r}")
        seen[op] = task.task_key
    keys = {t.task_key for t in job.tasks}
    for task in job.tasks:
        for i, dep in enumerate(task.depends_on):
            if dep.task_key not in keys:
                raise JobSpecError(
                    f"{job.source}: {task.where}.depends_on[{i}].task_key: task "
                    f"{task.task_key!r} depends on unknown task {dep.task_key!r}"
                )
            upstream = job.task(dep.task_key)
            if dep.outcome is not None and upstream.kind != "condition_task":
                raise JobSpecError(
                    f"{job.source}: {task.where}.depends_on[{i}].outcome: {dep.task_key!r} is "
                    "not a condition_task (only a condition task's dependents name an outcome)"
                )
    cycle = find_cycle(job)
    if cycle:
        raise JobSpecError(f"{job.source}: tasks: a dependency cycle: {' -> '.join(cycle)}")


def op_name(task_key: str) -> str:
    """The Dagster op name of a task key (`-` is not allowed in op names)."""
    return task_key.replace("-", "_")


def _error(job: JobSettings, task: Task, message: str) -> JobSpecError:
    return JobSpecError(f"{job.source}: {task.where}: {message}")


def _check_task(job: JobSettings, task: Task) -> None:
    if not KEY.match(task.task_key):
        raise _error(job, task, f"task_key {task.task_key!r}: letters, digits, _ and - only")
    if task.kind in UNSUPPORTED:
        raise JobSpecError(
            f"{job.source}: {task.where}.{task.kind}: task {task.task_key!r} is a "
            f"{task.kind}, which cannot run here ({UNSUPPORTED[task.kind]})"
        )
    spec, where = task.spec, f"{task.where}.{task.kind}"
    required = {
        "notebook_task": ("notebook_path",),
        "spark_python_task": ("python_file",),
        "python_wheel_task": ("package_name", "entry_point"),
        "condition_task": ("op", "left", "right"),
        "for_each_task": ("inputs", "task"),
        "run_job_task": ("job_id",),
    }[task.kind]
    for key in required:
        if key not in spec or spec[key] in (None, ""):
            raise JobSpecError(f"{job.source}: {where}.{key}: is required for a {task.kind}")
    if task.kind == "condition_task" and spec["op"] not in CONDITION_OPS:
        raise JobSpecError(
            f"{job.source}: {where}.op: {spec['op']!r} is not one of {', '.join(CONDITION_OPS)}"
        )
    if task.kind == "for_each_task":
        concurrency = spec.get("concurrency", 1)
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise JobSpecError(
                f"{job.source}: {where}.concurrency: must be a positive integer, "
                f"not {concurrency!r}"
            )
        if task.nested.kind == "for_each_task":
            raise JobSpecError(f"{job.source}: {where}.task: a for-each task cannot nest another")
        _check_task(job, task.nested)


def find_cycle(job: JobSettings) -> list[str]:
    """A dependency cycle as task keys (first key repeated at the end), or `[]`."""
    deps = {t.task_key: [d.task_key for d in t.depends_on] for t in job.tasks}
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(key: str) -> list[str]:
        state[key] = 1
        path.append(key)
        for up in deps.get(key, []):
            if state.get(up) == 1:
                return path[path.index(up) :] + [up]
            if up not in state:
                found = visit(up)
                if found:
                    return found
        state[key] = 2
        path.pop()
        return []

    for key in deps:
        if key not in state:
            found = visit(key)
            if found:
                return found
    return []


def topological(job: JobSettings) -> list[Task]:
    """The tasks, each after its dependencies."""
    done: set[str] = set()
    order: list[Task] = []
    pending = list(job.tasks)
    while pending:
        for task in pending:
            if all(d.task_key in done for d in task.depends_on):
                order.append(task)
                done.add(task.task_key)
                pending.remove(task)
                break
    return order
