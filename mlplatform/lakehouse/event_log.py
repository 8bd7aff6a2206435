"""The pipeline event log: one Delta table per pipeline that every update appends to, with
Delta Live Tables' columns.

``id``, ``sequence`` (JSON), ``origin`` (struct: pipeline, update id = the Dagster run id, flow and
dataset), ``timestamp``, ``message``, ``level``, ``error`` (struct), ``details`` (JSON) and
``event_type`` (``create_update``, ``update_progress``, ``flow_definition``, ``flow_progress``).
``flow_progress`` details carry ``flow_progress.metrics.num_output_rows`` and
``flow_progress.data_quality.expectations`` (name, dataset, passed and failed records: the same
counts as the asset checks of the run).

A declarative pipeline's log is ``lakehouse/<schema>/event_log``; the native medallion tables log
to ``lakehouse/_event_log`` (pipeline ``mlplatform``). Each write is one Delta commit with the
app transaction ``(<log>/<update id>/<flow>, 1)``, so an update's events are written once; a
failure to log is itself logged and never fails the update it describes. Registered
``on_event_hook`` functions are called with every event.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import polars as pl

from mlplatform.lakehouse.delta import DeltaStore
from mlplatform.settings import Settings, get_settings

log = logging.getLogger(__name__)

EVENT_LOG = "event_log"
ORIGIN = pl.Struct(
    {
        "pipeline_id": pl.String,
        "pipeline_name": pl.String,
        "update_id": pl.String,
        "flow_name": pl.String,
        "dataset_name": pl.String,
        "batch_id": pl.Int64,
    }
)
ERROR = pl.Struct(
    {
        "fatal": pl.Boolean,
        "exceptions": pl.List(pl.Struct({"class_name": pl.String, "message": pl.String})),
    }
)
SCHEMA = {
    "id": pl.String,
    "sequence": pl.String,
    "origin": ORIGIN,
    "timestamp": pl.Datetime("us", "UTC"),
    "message": pl.String,
    "level": pl.String,
    "maturity_level": pl.String,
    "error": ERROR,
    "details": pl.String,
    "event_type": pl.String,
}


@dataclass
class EventHook:
    """An ``on_event_hook`` function; disabled after too many consecutive failures."""

    func: object
    max_failures: int | None = None
    failures: int = 0

    def __call__(self, event: dict) -> None:
        if self.max_failures is not None and self.failures >= self.max_failures:
            return
        try:
            self.func(event)
            self.failures = 0
        except Exception:  # a hook never fails the update
            self.failures += 1
            log.exception("event hook %s failed", getattr(self.func, "__name__", self.func))


@dataclass
class EventLogTarget:
    """Where a pipeline's events go: ``lakehouse/<parts...>``."""

    pipeline: str
    parts: tuple[str, ...]
    hooks: list = field(default_factory=list)

    @property
    def name(self) -> str:
        return "/".join(self.parts)

    def store(self, app_id: str, settings: Settings | None = None) -> DeltaStore:
        """The log's table under the home of ``settings`` (default: the environment's)."""
        root = (settings or get_settings()).lakehouse
        return DeltaStore(root.joinpath(*self.parts), app_id)


NATIVE = EventLogTarget("mlplatform", ("_event_log",))
_TARGETS: dict[str, tuple[EventLogTarget, str]] = {}  # table key -> (target, dataset name)


def register(table_key: str, target: EventLogTarget, dataset: str) -> None:
    """Send the events of the table ``table_key`` to ``target`` under the name ``dataset``."""
    _TARGETS[table_key] = (target, dataset)


def target_for(table_key: str) -> tuple[EventLogTarget, str]:
    return _TARGETS.get(table_key) or (NATIVE, table_key.replace("/", "."))


def event(
    target: EventLogTarget,
    update_id: str,
    event_type: str,
    message: str,
    details: dict,
    flow: str | None = None,
    level: str = "INFO",
    error: BaseException | None = None,
    batch_id: int | None = None,
) -> dict:
    """One event row."""
    now = datetime.now(UTC)
    return {
        "id": str(uuid.uuid4()),
        "sequence": json.dumps({"control_plane_seq_no": time.time_ns()}),
        "origin": {
            "pipeline_id": target.name,
            "pipeline_name": target.pipeline,
            "update_id": update_id,
            "flow_name": flow,
            "dataset_name": flow,
            "batch_id": batch_id,
        },
        "timestamp": now,
        "message": message,
        "level": level,
        "maturity_level": "STABLE",
        "error": None
        if error is None
        else {
            "fatal": True,
            "exceptions": [{"class_name": type(error).__name__, "message": str(error)}],
        },
        "details": json.dumps({event_type: details}, default=str),
        "event_type": event_type,
    }


