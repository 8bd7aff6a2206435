"""Job runs with real task processes: a for-each loop with concurrency 2, a notebook's retry,
a task value over 48 KiB, and a repair that reruns only the failed tasks."""

import json
from pathlib import Path

import pytest

from mlplatform.jobs import load_job
from mlplatform.jobs.api import JobsApi

pytestmark = pytest.mark.integration
DATA = Path(__file__).resolve().parents[1] / "data" / "jobs"


def nb(key, path, *deps, **extra):
    return {
        "task_key": key,
        "notebook_task": {"notebook_path": path, **extra.pop("notebook", {})},
        "depends_on": [{"task_key": d} for d in deps],
        **extra,
    }


def create(api, tasks, **extra):
    job = load_job({"name": "t", "tasks": tasks, **extra}, "test")
    return api.create(job, DATA)["job_id"]


def states(run):
    return {t["task_key"]: t["state"]["result_state"] for t in run["tasks"]}


def test_for_each_retry_run_job_and_a_value_too_large(home, tmp_path):
    api = JobsApi.local()
    child = create(
        api,
        [
            {
                "task_key": "check",
                "condition_task": {"op": "EQUAL_TO", "left": "{{job.parameters.x}}", "right": "2"},
            }
        ],
        parameters=[{"name": "x", "default": "1"}],
    )
    job_id = create(
        api,
        [
            {"task_key": "child", "run_job_task": {"job_id": child, "job_parameters": {"x": "2"}}},
            {
                "task_key": "squares",
                "for_each_task": {
                    "inputs": "[1, 2, 3, 4]",
                    "concurrency": 2,
                    "task": nb(
                        "square", "square", notebook={"base_parameters": {"n": "{{input}}"}}
                    ),
                },
            },
            nb("retrying", "retrying", max_retries=1, min_retry_interval_millis=10),
            nb("big", "big_value"),
            nb("leaky", "leaky"),
        ],
        parameters=[{"name": "workdir", "default": str(tmp_path)}],
    )
    (home / "secrets" / "ml").mkdir(parents=True)
    (home / "secrets" / "ml" / "token").write_text("s3cr3t-value")
    run = api.get_run(api.run_now(job_id))
    assert states(run) == {
        "child": "SUCCESS",
        "squares": "SUCCESS",
        "retrying": "SUCCESS",
        "big": "FAILED",
        "leaky": "FAILED",
    }
    assert run["state"]["result_state"] == "FAILED"
    tasks = {t["task_key"]: t for t in run["tasks"]}

    child_run = api.get_run_output(tasks["child"]["run_id"])["run_job_output"]["run_id"]
    checked = api.get_run(child_run)
    assert (checked["job_id"], checked["tasks"][0]["condition_task"]["outcome"]) == (child, "true")
    assert checked["job_parameters"] == [{"name": "x", "default": "1", "value": "2"}]

    loop = api.get_run_output(tasks["squares"]["run_id"])
    assert [(it["input"], it["result"]) for it in loop["iterations"]] == [
        (1, "1^2=1"),
        (2, "2^2=4"),
        (3, "3^2=9"),
        (4, "4^2=16"),
    ]
    assert tasks["squares"]["for_each_task"]["stats"]["task_run_stats"] == {
        "total_iterations": 4,
        "succeeded_iterations": 4,
        "failed_iterations": 0,
    }
    from mlplatform.jobs.values import records_of_run

    record = records_of_run(api.instance, run["dagster_run_id"])["squares"]
    spans = [(it["start_time"], it["end_time"]) for it in record["iterations"]]
    overlap = max(sum(1 for s, e in spans if s <= start < e) for start, _ in spans)
    assert overlap == 2  # two at a time, never more
    assert [it["values"] for it in record["iterations"]] == [
        {"square": n * n} for n in (1, 2, 3, 4)
    ]

    assert tasks["retrying"]["attempt_number"] == 1
    assert api.get_run_output(tasks["retrying"]["run_id"])["notebook_output"]["result"] == (
        "second attempt"
    )
    assert (tmp_path / "attempts.log").read_text() == "attempt\nattempt\n"

    big = api.get_run_output(tasks["big"]["run_id"])
    assert big["error"] == (
        "mlplatform.jobs.errors.TaskValueError: Task value 'blob' is 50002 bytes as JSON; a task "
        "value may be at most 48 KiB (49152 bytes)"
    )
    assert records_of_run(api.instance, run["dagster_run_id"])["big"]["values"] == {"small": "ok"}
    assert api.get_run_output(tasks["leaky"]["run_id"])["error"] == (
        "RuntimeError: the service refused token [REDACTED]"
    )


def test_repair_reruns_only_the_failed_tasks_with_the_earlier_values(home, tmp_path):
    api = JobsApi.local()
    job_id = create(
        api,
        [
            nb("prepare", "prepare"),
            nb("flaky", "flaky", "prepare"),
            nb(
                "report",
                "report",
                "flaky",
                notebook={"base_parameters": {"label": "repair {{job.repair_count}}"}},
            ),
        ],
        parameters=[{"name": "workdir", "default": str(tmp_path)}],
    )
    run_id = api.run_now(job_id)
    first = api.get_run(run_id)
    assert states(first) == {"prepare": "SUCCESS", "flaky": "FAILED", "report": "UPSTREAM_FAILED"}
    assert first["state"]["result_state"] == "FAILED"
    assert next(t for t in first["tasks"] if t["task_key"] == "flaky")["state"][
        "state_message"
    ] == ("RuntimeError: the source is not ready")

    (tmp_path / "fixed").touch()
    assert api.repair_run(run_id, rerun_all_failed_tasks=True) == {"repair_id": 1}
    repaired = api.get_run(run_id)
    assert states(repaired) == {"prepare": "SUCCESS", "flaky": "SUCCESS", "report": "SUCCESS"}
    assert repaired["state"]["result_state"] == "SUCCESS"
    before = {t["task_key"]: t["run_id"] for t in first["tasks"]}
    after = {t["task_key"]: t["run_id"] for t in repaired["tasks"]}
    assert after["prepare"] == before["prepare"]
    assert after["flaky"] != before["flaky"] and after["report"] != before["report"]
    assert (tmp_path / "prepare.log").read_text() == "ran\n"  # prepare did not run again
    assert api.get_run_output(after["flaky"])["notebook_output"]["result"] == "rows 42"
    assert api.get_run_output(after["report"])["notebook_output"]["result"] == "repair 1"
    assert [h["type"] for h in repaired["repair_history"]] == ["ORIGINAL", "REPAIR"]
    # the first attempt's task runs still answer with what they did
    assert api.get_run_output(before["flaky"])["error"] == "RuntimeError: the source is not ready"
    dagster_run = api.instance.get_run_by_id(repaired["dagster_run_id"])
    assert dagster_run.tags["mlplatform/jobs.repair_count"] == "1"
    assert json.loads(dagster_run.tags["mlplatform/jobs.task_run_ids"]) == after


def test_a_notebook_gets_a_real_spark_session_and_others_start_none(home):
    api = JobsApi.local()
    job_id = create(api, [nb("spark", "spark_notebook"), nb("empty", "empty")])
    run = api.get_run(api.run_now(job_id))
    assert states(run) == {"spark": "SUCCESS", "empty": "SUCCESS"}
    tasks = {t["task_key"]: t["run_id"] for t in run["tasks"]}
    assert api.get_run_output(tasks["spark"])["notebook_output"]["result"] == "10"
    assert api.get_run_output(tasks["empty"])["notebook_output"]["result"] == "no jvm"
