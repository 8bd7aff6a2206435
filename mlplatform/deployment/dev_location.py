"""The code location a development-mode deployment serves: the real definitions, automation paused.

A bundle in mode development (like a Databricks bundle's dev mode) must not start a developer's
schedules and sensors. Names, asset keys and paths stay as they are; only every schedule's and
sensor's default status becomes STOPPED, so nothing runs until someone starts it in the UI. The
Helm values of the dev target point `dagster api grpc` at this module and name the wrapped
definitions in `MLPLATFORM_DEPLOY_DEFINITIONS` (`module:attribute`).
"""

from __future__ import annotations

import copy
import importlib
import os

import dagster as dg
from dagster._record import copy as record_copy
from dagster._record import is_record

DEFINITIONS_ENV = "MLPLATFORM_DEPLOY_DEFINITIONS"
DEFAULT_DEFINITIONS = "mlplatform.definitions:defs"


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
    """`defs` with every schedule and sensor stopped by default (including automation sensors)."""
    schedules = [_stopped(s, dg.DefaultScheduleStatus.STOPPED) for s in defs.schedules or []]
    sensors = [_stopped(s, dg.DefaultSensorStatus.STOPPED) for s in defs.sensors or []]
    return record_copy(defs, schedules=schedules, sensors=sensors)


def load_definitions(spec: str) -> dg.Definitions:
    """Import `module:attribute` (attribute defaults to `defs`)."""
    module_name, _, attribute = spec.partition(":")
    return getattr(importlib.import_module(module_name), attribute or "defs")


defs = paused(load_definitions(os.environ.get(DEFINITIONS_ENV) or DEFAULT_DEFINITIONS))
