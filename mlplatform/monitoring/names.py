"""Where a monitor's tables live: Unity Catalog names mapped to lakehouse paths.

The single seam between a monitor's table names and storage (the global rule of the projects
issue replaces `table_location` when it lands): `catalog.schema.table` lives at
`<root>/<catalog>/<schema>/<table>`, `schema.table` at `<root>/<schema>/<table>` (so two-level
names keep the lakehouse's `<layer>/<table>` paths).
"""

from __future__ import annotations

import re

import dagster as dg

from mlplatform.monitoring.config import MonitoringConfigError
from mlplatform.project.model import QualityMonitor
from mlplatform.settings import Settings

_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")


def split_name(name: str, key: str = "table_name") -> tuple[str, ...]:
    """The parts of `schema.table` or `catalog.schema.table` (backticks allowed around parts).

    Raises:
        MonitoringConfigError: any other form (named with `key`).
    """
    parts = tuple(p.strip("`") for p in str(name).split("."))
    if len(parts) not in (2, 3) or not all(_PART.fullmatch(p) for p in parts):
        raise MonitoringConfigError(
            f"{key}: {name!r} is not 'schema.table' or 'catalog.schema.table'"
        )
    return parts


def schema_parts(name: str, key: str = "output_schema_name") -> tuple[str, ...]:
    """The parts of `schema` or `catalog.schema`.

    Raises:
        MonitoringConfigError: any other form (named with `key`).
    """
    parts = tuple(p.strip("`") for p in str(name).split("."))
    if len(parts) not in (1, 2) or not all(_PART.fullmatch(p) for p in parts):
        raise MonitoringConfigError(f"{key}: {name!r} is not 'schema' or 'catalog.schema'")
    return parts


def table_location(settings: Settings, name: str, key: str = "table_name"):
    """The Delta table location of `name` under the lakehouse root."""
    location = settings.lakehouse
    for part in split_name(name, key):
        location = location / part
    return location


def asset_key(name: str) -> dg.AssetKey:
    """The asset key of a table: its schema and table (`[schema, table]`), the storage-shaped
    keys of the lakehouse (`serving/<table>`); the catalog is left out."""
    return dg.AssetKey(list(split_name(name)[-2:]))


def output_keys(monitor: QualityMonitor) -> tuple[dg.AssetKey, dg.AssetKey]:
    """(profile, drift) asset keys: `[<output schema>, <table>_profile_metrics]`, ..."""
    schema = schema_parts(monitor.output_schema_name)[-1]
    table = split_name(monitor.table_name)[-1]
    return (
        dg.AssetKey([schema, f"{table}_profile_metrics"]),
        dg.AssetKey([schema, f"{table}_drift_metrics"]),
    )
