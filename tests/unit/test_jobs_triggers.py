"""A job's schedule and triggers as Dagster schedules and sensors."""

import os
import time

import dagster as dg
import polars as pl
import pytest

from mlplatform.jobs import JobSpecError, load_job
from mlplatform.jobs.definitions import job_definitions
from mlplatform.jobs.triggers import periodic_to_cron, quartz_to_cron


@pytest.mark.parametrize(
    ("quartz", "cron"),
    [
        ("0 30 6 * * ?", "30 6 * * *"),
        ("0 0 8 ? * 2-6", "0 8 * * 1-5"),  # Quartz Monday-Friday is 2-6
        ("0 15 10 ? * MON,FRI", "15 10 * * MON,FRI"),
        ("0 0/15 * * * ? *", "0/15 * * * *"),
    ],
)
def test_quartz_cron_becomes_cron(quartz, cron):
    assert quartz_to_cron(quartz) == cron


@pytest.mark.parametrize(
    ("quartz", "message"),
    [
        ("30 0 6 * * ?", "schedules run at second 0 only"),
        ("0 0 6 L * ?", "L, W and # are not supported"),
        ("0 0 6 * *", "not a Quartz cron expression (6 or 7 fields)"),
        ("0 0 6 ? * 8", "days of week are 1 (Sunday) to 7"),
    ],
)
def test_quartz_forms_cron_cannot_express_are_refused(quartz, message):
    with pytest.raises(JobSpecError) as err:
        quartz_to_cron(quartz)
    assert str(err.value) == f"schedule.quartz_cron_expression: {quartz!r}: {message}"


def test_periodic_triggers():
    assert periodic_to_cron({"interval": 4, "unit": "HOURS"}) == "0 */4 * * *"
    assert periodic_to_cron({"interval": 1, "unit": "DAYS"}) == "0 0 * * *"


def settings(**extra):
    return load_job(
        {
            "name": "nightly-train",
            "tasks": [{"task_key": "a", "notebook_task": {"notebook_path": "a"}}],
            **extra,
        }
    )


def test_a_schedule_is_a_dagster_schedule_paused_in_development(tmp_path):
    job = settings(
        schedule={
            "quartz_cron_expression": "0 30 6 * * ?",
            "timezone_id": "Europe/Paris",
            "pause_status": "UNPAUSED",
        }
    )
    prod = job_definitions(job, tmp_path)
    schedule = prod.get_schedule_def("nightly_train_schedule")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("30 6 * * *", "Europe/Paris")
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert prod.get_job_def("nightly_train").name == "nightly_train"
    dev = job_definitions(job, tmp_path, development=True)
    assert dev.get_schedule_def("nightly_train_schedule").default_status == (
        dg.DefaultScheduleStatus.STOPPED
    )
    paused = settings(schedule={"quartz_cron_expression": "0 0 1 * * ?", "pause_status": "PAUSED"})
    status = job_definitions(paused, tmp_path).get_schedule_def("nightly_train_schedule")
    assert status.default_status == dg.DefaultScheduleStatus.STOPPED


def test_file_arrival_starts_a_run_for_new_files_only(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    job = settings(trigger={"file_arrival": {"url": str(landing)}})
    sensor = job_definitions(job, tmp_path).get_sensor_def("nightly_train_file_arrival")
    with dg.instance_for_test() as instance:
        first = sensor.evaluate_tick(dg.build_sensor_context(instance=instance))
        assert first.run_requests == [] and "no new files" in first.skip_message
        (landing / "a.csv").write_text("x\n")
        old = time.time() - 10
        os.utime(landing / "a.csv", (old, old))
        tick = sensor.evaluate_tick(dg.build_sensor_context(instance=instance))
        assert tick.run_requests[0].tags["mlplatform/jobs.trigger"] == "FILE_ARRIVAL"
        again = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=tick.cursor))
        assert again.run_requests == []


def test_table_update_waits_for_all_tables_when_asked(tmp_path):
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    job = settings(trigger={"table_update": {"table_names": [a, b], "condition": "ALL_UPDATED"}})
    sensor = job_definitions(job, tmp_path).get_sensor_def("nightly_train_table_update")
    with dg.instance_for_test() as instance:
        pl.DataFrame({"x": [1]}).write_delta(a)
        only_a = sensor.evaluate_tick(dg.build_sensor_context(instance=instance))
        assert only_a.run_requests == []
        pl.DataFrame({"x": [1]}).write_delta(b)
        both = sensor.evaluate_tick(dg.build_sensor_context(instance=instance))
        assert both.run_requests[0].tags["mlplatform/jobs.trigger"] == "TABLE"
        pl.DataFrame({"x": [2]}).write_delta(a, mode="append")
        one_more = sensor.evaluate_tick(
            dg.build_sensor_context(instance=instance, cursor=both.cursor)
        )
        assert one_more.run_requests == []
