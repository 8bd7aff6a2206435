"""Pause a code location's automation: every schedule and sensor stopped by default."""

from __future__ import annotations

import copy
import importlib

import dagster as dg
from dagster._record import copy as record_copy
from dagster._record import is_record


def _stopped(definition, status):
    """A copy of a schedule or sensor definition whose default status is `status`."""
    if is_record(definition):  # e.g. an unresolved partitioned-asset schedule
        return record_copy(definition, default_status=status)
    clone = copy.copy(definition)
    clone._default_status = status  # the constructors offer no public way to change it
    if clone.default_status != status:
        raise TypeError(f"cannot pause {type(definition).__name__} {definition.name!r}")
    return clone


def paused(defs: dg.Definitions) -> dg.Definitions:
    """`defs` with every schedule and sensor stopped by default; nothing else changes."""
    schedules = [_stopped(s, dg.DefaultScheduleStatus.STOPPED) for s in defs.schedules or []]
    sensors = [_stopped(s, dg.DefaultSensorStatus.STOPPED) for s in defs.sensors or []]
    return record_copy(defs, schedules=schedules, sensors=sensors)


def load_definitions(spec: str) -> dg.Definitions:
    """Import `module:attribute` (attribute defaults to `defs`)."""
    module_name, _, attribute = spec.partition(":")
    return getattr(importlib.import_module(module_name), attribute or "defs")
