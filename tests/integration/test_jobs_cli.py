"""The four-task ML job (train, evaluate, a condition on the evaluation's decision, deploy) as
Jobs API JSON, through the real `mlplatform jobs` CLI in subprocesses."""

import json

import pytest

from tests.integration._cli import mlplatform

pytestmark = pytest.mark.integration
JOB = "tests/data/jobs/ml_job.json"


def states(run):
    return {t["task_key"]: t["state"]["result_state"] for t in run["tasks"]}


def test_the_ml_job_promotes_or_skips_and_reports_its_outputs(tmp_path):
    home = tmp_path / "home"
    created = mlplatform(home, "jobs", "create", "--json", f"@{JOB}")
    job_id = json.loads(created.stdout)["job_id"]
    assert job_id == 1

    promoted = json.loads(mlplatform(home, "jobs", "run-now", str(job_id), "-o", "json").stdout)
    assert promoted["state"] == {
        "life_cycle_state": "TERMINATED",
        "state_message": "",
        "result_state": "SUCCESS",
    }
    assert states(promoted) == {
        "train": "SUCCESS",
        "evaluate": "SUCCESS",
        "decide": "SUCCESS",
        "deploy": "SUCCESS",
    }
    tasks = {t["task_key"]: t for t in promoted["tasks"]}
    assert tasks["decide"]["condition_task"]["outcome"] == "true"
    output = mlplatform(
        home, "jobs", "get-run-output", str(tasks["deploy"]["run_id"]), "-o", "json"
    )
    assert json.loads(output.stdout)["notebook_output"] == {
        "result": "deployed dev.ml.churn version 3",
        "truncated": False,
    }

    skipped = mlplatform(
        home,
        "jobs",
        "run-now",
        str(job_id),
        "--json",
        '{"job_parameters": {"champion_auc": "0.95"}}',
    )
    run_id = int(skipped.stdout.split()[1])
    run = json.loads(mlplatform(home, "jobs", "get-run", str(run_id), "-o", "json").stdout)
    assert states(run) == {
        "train": "SUCCESS",
        "evaluate": "SUCCESS",
        "decide": "SUCCESS",
        "deploy": "EXCLUDED",
    }
    assert run["state"]["result_state"] == "SUCCESS"
    assert {p["name"]: p["value"] for p in run["job_parameters"]} == {
        "catalog": "dev",
        "champion_auc": "0.95",
    }
    evaluate = next(t for t in run["tasks"] if t["task_key"] == "evaluate")
    text = mlplatform(home, "jobs", "get-run-output", str(evaluate["run_id"]))
    assert text.stdout.strip() == "skip"
    whole = mlplatform(home, "jobs", "get-run-output", str(run_id), check=False)
    assert whole.returncode == 1
    assert "Retrieving the output of runs with multiple tasks is not supported" in whole.stderr

    listed = json.loads(mlplatform(home, "jobs", "list-runs", "--job-id", "1", "-o", "json").stdout)
    assert [r["run_id"] for r in listed["runs"]] == [run_id, promoted["run_id"]]


def test_an_unsupported_task_kind_is_refused_at_create(tmp_path):
    home = tmp_path / "home"
    proc = mlplatform(
        home, "jobs", "create", "--json", "@tests/data/jobs/unsupported_job.json", check=False
    )
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        "Error: tests/data/jobs/unsupported_job.json: tasks[1].spark_jar_task: task 'aggregate' "
        "is a spark_jar_task, which cannot run here (JAR tasks need a JVM cluster)"
    )
    assert json.loads(mlplatform(home, "jobs", "list", "-o", "json").stdout) == {"jobs": []}
    missing = mlplatform(home, "jobs", "get", "7", check=False)
    assert (missing.returncode, missing.stderr.strip()) == (1, "Error: Job 7 does not exist.")
