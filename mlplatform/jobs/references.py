"""Dynamic value references (`{{tasks.train.values.auc}}`, `{{job.run_id}}`, `{{input}}`):
resolved in task parameters, condition operands and for-each inputs before a task runs."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mlplatform.jobs.errors import ReferenceError_

PATTERN = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


@dataclass(frozen=True)
class RunContext:
    """What references may name: the job run and the records of the tasks before this one."""

    job_id: int | None
    run_id: int | None
    job_name: str = ""
    repair_count: int = 0
    start_time: datetime | None = None
    trigger_type: str = "ONE_TIME"
    parameters: Mapping[str, str] = field(default_factory=dict)
    tasks: Mapping[str, Mapping] = field(default_factory=dict)


_NO_INPUT = object()


def resolve(text: Any, ctx: RunContext, item: Any = _NO_INPUT) -> Any:
    """`text` with every reference replaced (non-text values are returned unchanged).

    Raises:
        ReferenceError_: a reference that names nothing known (the message names it).
    """
    if not isinstance(text, str):
        return text
    return PATTERN.sub(lambda m: _as_text(_lookup(m.group(1), ctx, item)), text)


def resolve_all(values: Mapping[str, Any], ctx: RunContext, item: Any = _NO_INPUT) -> dict:
    """`values` with references resolved in each value."""
    return {k: resolve(v, ctx, item) for k, v in values.items()}


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _lookup(ref: str, ctx: RunContext, item: Any) -> Any:
    parts = ref.split(".")
    head = parts[0]
    if head == "input":
        if item is _NO_INPUT:
            raise ReferenceError_(f"{{{{{ref}}}}}: `input` exists only inside a for-each task")
        value = item
        for part in parts[1:]:
            if not isinstance(value, Mapping) or part not in value:
                raise ReferenceError_(f"{{{{{ref}}}}}: the input has no field {part!r}")
            value = value[part]
        return value
    if head == "job":
        return _job(ref, parts[1:], ctx)
    if head == "tasks" and len(parts) >= 3:
        return _task(ref, parts[1], parts[2:], ctx)
    raise ReferenceError_(f"{{{{{ref}}}}} is not a known reference")


def _job(ref: str, rest: list[str], ctx: RunContext) -> Any:
    start = ctx.start_time
    simple = {
        ("id",): ctx.job_id,
        ("run_id",): ctx.run_id,
        ("name",): ctx.job_name,
        ("repair_count",): ctx.repair_count,
        ("trigger", "type"): ctx.trigger_type,
    }
    if start is not None:
        simple |= {
            ("start_time", "iso_date"): start.date().isoformat(),
            ("start_time", "iso_datetime"): start.isoformat(),
            ("start_time", "timestamp"): int(start.timestamp() * 1000),
        }
    if tuple(rest) in simple:
        value = simple[tuple(rest)]
        return "" if value is None else str(value)
    if len(rest) == 2 and rest[0] == "parameters":
        if rest[1] not in ctx.parameters:
            raise ReferenceError_(f"{{{{{ref}}}}}: the job has no parameter {rest[1]!r}")
        return ctx.parameters[rest[1]]
    raise ReferenceError_(f"{{{{{ref}}}}} is not a known reference")


def _task(ref: str, key: str, rest: list[str], ctx: RunContext) -> Any:
    if key not in ctx.tasks:
        raise ReferenceError_(f"{{{{{ref}}}}}: no task {key!r} ran before this one")
    record = ctx.tasks[key]
    if rest == ["result_state"]:
        return record["result_state"].lower()
    if rest == ["run_id"]:
        return str(record.get("run_id") or "")
    if rest[0] == "values" and len(rest) >= 2:
        values = record.get("values", {})
        if rest[1] not in values:
            raise ReferenceError_(f"{{{{{ref}}}}}: task {key!r} set no value {rest[1]!r}")
        value = values[rest[1]]
        for part in rest[2:]:
            if not isinstance(value, Mapping) or part not in value:
                raise ReferenceError_(f"{{{{{ref}}}}}: the value has no field {part!r}")
            value = value[part]
        return value
    raise ReferenceError_(f"{{{{{ref}}}}} is not a known reference")
