"""A job's `schedule` and `trigger` as Dagster definitions: Quartz cron and periodic triggers
are schedules, file arrival and table update triggers are sensors. In development mode they
start paused (Dagster's default status); otherwise they follow `pause_status`."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlparse

import dagster as dg

from mlplatform.jobs.errors import JobSpecError
from mlplatform.jobs.model import JobSettings
from mlplatform.jobs.run_tags import PREFIX

DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


def quartz_to_cron(expression: str, where: str = "schedule.quartz_cron_expression") -> str:
    """A Quartz cron expression (seconds first, `?`, days of week 1-7 from Sunday) as a
    five-field cron expression.

    Raises:
        JobSpecError: a form cron cannot express (seconds other than 0, L, W, #, a year).
    """
    fields = expression.split()
    if len(fields) not in (6, 7):
        raise JobSpecError(f"{where}: {expression!r}: not a Quartz cron expression (6 or 7 fields)")
    seconds, minute, hour, dom, month, dow = fields[:6]
    if len(fields) == 7 and fields[6] not in ("*", "?"):
        raise JobSpecError(f"{where}: {expression!r}: a year field is not supported")
    if seconds != "0":
        raise JobSpecError(f"{where}: {expression!r}: schedules run at second 0 only")
    for value in (dom, dow):
        if re.search(r"[LW#]", value):
            raise JobSpecError(f"{where}: {expression!r}: L, W and # are not supported")
    dom = "*" if dom == "?" else dom
    dow = "*" if dow == "?" else re.sub(r"\d+", lambda m: _day(m.group(), expression, where), dow)
    return " ".join((minute, hour, dom, month, dow))


def _day(number: str, expression: str, where: str) -> str:
    value = int(number)
    if not 1 <= value <= 7:
        raise JobSpecError(f"{where}: {expression!r}: days of week are 1 (Sunday) to 7")
    return str(value - 1)


def periodic_to_cron(periodic: dict, where: str = "trigger.periodic") -> str:
    """A periodic trigger (`interval`, `unit` HOURS / DAYS / WEEKS) as cron."""
    interval, unit = periodic.get("interval"), periodic.get("unit")
    if not isinstance(interval, int) or interval < 1:
        raise JobSpecError(f"{where}.interval: must be a positive integer, not {interval!r}")
    if unit == "HOURS":
        return f"0 */{interval} * * *" if interval > 1 else "0 * * * *"
    if unit == "DAYS":
        return f"0 0 */{interval} * *" if interval > 1 else "0 0 * * *"
    if unit == "WEEKS" and interval == 1:
        return "0 0 * * 0"
    raise JobSpecError(f"{where}: {interval} {unit} is not supported (HOURS, DAYS or 1 WEEKS)")


def _status(paused: bool, development: bool) -> dg.DefaultScheduleStatus:
    running = not paused and not development
    return dg.DefaultScheduleStatus.RUNNING if running else dg.DefaultScheduleStatus.STOPPED


def _sensor_status(paused: bool, development: bool) -> dg.DefaultSensorStatus:
    running = not paused and not development
    return dg.DefaultSensorStatus.RUNNING if running else dg.DefaultSensorStatus.STOPPED


def schedules_and_sensors(
    job: JobSettings, dagster_job: dg.JobDefinition, development: bool, table_path=None
) -> tuple[list[dg.ScheduleDefinition], list[dg.SensorDefinition]]:
    """The schedules and sensors of `job`'s `schedule` and `trigger`.

    Args:
        job: The job's settings.
        dagster_job: The Dagster job they start.
        development: Pause them all (development mode).
        table_path: A function from a table name to its Delta table's path (table triggers).
    """
    schedules, sensors = [], []
    name = dagster_job.name
    if job.schedule:
        sched = job.schedule
        cron = quartz_to_cron(str(sched.get("quartz_cron_expression", "")))
        schedules.append(
            dg.ScheduleDefinition(
                name=f"{name}_schedule",
                cron_schedule=cron,
                job=dagster_job,
                execution_timezone=sched.get("timezone_id") or "UTC",
                default_status=_status(sched.get("pause_status") == "PAUSED", development),
                tags={PREFIX + "trigger": "PERIODIC"},
            )
        )
    trigger = job.trigger or {}
    paused = trigger.get("pause_status") == "PAUSED"
    if "periodic" in trigger:
        schedules.append(
            dg.ScheduleDefinition(
                name=f"{name}_periodic",
                cron_schedule=periodic_to_cron(trigger["periodic"]),
                job=dagster_job,
                default_status=_status(paused, development),
                tags={PREFIX + "trigger": "PERIODIC"},
            )
        )
    if "file_arrival" in trigger:
        sensors.append(
            file_arrival_sensor(
                name, trigger["file_arrival"], dagster_job, _sensor_status(paused, development)
            )
        )
    if "table_update" in trigger:
        sensors.append(
            table_update_sensor(
                name,
                trigger["table_update"],
                dagster_job,
                _sensor_status(paused, development),
                table_path,
            )
        )
    return schedules, sensors


def _local(url: str) -> Path:
    parsed = urlparse(url)
    if parsed.scheme in ("", "file"):
        return Path(parsed.path if parsed.scheme else url)
    raise JobSpecError(f"trigger.file_arrival.url: {url!r}: only local folders are watched here")


def file_arrival_sensor(name: str, spec: dict, dagster_job, status) -> dg.SensorDefinition:
    """A sensor starting the job when new files arrive under `spec["url"]` (newer than the last
    file seen), once no file changed for `wait_after_last_change_seconds`."""
    if not spec.get("url"):
        raise JobSpecError("trigger.file_arrival.url: is required")
    folder = _local(spec["url"])
    wait = int(spec.get("wait_after_last_change_seconds", 0))

    @dg.sensor(
        name=f"{name}_file_arrival",
        job=dagster_job,
        minimum_interval_seconds=int(spec.get("min_time_between_triggers_seconds", 60)),
        default_status=status,
    )
    def file_arrival(context: dg.SensorEvaluationContext):
        import time

        seen = float(context.cursor or 0)
        files = [p for p in folder.rglob("*") if p.is_file()] if folder.is_dir() else []
        newest = max((p.stat().st_mtime for p in files), default=0.0)
        if newest <= seen:
            return dg.SkipReason(f"no new files under {folder}")
        if time.time() - newest < wait:
            return dg.SkipReason(f"files under {folder} changed less than {wait} s ago")
        new = sorted(str(p) for p in files if p.stat().st_mtime > seen)
        context.update_cursor(str(newest))
        return dg.RunRequest(
            run_key=f"{newest}",
            tags={PREFIX + "trigger": "FILE_ARRIVAL", PREFIX + "files": json.dumps(new[:20])},
        )

    return file_arrival


def table_update_sensor(name: str, spec: dict, dagster_job, status, table_path):
    """A sensor starting the job when its Delta tables get new versions (ANY_UPDATED: one of
    them, ALL_UPDATED: every one since the last run)."""
    tables = spec.get("table_names") or []
    if not tables:
        raise JobSpecError("trigger.table_update.table_names: is required (a list of tables)")
    condition = spec.get("condition", "ANY_UPDATED")
    if condition not in ("ANY_UPDATED", "ALL_UPDATED"):
        raise JobSpecError(
            f"trigger.table_update.condition: {condition!r} is not ANY_UPDATED or ALL_UPDATED"
        )
    resolve = table_path or (lambda t: t)

    @dg.sensor(
        name=f"{name}_table_update",
        job=dagster_job,
        minimum_interval_seconds=int(spec.get("min_time_between_triggers_seconds", 60)),
        default_status=status,
    )
    def table_update(context: dg.SensorEvaluationContext):
        from deltalake import DeltaTable
        from deltalake.exceptions import TableNotFoundError

        last = json.loads(context.cursor or "{}")
        now = {}
        for table in tables:
            try:
                now[table] = DeltaTable(str(resolve(table))).version()
            except TableNotFoundError:
                now[table] = -1
        changed = [t for t in tables if now[t] > last.get(t, -1)]
        fire = changed and (condition == "ANY_UPDATED" or len(changed) == len(tables))
        if not fire:
            return dg.SkipReason("no table update that meets " + condition)
        context.update_cursor(json.dumps(now))
        return dg.RunRequest(
            run_key=json.dumps(now, sort_keys=True), tags={PREFIX + "trigger": "TABLE"}
        )

    return table_update
