"""A job as a Dagster job, run in process: each run_if value after a failing task, condition
branches shown as excluded tasks, the run's result and Dagster's view (tags, metadata)."""

import dagster as dg
import pytest

from mlplatform.jobs import load_job
from mlplatform.jobs.graph import RESULT_OP, build_job
from mlplatform.jobs.run_tags import RunTags


def cond(key, left="1", right="1", op="EQUAL_TO", deps=(), run_if="ALL_SUCCESS"):
    return {
        "task_key": key,
        "run_if": run_if,
        "condition_task": {"op": op, "left": left, "right": right},
        "depends_on": [{"task_key": d} if isinstance(d, str) else d for d in deps],
    }


FAILING = cond("bad", left="not a number", op="GREATER_THAN")  # a condition that fails
RUN_IF = {
    "ALL_SUCCESS": "UPSTREAM_FAILED",
    "AT_LEAST_ONE_SUCCESS": "SUCCESS",
    "NONE_FAILED": "UPSTREAM_FAILED",
    "ALL_DONE": "SUCCESS",
    "AT_LEAST_ONE_FAILED": "SUCCESS",
    "ALL_FAILED": "EXCLUDED",
}


@pytest.fixture(scope="module")
def instance():
    with dg.instance_for_test() as instance:
        yield instance


def test_each_run_if_after_a_failing_task(instance, tmp_path):
    """One run: `ok` succeeds, `bad` fails, and one task per run_if depends on both."""
    tasks = [cond("ok"), FAILING] + [
        cond(f"t_{run_if.lower()}", deps=("ok", "bad"), run_if=run_if) for run_if in RUN_IF
    ]
    job = load_job({"name": "run if", "tasks": tasks})
    result = build_job(job, tmp_path).execute_in_process(instance=instance, raise_on_error=False)
    records = {}
    for task in job.tasks:
        records |= result.output_for_node(task.task_key)
    states = {k: r["result_state"] for k, r in records.items()}
    assert states == {"ok": "SUCCESS", "bad": "FAILED"} | {
        f"t_{run_if.lower()}": state for run_if, state in RUN_IF.items()
    }
    assert records["bad"]["state_message"] == (
        "condition GREATER_THAN compares numbers: 'not a number' and '1' are not both numbers"
    )
    # two leaves did not succeed (UPSTREAM_FAILED): the job run failed, and the Dagster run too
    assert not result.success


def test_a_condition_runs_one_branch_and_excludes_the_other_and_its_dependents(instance, tmp_path):
    tasks = [
        cond("check", left="{{job.parameters.x}}", right="5", op="GREATER_THAN"),
        cond("big", deps=({"task_key": "check", "outcome": "true"},)),
        cond("small", deps=({"task_key": "check", "outcome": "false"},)),
        cond("after_small", deps=("small",)),
        cond("either", deps=("big", "small"), run_if="NONE_FAILED"),
    ]
    job = {"name": "g", "parameters": [{"name": "x", "default": "1"}], "tasks": tasks}
    settings = load_job(job)
    result = build_job(settings, tmp_path).execute_in_process(
        instance=instance, tags=RunTags(job_id=9, run_id=21, parameters={"x": "7"}).tags()
    )
    records = result.output_for_node("either")
    assert {k: (r["result_state"], r["outcome"]) for k, r in records.items()} == {
        "check": ("SUCCESS", "true"),
        "big": ("SUCCESS", "true"),
        "small": ("EXCLUDED", None),
        "either": ("SUCCESS", "true"),
    }
    assert result.output_for_node("after_small")["after_small"]["result_state"] == "EXCLUDED"
    assert result.output_for_node(RESULT_OP) == "SUCCESS"
    run = instance.get_run_by_id(result.run_id)
    assert run.tags["mlplatform/jobs.job_id"] == "9"
    assert run.tags["mlplatform/jobs.run_id"] == "21"
    check = [
        e
        for e in instance.all_logs(result.run_id, of_type=dg.DagsterEventType.STEP_OUTPUT)
        if e.step_key == "check"
    ][0]
    metadata = check.dagster_event.step_output_data.metadata
    assert metadata["outcome"].value == "true"
    assert metadata["result_state"].value == "SUCCESS"


def test_a_leaf_after_a_failure_gives_success_with_failures(instance, tmp_path):
    tasks = [FAILING, cond("cleanup", deps=("bad",), run_if="ALL_DONE")]
    job = load_job({"name": "cleanup", "tasks": tasks})
    result = build_job(job, tmp_path).execute_in_process(instance=instance, raise_on_error=False)
    assert result.success
    assert result.output_for_node(RESULT_OP) == "SUCCESS_WITH_FAILURES"
