"""Task and run result states as the Jobs API defines them: whether a task runs given its
dependencies' states (`run_if`, condition outcomes) and a run's result from its leaf tasks."""

from __future__ import annotations

from collections.abc import Mapping

from mlplatform.jobs.model import JobSettings, Task

SUCCESS = "SUCCESS"
FAILED = "FAILED"
TIMEDOUT = "TIMEDOUT"
CANCELED = "CANCELED"
EXCLUDED = "EXCLUDED"
UPSTREAM_FAILED = "UPSTREAM_FAILED"
UPSTREAM_CANCELED = "UPSTREAM_CANCELED"
SUCCESS_WITH_FAILURES = "SUCCESS_WITH_FAILURES"

FAILED_STATES = (FAILED, TIMEDOUT, UPSTREAM_FAILED)
CANCELED_STATES = (CANCELED, UPSTREAM_CANCELED)
DONE_OK = (SUCCESS, SUCCESS_WITH_FAILURES, EXCLUDED)  # an excluded task counts as a success
REPAIRABLE = (FAILED, TIMEDOUT, CANCELED, UPSTREAM_FAILED, UPSTREAM_CANCELED)


def _dependency_state(state: str, outcome: str | None, needed: str | None) -> str:
    """A dependency's state as its dependent sees it: a condition task whose outcome is not
    the one the dependent needs counts as excluded."""
    if needed is not None and state in (SUCCESS, SUCCESS_WITH_FAILURES) and outcome != needed:
        return EXCLUDED
    return state


def decide(task: Task, upstream: Mapping[str, Mapping]) -> str | None:
    """None when `task` runs, else the state it ends in without running.

    Args:
        task: The task.
        upstream: Each dependency's record (`result_state` and, for a condition, `outcome`).
    """
    if not task.depends_on:
        return None
    states = [
        _dependency_state(
            upstream[d.task_key]["result_state"], upstream[d.task_key].get("outcome"), d.outcome
        )
        for d in task.depends_on
    ]
    if all(s == EXCLUDED for s in states):
        return EXCLUDED  # all dependencies excluded: excluded, whatever run_if says
    failed = [s for s in states if s in FAILED_STATES]
    canceled = [s for s in states if s in CANCELED_STATES]
    executed_ok = [s for s in states if s in (SUCCESS, SUCCESS_WITH_FAILURES)]
    ok = [s for s in states if s in DONE_OK]
    blocked = UPSTREAM_FAILED if failed else UPSTREAM_CANCELED if canceled else EXCLUDED
    match task.run_if:
        case "ALL_SUCCESS":
            return None if len(ok) == len(states) else blocked
        case "AT_LEAST_ONE_SUCCESS":
            return None if executed_ok else blocked
        case "NONE_FAILED":
            return None if not failed and not canceled and executed_ok else blocked
        case "ALL_DONE":
            return None
        case "AT_LEAST_ONE_FAILED":
            return None if failed else EXCLUDED
        case "ALL_FAILED":
            return None if len(failed) == len(states) else EXCLUDED
    raise ValueError(task.run_if)


def run_result(job: JobSettings, states: Mapping[str, str]) -> str:
    """The run's result: FAILED (or CANCELED) when a leaf task did not succeed,
    SUCCESS_WITH_FAILURES when another task failed but every leaf succeeded, else SUCCESS."""
    upstream_of = {d.task_key for t in job.tasks for d in t.depends_on}
    leaves = [t.task_key for t in job.tasks if t.task_key not in upstream_of]
    leaf_states = [states.get(k, CANCELED) for k in leaves]
    if any(s in FAILED_STATES for s in leaf_states):
        return FAILED
    if any(s in CANCELED_STATES for s in leaf_states):
        return CANCELED
    if any(s in FAILED_STATES + CANCELED_STATES for s in states.values()):
        return SUCCESS_WITH_FAILURES
    return SUCCESS


def compare(op: str, left: str, right: str) -> bool:
    """A condition task's comparison: EQUAL_TO / NOT_EQUAL compare text, the others numbers.

    Raises:
        ValueError: an operand of a numeric comparison that is not a number.
    """
    if op == "EQUAL_TO":
        return str(left) == str(right)
    if op == "NOT_EQUAL":
        return str(left) != str(right)
    try:
        a, b = float(left), float(right)
    except ValueError:
        raise ValueError(
            f"condition {op} compares numbers: {left!r} and {right!r} are not both numbers"
        ) from None
    return {
        "GREATER_THAN": a > b,
        "GREATER_THAN_OR_EQUAL": a >= b,
        "LESS_THAN": a < b,
        "LESS_THAN_OR_EQUAL": a <= b,
    }[op]
