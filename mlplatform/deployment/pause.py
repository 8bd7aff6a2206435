"""Pause a code location's automation: every schedule and sensor stopped by default."""

from __future__ import annotations

import copy
import importlib

import dagster as dg


def _stopped(definition, status):
    """A copy of a schedule or sensor definition whose default status is `status`.

    A schedule built from a partitioned asset job before resolution is rebuilt with
    `build_schedule_from_partitioned_job`. Dagster 1.13 has no public way to copy a schedule or
    sensor with another default status (their `with_attributes` keeps it), so the copy of those
    sets the one attribute the status property reads, and checks that it took.
    """
    if not isinstance(definition, dg.ScheduleDefinition | dg.SensorDefinition):
        return dg.build_schedule_from_partitioned_job(
            job=definition.job,
            name=definition.name,
            description=definition.description,
            minute_of_hour=definition.minute_of_hour,
            hour_of_day=definition.hour_of_day,
            day_of_week=definition.day_of_week,
            day_of_month=definition.day_of_month,
            default_status=status,
            tags=definition.tags,
            metadata=definition.metadata,
            owners=definition.owners,
        )
    clone = copy.copy(definition)
    clone._default_status = status
    if clone.default_status != status:
        raise TypeError(f"cannot pause {type(definition).__name__} {definition.name!r}")
    return clone


def paused(defs: dg.Definitions) -> dg.Definitions:
    """`defs` with every schedule and sensor stopped by default; nothing else changes."""
    return dg.Definitions(
        assets=defs.assets,
        asset_checks=defs.asset_checks,
        jobs=defs.jobs,
        schedules=[_stopped(s, dg.DefaultScheduleStatus.STOPPED) for s in defs.schedules or []],
        sensors=[_stopped(s, dg.DefaultSensorStatus.STOPPED) for s in defs.sensors or []],
        resources=defs.resources,
        executor=defs.executor,
        loggers=defs.loggers,
        metadata=defs.metadata,
        component_tree=defs.component_tree,
    )


def load_definitions(spec: str) -> dg.Definitions:
    """Import `module:attribute` (attribute defaults to `defs`)."""
    module_name, _, attribute = spec.partition(":")
    return getattr(importlib.import_module(module_name), attribute or "defs")
