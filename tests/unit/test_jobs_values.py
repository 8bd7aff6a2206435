"""Task values, dbutils and dynamic value references."""

from datetime import UTC, datetime

import pytest

from mlplatform.jobs import TaskValueError
from mlplatform.jobs.dbutils import DBUtils, InputWidgetNotDefined, JobInfo, NotebookExit
from mlplatform.jobs.errors import ReferenceError_
from mlplatform.jobs.references import RunContext, resolve


def in_job(upstream=None):
    sent = []
    job = JobInfo("evaluate", upstream or {}, lambda k, v: sent.append((k, v)))
    return DBUtils({"catalog": "prod"}, job), sent


def test_a_value_over_48_kib_is_refused_with_its_size():
    dbutils, sent = in_job()
    dbutils.jobs.taskValues.set("ok", "x" * (48 * 1024 - 2))  # 49152 bytes with the quotes
    with pytest.raises(TaskValueError) as err:
        dbutils.jobs.taskValues.set("big", "x" * (48 * 1024 - 1))
    assert str(err.value) == (
        "Task value 'big' is 49153 bytes as JSON; a task value may be at most 48 KiB (49152 bytes)"
    )
    assert [k for k, _ in sent] == ["ok"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            {1, 2},
            "Task value 'v' is not JSON-serializable (set): Object of type set is not JSON "
            "serializable",
        ),
        (
            float("nan"),
            "Task value 'v' is not JSON-serializable (float): Out of range float "
            "values are not JSON compliant",
        ),
        (
            datetime(2024, 1, 1),
            "Task value 'v' is not JSON-serializable (datetime): Object of "
            "type datetime is not JSON serializable",
        ),
    ],
)
def test_a_value_that_is_not_json_is_refused(value, message):
    dbutils, sent = in_job()
    with pytest.raises(TaskValueError) as err:
        dbutils.jobs.taskValues.set("v", value)
    assert str(err.value).startswith(message)
    assert sent == []


def test_get_reads_upstream_values_by_task_key_with_default():
    dbutils, _ = in_job({"train": {"auc": 0.91, "params": {"depth": 3}}})
    values = dbutils.jobs.taskValues
    assert values.get(taskKey="train", key="auc", default=0.0, debugValue=0.5) == 0.91
    assert values.get(taskKey="train", key="params") == {"depth": 3}
    assert values.get(taskKey="train", key="missing", default=7) == 7
    with pytest.raises(TaskValueError, match="task 'train' set no value 'missing'"):
        values.get(taskKey="train", key="missing")
    with pytest.raises(TaskValueError, match="no task 'train.py' ran before this one"):
        values.get(taskKey="train.py", key="auc")


def test_outside_a_job_get_returns_debug_value_or_a_type_error():
    values = DBUtils().jobs.taskValues
    assert values.get(taskKey="train", key="auc", default=0.0, debugValue=0.5) == 0.5
    with pytest.raises(TypeError, match="pass debugValue"):
        values.get(taskKey="train", key="auc", default=0.0)
    values.set("auc", 0.7)  # setting outside a job is checked and kept
    with pytest.raises(TaskValueError, match="48 KiB"):
        values.set("big", "y" * 50_000)


def test_widgets_passed_values_win_over_defaults():
    dbutils, _ = in_job()
    w = dbutils.widgets
    w.text("catalog", "dev")
    w.dropdown("mode", "fast", ["fast", "slow"])
    w.multiselect("cols", "a", ["a", "b"])
    assert (w.get("catalog"), w.get("mode"), w.getArgument("nope", "d")) == ("prod", "fast", "d")
    assert w.getAll() == {"catalog": "prod", "mode": "fast", "cols": "a"}
    w.removeAll()
    with pytest.raises(InputWidgetNotDefined, match="No input widget named mode is defined"):
        w.get("mode")
    with pytest.raises(ValueError, match="default 'x' is not one of"):
        w.dropdown("d", "x", ["a"])


def test_notebook_exit_carries_its_value_as_text():
    with pytest.raises(NotebookExit) as done:
        DBUtils().notebook.exit(42)
    assert done.value.value == "42"


