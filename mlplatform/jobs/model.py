"""The job model: Jobs API 2.2 job settings (and a bundle's `resources.jobs.<key>`, the same
fields) as typed objects (`mlplatform.jobs.reading` builds them from JSON or a dict)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

RUN_IF = (
    "ALL_SUCCESS",
    "AT_LEAST_ONE_SUCCESS",
    "NONE_FAILED",
    "ALL_DONE",
    "AT_LEAST_ONE_FAILED",
    "ALL_FAILED",
)
TASK_KINDS = (
    "notebook_task",
    "condition_task",
    "for_each_task",
    "spark_python_task",
    "run_job_task",
    "sql_task",
    "pipeline_task",
    "python_wheel_task",
    # documented kinds that cannot run here: refused by name at validate
    "spark_jar_task",
    "spark_submit_task",
    "dbt_task",
    "dbt_cloud_task",
    "dbt_platform_task",
    "dashboard_task",
    "power_bi_task",
    "clean_rooms_notebook_task",
    "gen_ai_compute_task",
    "alert_task",
)
CONDITION_OPS = (
    "EQUAL_TO",
    "NOT_EQUAL",
    "GREATER_THAN",
    "GREATER_THAN_OR_EQUAL",
    "LESS_THAN",
    "LESS_THAN_OR_EQUAL",
)


@dataclass(frozen=True)
class Dependency:
    """One `depends_on` entry: a task key and, after a condition task, the outcome it needs."""

    task_key: str
    outcome: str | None = None


@dataclass(frozen=True)
class Task:
    """One task of a job.

    Attributes:
        task_key: The task's unique key in the job.
        kind: The task kind's key (`notebook_task`, `condition_task`, ...).
        spec: The kind's settings as written (`{"notebook_path": ..., "base_parameters": ...}`).
        depends_on: The tasks this one waits for.
        run_if: When it runs given its dependencies' states (`ALL_SUCCESS` by default).
        where: The key path of the task in its source (`tasks[2]`), for error messages.
    """

    task_key: str
    kind: str
    spec: dict[str, Any]
    depends_on: tuple[Dependency, ...] = ()
    run_if: str = "ALL_SUCCESS"
    max_retries: int = 0
    min_retry_interval_millis: int = 0
    retry_on_timeout: bool = False
    timeout_seconds: int = 0
    environment_key: str | None = None
    where: str = ""
    nested: Task | None = None
    """The task a `for_each_task` runs for each input."""


@dataclass(frozen=True)
class JobParameter:
    """A job parameter with its default (`parameters: [{name, default}]`)."""

    name: str
    default: str


@dataclass(frozen=True)
class JobSettings:
    """A job's settings (the Jobs API's `JobSettings`).

    Attributes:
        name: The job's name.
        tasks: Its tasks, in the order written.
        parameters: Job parameters with their defaults.
        raw: The settings as given (what `jobs get` returns).
        source: Where they were read from (a file name, `--json`), for error messages.
    """

    name: str
    tasks: tuple[Task, ...]
    parameters: tuple[JobParameter, ...] = ()
    schedule: dict[str, Any] | None = None
    trigger: dict[str, Any] | None = None
    continuous: dict[str, Any] | None = None
    max_concurrent_runs: int = 1
    timeout_seconds: int = 0
    environments: tuple[dict[str, Any], ...] = ()
    tags: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)
    source: str = "job"

    def task(self, key: str) -> Task:
        """The task with key `key`."""
        for task in self.tasks:
            if task.task_key == key:
                return task
        raise KeyError(key)
