"""The job model: Jobs API JSON read into typed settings, with errors naming source and key."""

import json

import pytest

from mlplatform.jobs import JobSpecError, load_job, load_job_json
from mlplatform.jobs.validate import topological


def job(*tasks, **extra):
    return {"name": "j", "tasks": list(tasks), **extra}


def nb(key, *deps, **extra):
    return {
        "task_key": key,
        "notebook_task": {"notebook_path": f"{key}.py"},
        "depends_on": [{"task_key": d} for d in deps],
        **extra,
    }


def test_a_job_reads_its_tasks_dependencies_parameters_and_outcomes():
    data = job(
        nb("train"),
        {
            "task_key": "decide",
            "depends_on": [{"task_key": "train"}],
            "condition_task": {"op": "EQUAL_TO", "left": "{{job.id}}", "right": "1"},
        },
        nb("deploy", run_if="ALL_DONE", max_retries=2, timeout_seconds=30)
        | {"depends_on": [{"task_key": "decide", "outcome": "true"}]},
        parameters=[{"name": "catalog", "default": "dev"}],
    )
    settings = load_job(data, "job.json")
    assert [t.task_key for t in settings.tasks] == ["train", "decide", "deploy"]
    deploy = settings.task("deploy")
    assert (deploy.kind, deploy.run_if, deploy.max_retries, deploy.timeout_seconds) == (
        "notebook_task",
        "ALL_DONE",
        2,
        30,
    )
    assert deploy.depends_on[0].outcome == "true"
    assert settings.parameters[0].name == "catalog" and settings.parameters[0].default == "dev"
    assert settings.raw == data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            job({"task_key": "jar", "spark_jar_task": {"main_class_name": "a.B"}}),
            "job.json: tasks[0].spark_jar_task: task 'jar' is a spark_jar_task, which cannot run "
            "here (JAR tasks need a JVM cluster)",
        ),
        (
            job(nb("a"), {"task_key": "dbt", "dbt_task": {"commands": ["dbt run"]}}),
            "job.json: tasks[1].dbt_task: task 'dbt' is a dbt_task, which cannot run here "
            "(dbt tasks are not supported)",
        ),
        (
            job(nb("a", "b"), nb("b", "a")),
            "job.json: tasks: a dependency cycle: a -> b -> a",
        ),
        (
            job(nb("a", "ghost")),
            "job.json: tasks[0].depends_on[0].task_key: task 'a' depends on unknown task 'ghost'",
        ),
        (job(nb("a", run_if="SOMETIMES")), "job.json: tasks[0].run_if: 'SOMETIMES' is not one of"),
        (job(nb("a"), nb("a")), "job.json: tasks[1]: task key 'a' repeats 'a'"),
        (
            job({"task_key": "a", "notebook_task": {}}),
            "job.json: tasks[0].notebook_task.notebook_path: is required for a notebook_task",
        ),
        (
            job({"task_key": "c", "condition_task": {"op": "LIKE", "left": "a", "right": "b"}}),
            "job.json: tasks[0].condition_task.op: 'LIKE' is not one of EQUAL_TO",
        ),
        (
            job(nb("a"), nb("b") | {"depends_on": [{"task_key": "a", "outcome": "true"}]}),
            "job.json: tasks[1].depends_on[0].outcome: 'a' is not a condition_task",
        ),
        (job(), "job.json: tasks: a job needs a non-empty list of tasks"),
        (
            job({"task_key": "x", "mystery_task": {}}),
            "job.json: tasks[0].mystery_task: task 'x': unknown task kind 'mystery_task'",
        ),
        (
            job(nb("a", max_retries=-1)),
            "job.json: tasks[0].max_retries: must be a non-negative integer, not -1",
        ),
        (
            job(
                {
                    "task_key": "loop",
                    "for_each_task": {"inputs": "[1]", "concurrency": 0, "task": nb("inner")},
                }
            ),
            "job.json: tasks[0].for_each_task.concurrency: must be a positive integer, not 0",
        ),
    ],
)
def test_a_wrong_job_is_refused_naming_source_key_and_task(data, message):
    with pytest.raises(JobSpecError) as err:
        load_job(data, "job.json")
    assert str(err.value).startswith(message)
    assert err.value.key == message.split(": ")[1].split(" ")[0]


def test_the_error_key_is_the_path_a_bundle_maps_to_its_line():
    with pytest.raises(JobSpecError) as err:
        load_job(job(nb("a"), {"task_key": "b", "notebook_task": {}}), "job 3")
    assert err.value.key == "tasks[1].notebook_task.notebook_path"


def test_bad_json_names_the_line_and_column():
    text = '{\n  "name": "j",\n  "tasks": [,]\n}'
    with pytest.raises(JobSpecError, match=r"^job.json: line 3 column 13: not valid JSON"):
        load_job_json(text, "job.json")


def test_tasks_come_after_their_dependencies():
    settings = load_job(job(nb("c", "b"), nb("b", "a"), nb("a")))
    assert [t.task_key for t in topological(settings)] == ["a", "b", "c"]


def test_a_jobs_get_object_reads_as_its_settings():
    data = {"job_id": 3, "settings": job(nb("a"))}
    assert load_job_json(json.dumps(data)).tasks[0].task_key == "a"