def test_fs_over_local_paths(tmp_path):
    fs = DBUtils(dbfs_root=tmp_path / "dbfs").fs
    fs.mkdirs("dbfs:/data/in")
    fs.put("dbfs:/data/in/a.txt", "hello")
    fs.cp("dbfs:/data/in/a.txt", f"file:{tmp_path}/b.txt")
    fs.mv(f"{tmp_path}/b.txt", f"{tmp_path}/c.txt")
    assert fs.head(f"{tmp_path}/c.txt", 3) == "hel"
    assert [(f.name, f.size) for f in fs.ls("dbfs:/data/in")] == [("a.txt", 5)]
    with pytest.raises(FileExistsError):
        fs.put("dbfs:/data/in/a.txt", "again")
    assert fs.rm("dbfs:/data", recurse=True) and not (tmp_path / "dbfs" / "data").exists()


CTX = RunContext(
    job_id=4,
    run_id=17,
    job_name="churn",
    repair_count=1,
    start_time=datetime(2025, 3, 9, 6, 30, tzinfo=UTC),
    trigger_type="PERIODIC",
    parameters={"catalog": "prod"},
    tasks={
        "train": {"result_state": "SUCCESS", "values": {"auc": 0.9, "m": {"v": "3"}}},
        "evaluate": {"result_state": "FAILED", "values": {"decision": "skip"}},
    },
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{tasks.evaluate.values.decision}}", "skip"),
        ("auc={{ tasks.train.values.auc }}", "auc=0.9"),
        ("{{tasks.train.values.m.v}}", "3"),
        ("{{tasks.train.values.m}}", '{"v": "3"}'),
        ("{{tasks.evaluate.result_state}}", "failed"),
        ("{{job.parameters.catalog}}.ml.churn", "prod.ml.churn"),
        ("{{job.id}}/{{job.run_id}}/{{job.repair_count}}", "4/17/1"),
        ("{{job.start_time.iso_date}}", "2025-03-09"),
        ("{{job.trigger.type}}", "PERIODIC"),
        ("{{job.name}}", "churn"),
        (3, 3),
    ],
)
def test_references_resolve(text, expected):
    assert resolve(text, CTX) == expected


def test_input_resolves_inside_a_for_each_only():
    assert resolve("{{input}}-{{input.x}}", CTX, {"x": 1}) == '{"x": 1}-1'
    assert resolve("{{input}}", CTX, "us") == "us"
    with pytest.raises(ReferenceError_, match="only inside a for-each task"):
        resolve("{{input}}", CTX)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{{job.nope}}", "{{job.nope}} is not a known reference"),
        ("{{tasks.ghost.values.a}}", "{{tasks.ghost.values.a}}: no task 'ghost' ran before"),
        ("{{tasks.train.values.b}}", "{{tasks.train.values.b}}: task 'train' set no value 'b'"),
        ("{{job.parameters.zone}}", "{{job.parameters.zone}}: the job has no parameter 'zone'"),
        ("{{secrets.x}}", "{{secrets.x}} is not a known reference"),
    ],
)
def test_an_unknown_reference_is_an_error(text, message):
    with pytest.raises(ReferenceError_) as err:
        resolve(text, CTX)
    assert str(err.value).startswith(message)


def test_secrets_from_the_local_store_and_their_redaction(tmp_path):
    from mlplatform.jobs.secrets import redact

    (tmp_path / "ml").mkdir()
    (tmp_path / "ml" / "token").write_text("s3cr3t-value\n")
    secrets = DBUtils(secrets_root=tmp_path).secrets
    assert secrets.get(scope="ml", key="token") == "s3cr3t-value"
    assert [m.key for m in secrets.list("ml")] == ["token"]
    assert [s.name for s in secrets.listScopes()] == ["ml"]
    with pytest.raises(KeyError, match="Secret 'nope' does not exist in scope 'ml'"):
        secrets.get("ml", "nope")
    with pytest.raises(KeyError, match="Secret scope 'ops' does not exist"):
        secrets.get("ops", "token")
    assert redact("got s3cr3t-value twice: s3cr3t-value", tmp_path) == (
        "got [REDACTED] twice: [REDACTED]"
    )
