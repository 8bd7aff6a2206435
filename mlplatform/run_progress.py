"""One short line per finished step of a Dagster run, read from the run's events.

`mlplatform quickstart` runs `dagster asset materialize` with its event stream going to a log
file and shows these lines instead: the step's assets, the rows they hold, how many checks passed
and failed, and the step's seconds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import dagster as dg

ROW_COUNT = "dagster/row_count"
CHECK_FAILED = "DagsterAssetCheckFailedError"
"""The class name of the error a step fails with when a blocking check of its asset failed."""
MAX_NAMED_ASSETS = 3
"""A step checking more assets than this is summed up as `N tables`."""


@dataclass
class _Step:
    started: float | None = None
    rows: dict[str, int | None] = field(default_factory=dict)
    checked: list[str] = field(default_factory=list)
    check_names: list[str] = field(default_factory=list)
    passed: int = 0
    failed: int = 0
    skipped: list[str] = field(default_factory=list)


def _rows(metadata) -> int | None:
    value = metadata.get(ROW_COUNT)
    return None if value is None else int(value.value)


def _first_line(error) -> str:
    """The first line of the innermost error (Dagster wraps the user's error in its own)."""
    while error is not None and error.cause is not None:
        error = error.cause
    lines = error.message.strip().splitlines() if error is not None else []
    return lines[0] if lines else ""


def _checks_label(step: _Step) -> str:
    """What a step that only ran checks checked: one check by name (two steps checking one asset
    print two different lines), many tables by count."""
    if len(step.checked) > MAX_NAMED_ASSETS:
        return f"{', '.join(step.check_names)} checks of {len(step.checked)} tables"
    label = f"{', '.join(step.checked)} checks"
    if len(step.check_names) == 1:
        label += f" ({step.check_names[0]})"
    return label


class RunProgress:
    """Follows a run's event log entries and says what each finished step did."""

    def __init__(self) -> None:
        self._steps: dict[str, _Step] = {}
        self.steps_done = 0
        self.steps_failed = 0
        self.failed_gates: list[dg.AssetCheckEvaluation] = []
        """The failed blocking checks (gates) of the run, in order."""
        self.other_failures = 0
        """Steps that failed for another reason than a failed gate."""

    def feed(self, entries: Iterable[dg.EventLogEntry]) -> list[str]:
        """Take the next entries of the run (in order); return a line per step they finished."""
        lines = []
        for entry in entries:
            event = entry.dagster_event
            if event is None or entry.step_key is None:
                continue
            step = self._steps.setdefault(entry.step_key, _Step())
            kind = event.event_type
            if kind == dg.DagsterEventType.STEP_START:
                step.started = entry.timestamp
            elif kind == dg.DagsterEventType.ASSET_MATERIALIZATION:
                materialization = entry.asset_materialization
                step.rows[materialization.asset_key.to_user_string()] = _rows(
                    materialization.metadata
                )
            elif kind == dg.DagsterEventType.ASSET_OBSERVATION:
                observation = entry.asset_observation
                skipped = observation.metadata.get("skipped")
                if skipped is not None:
                    key = observation.asset_key.to_user_string()
                    step.skipped.append(f"{key} not materialized: {skipped.value}")
            elif kind == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
                evaluation = entry.asset_check_evaluation
                key = evaluation.asset_key.to_user_string()
                if key not in step.checked:
                    step.checked.append(key)
                if evaluation.check_name not in step.check_names:
                    step.check_names.append(evaluation.check_name)
                if evaluation.passed:
                    step.passed += 1
                else:
                    step.failed += 1
                    if evaluation.blocking:
                        self.failed_gates.append(evaluation)
            elif kind in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
                failed = kind == dg.DagsterEventType.STEP_FAILURE
                failure = event.step_failure_data if failed else None
                lines.extend(self._finish(entry.step_key, step, entry.timestamp, failure))
        return lines

    def _finish(self, step_key: str, step: _Step, ended: float, failure) -> list[str]:
        self.steps_done += 1
        seconds = ended - step.started if step.started is not None else 0.0
        parts = []
        if step.rows:
            label = ", ".join(step.rows)
            counts = [n for n in step.rows.values() if n is not None]
            if counts:
                parts.append(" + ".join(f"{n:,}" for n in counts) + " rows")
        elif step.checked:
            label = _checks_label(step)
        else:
            label = step_key
        if step.checked:
            parts.append(f"checks {step.passed} passed, {step.failed} failed")
        if failure is not None:
            self.steps_failed += 1
            gate = failure.error is not None and failure.error.cls_name == CHECK_FAILED
            self.other_failures += not gate
            message = "a blocking check failed" if gate else _first_line(failure.error)
            parts.append(f"FAILED: {message}" if message else "FAILED")
        parts.append(f"{seconds:.1f} s")
        return [f"  {label}: {'; '.join(parts)}", *(f"    {r}" for r in step.skipped)]


def _value(metadata, name: str):
    entry = metadata.get(name)
    value = None if entry is None else entry.value
    return f"{value:.3f}" if isinstance(value, float) else value


def gate_sentence(evaluation: dg.AssetCheckEvaluation) -> str:
    """`check (metric value < floor value)`: what a failed gate measured, from its metadata."""
    metadata = evaluation.metadata
    floor = _value(metadata, "floor")
    measured = [
        f"{name} {_value(metadata, name)}"
        for name in metadata
        if name not in ("floor", "model_version", "holdout_rows")
        and not isinstance(metadata[name].value, (dict, list))
    ]
    detail = ", ".join(measured) + (f" < floor {floor}" if floor is not None else "")
    return f"{evaluation.check_name} ({detail})" if detail else evaluation.check_name
