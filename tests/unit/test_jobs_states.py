"""Task states as the Jobs API defines them: run_if against dependency states, condition
outcomes, comparisons and the run's result from its leaf tasks."""

import pytest

from mlplatform.jobs import load_job
from mlplatform.jobs.states import compare, decide, run_result


def task(run_if="ALL_SUCCESS", deps=("a", "b"), outcome=None):
    data = {
        "name": "j",
        "tasks": [
            {"task_key": "a", "condition_task": {"op": "EQUAL_TO", "left": "1", "right": "1"}},
            {"task_key": "b", "condition_task": {"op": "EQUAL_TO", "left": "1", "right": "1"}},
            {
                "task_key": "t",
                "run_if": run_if,
                "notebook_task": {"notebook_path": "t"},
                "depends_on": [
                    {"task_key": d} | ({"outcome": outcome} if outcome else {}) for d in deps
                ],
            },
        ],
    }
    return load_job(data).task("t")


def rec(state, outcome=None):
    return {"result_state": state, "outcome": outcome}


# (run_if, state of a, state of b) -> the dependent's state (None: it runs)
TABLE = [
    ("ALL_SUCCESS", "SUCCESS", "SUCCESS", None),
    ("ALL_SUCCESS", "SUCCESS", "FAILED", "UPSTREAM_FAILED"),
    ("ALL_SUCCESS", "SUCCESS", "EXCLUDED", None),
    ("ALL_SUCCESS", "SUCCESS", "CANCELED", "UPSTREAM_CANCELED"),
    ("ALL_SUCCESS", "TIMEDOUT", "SUCCESS", "UPSTREAM_FAILED"),
    ("AT_LEAST_ONE_SUCCESS", "SUCCESS", "FAILED", None),
    ("AT_LEAST_ONE_SUCCESS", "FAILED", "FAILED", "UPSTREAM_FAILED"),
    ("AT_LEAST_ONE_SUCCESS", "FAILED", "EXCLUDED", "UPSTREAM_FAILED"),
    ("NONE_FAILED", "SUCCESS", "EXCLUDED", None),
    ("NONE_FAILED", "SUCCESS", "FAILED", "UPSTREAM_FAILED"),
    ("NONE_FAILED", "SUCCESS", "UPSTREAM_FAILED", "UPSTREAM_FAILED"),
    ("ALL_DONE", "FAILED", "FAILED", None),
    ("ALL_DONE", "SUCCESS", "CANCELED", None),
    ("AT_LEAST_ONE_FAILED", "SUCCESS", "FAILED", None),
    ("AT_LEAST_ONE_FAILED", "SUCCESS", "SUCCESS", "EXCLUDED"),
    ("AT_LEAST_ONE_FAILED", "SUCCESS", "UPSTREAM_FAILED", None),
    ("ALL_FAILED", "FAILED", "TIMEDOUT", None),
    ("ALL_FAILED", "FAILED", "SUCCESS", "EXCLUDED"),
    ("ALL_DONE", "EXCLUDED", "EXCLUDED", "EXCLUDED"),  # all dependencies excluded: excluded
    ("ALL_FAILED", "EXCLUDED", "EXCLUDED", "EXCLUDED"),
]


@pytest.mark.parametrize(("run_if", "a", "b", "expected"), TABLE)
def test_run_if_against_dependency_states(run_if, a, b, expected):
    assert decide(task(run_if), {"a": rec(a), "b": rec(b)}) == expected


def test_a_condition_outcome_not_taken_excludes_its_branch():
    t = task(deps=("a",), outcome="true")
    assert decide(t, {"a": rec("SUCCESS", "true")}) is None
    assert decide(t, {"a": rec("SUCCESS", "false")}) == "EXCLUDED"
    assert decide(t, {"a": rec("FAILED")}) == "UPSTREAM_FAILED"


@pytest.mark.parametrize(
    ("op", "left", "right", "expected"),
    [
        ("EQUAL_TO", "12.0", "12", False),  # strings
        ("NOT_EQUAL", "promote", "skip", True),
        ("GREATER_THAN_OR_EQUAL", "12.0", "12", True),  # numbers
        ("GREATER_THAN", "10.0", "12", False),
        ("LESS_THAN", "9", "10", True),  # numerically, not as text
        ("LESS_THAN_OR_EQUAL", "10", "9.5", False),
    ],
)
def test_conditions_compare_strings_or_numbers_as_documented(op, left, right, expected):
    assert compare(op, left, right) is expected


def test_a_numeric_condition_on_text_is_an_error():
    with pytest.raises(ValueError, match="GREATER_THAN compares numbers: 'x' and '1'"):
        compare("GREATER_THAN", "x", "1")


def chain():
    return load_job(
        {
            "name": "j",
            "tasks": [
                {"task_key": "a", "notebook_task": {"notebook_path": "a"}},
                {
                    "task_key": "b",
                    "notebook_task": {"notebook_path": "b"},
                    "depends_on": [{"task_key": "a"}],
                },
                {
                    "task_key": "c",
                    "notebook_task": {"notebook_path": "c"},
                    "depends_on": [{"task_key": "a"}],
                },
            ],
        }
    )


@pytest.mark.parametrize(
    ("a", "b", "c", "expected"),
    [
        ("SUCCESS", "SUCCESS", "SUCCESS", "SUCCESS"),
        ("SUCCESS", "SUCCESS", "EXCLUDED", "SUCCESS"),
        ("FAILED", "SUCCESS", "SUCCESS", "SUCCESS_WITH_FAILURES"),  # leaves ran after a failure
        ("SUCCESS", "FAILED", "SUCCESS", "FAILED"),
        ("FAILED", "UPSTREAM_FAILED", "SUCCESS", "FAILED"),
        ("SUCCESS", "CANCELED", "SUCCESS", "CANCELED"),
    ],
)
def test_the_run_result_comes_from_the_leaf_tasks(a, b, c, expected):
    assert run_result(chain(), {"a": a, "b": b, "c": c}) == expected
