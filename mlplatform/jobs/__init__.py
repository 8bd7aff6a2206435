"""Lakeflow Jobs on Dagster: the Jobs API 2.2 job model, its engine and the `mlplatform jobs` CLI.

A job (Jobs API JSON or a bundle's `resources.jobs.<key>`) is one `JobSettings`; each of its
tasks becomes an op of one Dagster job (`job_definitions`).
"""

from mlplatform.jobs.errors import JobSpecError, TaskValueError
from mlplatform.jobs.model import JobSettings, Task
from mlplatform.jobs.reading import load_job, load_job_file, load_job_json

__all__ = [
    "JobSettings",
    "JobSpecError",
    "Task",
    "TaskValueError",
    "job_definitions",
    "load_job",
    "load_job_file",
    "load_job_json",
]


def job_definitions(job, project_root):
    """The Dagster definitions of one job (see `mlplatform.jobs.definitions`)."""
    from mlplatform.jobs.definitions import job_definitions as build

    return build(job, project_root)