def append(
    target: EventLogTarget,
    update_id: str,
    key: str,
    events: list[dict],
    settings: Settings | None = None,
) -> bool:
    """Append ``events`` once per ``(update, key)``; returns whether they were written now.

    Never raises: a failure to log is logged."""
    try:
        store = target.store(f"{target.name}/{update_id}/{key}", settings)
        if store.committed_batch() >= 1:
            return False
        store.write(pl.DataFrame(events, schema=SCHEMA), 1, mode="append")
    except Exception:
        log.exception("could not write %d events to the event log %s", len(events), target.name)
        return False
    for hook in target.hooks:
        for row in events:
            hook(dict(row))
    return True


def start_update(
    target: EventLogTarget,
    update_id: str,
    full_refresh: bool = False,
    settings: Settings | None = None,
) -> None:
    """``create_update`` and ``update_progress RUNNING``, once per update."""
    events = [
        event(
            target,
            update_id,
            "create_update",
            f"Update {update_id} started.",
            {"cause": "API_CALL", "full_refresh": full_refresh},
        ),
        event(
            target,
            update_id,
            "update_progress",
            "Update is RUNNING.",
            {"state": "RUNNING"},
        ),
    ]
    append(target, update_id, "create_update", events, settings)


def finish_update(
    target: EventLogTarget,
    update_id: str,
    error: BaseException | None,
    settings: Settings | None = None,
) -> None:
    """``update_progress COMPLETED`` or ``FAILED``, once per update."""
    state = "FAILED" if error else "COMPLETED"
    events = [
        event(
            target,
            update_id,
            "update_progress",
            f"Update is {state}.",
            {"state": state},
            level="ERROR" if error else "INFO",
            error=error,
        )
    ]
    append(target, update_id, "update_progress", events, settings)


def record_flow(
    target: EventLogTarget,
    update_id: str,
    dataset: str,
    definition: dict,
    metrics: dict | None = None,
    expectations: list[dict] | None = None,
    dropped_records: int = 0,
    error: BaseException | None = None,
    batch_id: int | None = None,
    full_refresh: bool = False,
    settings: Settings | None = None,
) -> None:
    """A flow's ``flow_definition`` and its final ``flow_progress`` (COMPLETED or FAILED)."""
    start_update(target, update_id, full_refresh, settings)
    status = "FAILED" if error else "COMPLETED"
    progress = {"status": status, "metrics": metrics or {}}
    if expectations is not None:
        progress["data_quality"] = {
            "dropped_records": dropped_records,
            "expectations": expectations,
        }
    events = [
        event(
            target,
            update_id,
            "flow_definition",
            f"Flow '{dataset}' is defined as {definition.get('flow_type', 'COMPLETE')}.",
            {"output_dataset": dataset, **definition},
            flow=dataset,
        ),
        event(
            target,
            update_id,
            "flow_progress",
            f"Flow '{dataset}' has {status.lower()}.",
            progress,
            flow=dataset,
            level="ERROR" if error else "INFO",
            error=error,
            batch_id=batch_id,
        ),
    ]
    append(target, update_id, f"flow/{dataset}", events, settings)


@dataclass
class _Zero:
    expectation: object
    passed_records: int = 0
    failed_records: int = 0


def expectation_rows(results, dataset: str) -> list[dict]:
    """Rule results (``RuleResult``) as the event log's expectation entries."""
    return [
        {
            "name": r.expectation.name,
            "dataset": dataset,
            "passed_records": r.passed_records,
            "failed_records": r.failed_records,
        }
        for r in results
    ]


def record_table_update(
    context, defn, run=None, error: BaseException | None = None, settings: Settings | None = None
) -> None:
    """The events of one table asset's update (called from the table asset; never raises)."""
    try:
        target, dataset = target_for(defn.key)
        evaluated = list(getattr(error, "results", None) or [])
        if run is not None and run.evaluation is not None:
            evaluated = run.evaluation.results
        by_name = {r.expectation.name: r for r in evaluated}
        # as the asset checks report them: an expectation that saw no rows has 0 and 0
        results = [by_name.get(e.name) or _Zero(e) for e in defn.expectations]
        definition = {
            "flow_type": "APPEND" if defn.streaming else "COMPLETE",
            "input_datasets": [i.key.replace("/", ".") for i in defn.upstream],
        }
        metrics = {}
        if run is not None:
            metrics = {
                "num_output_rows": run.written_rows,
                "num_input_rows": run.input_rows,
                "num_quarantined_rows": run.quarantined_rows,
            }
        record_flow(
            target,
            context.run_id,
            dataset,
            definition,
            metrics=metrics,
            expectations=expectation_rows(results, dataset) if defn.expectations else None,
            dropped_records=run.dropped_rows if run is not None else 0,
            error=error,
            batch_id=run.batch_id if run is not None else None,
            settings=settings,
        )
    except Exception:
        log.exception("could not record the update of %s in the event log", defn.key)
