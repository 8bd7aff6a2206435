"""`job_definitions`: one job's Dagster definitions (its job, schedules and sensors), what the
project builder calls for each `resources.jobs.<key>`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import dagster as dg

from mlplatform.jobs.graph import build_job
from mlplatform.jobs.model import JobSettings
from mlplatform.jobs.triggers import schedules_and_sensors


def job_definitions(
    job: JobSettings,
    project_root: Path,
    development: bool = False,
    name: str | None = None,
    table_path: Callable[[str], str] | None = None,
) -> dg.Definitions:
    """The Dagster job of `job` (one op per task) with its schedule and trigger.

    Args:
        job: The job's settings (a bundle's `resources.jobs.<key>` or Jobs API JSON).
        project_root: The folder relative notebook and file paths start from.
        development: Development mode: schedules and sensors start paused.
        name: The Dagster job's name (default: the job's name made an identifier).
        table_path: Maps a table trigger's table name to its Delta table's path.
    """
    dagster_job = build_job(job, Path(project_root), name)
    schedules, sensors = schedules_and_sensors(job, dagster_job, development, table_path)
    return dg.Definitions(jobs=[dagster_job], schedules=schedules, sensors=sensors)
