"""Task values: checked when set (JSON-serializable, at most 48 KiB as JSON) and kept with the
Dagster run (the step's output metadata in the run's event log)."""

from __future__ import annotations

import json
from typing import Any

from mlplatform.jobs.errors import TaskValueError

LIMIT = 48 * 1024
"""The largest task value, in bytes of its JSON text."""
RECORD = "jobs/task_record"
"""The output metadata entry holding a task's record (state, values, output)."""


def checked(key: str, value: Any) -> Any:
    """`value` when it can be a task value under `key`.

    Raises:
        TaskValueError: the key is not text, the value is not JSON-serializable or is larger
            than 48 KiB as JSON.
    """
    if not isinstance(key, str) or not key:
        raise TaskValueError(f"A task value's key must be a non-empty string, not {key!r}")
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise TaskValueError(
            f"Task value {key!r} is not JSON-serializable ({type(value).__name__}): {err}"
        ) from None
    size = len(text.encode())
    if size > LIMIT:
        raise TaskValueError(
            f"Task value {key!r} is {size} bytes as JSON; a task value may be at most 48 KiB "
            f"({LIMIT} bytes)"
        )
    return json.loads(text)


def records_of_run(instance, dagster_run_id: str) -> dict[str, dict]:
    """Each task's record in a Dagster run, read from the run's step output metadata."""
    import dagster as dg

    found: dict[str, dict] = {}
    for entry in instance.all_logs(dagster_run_id, of_type=dg.DagsterEventType.STEP_OUTPUT):
        metadata = entry.dagster_event.step_output_data.metadata
        if RECORD in metadata:
            record = metadata[RECORD].value
            found[record["task_key"]] = record
    return found
