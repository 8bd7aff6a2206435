"""A monitor's table names as the platform maps them (`mlplatform.lakehouse.names`, one rule):
`catalog.schema.table` lives at `<root>/<catalog>/<schema>/<table>`, `schema.table` (or a
`hive_metastore` name) at `<root>/<schema>/<table>`, and a table's asset key is those parts.
Monitors name tables with two or three parts, as the Lakehouse Monitoring API does."""

from __future__ import annotations

import dagster as dg

from mlplatform.lakehouse.names import TableName, TableNameError, parse_name, resolve_name
from mlplatform.monitoring.config import MonitoringConfigError
from mlplatform.project.model import QualityMonitor
from mlplatform.settings import Settings


def resolved(name: str, key: str = "table_name") -> TableName:
    """`schema.table` or `catalog.schema.table`, resolved.

    Raises:
        MonitoringConfigError: any other form (named with `key`).
    """
    try:
        if len(parse_name(str(name))) not in (2, 3):
            raise TableNameError("a one-part name")
        return resolve_name(str(name))
    except TableNameError as err:
        raise MonitoringConfigError(
            f"{key}: {name!r} is not 'schema.table' or 'catalog.schema.table' ({err})"
        ) from None


def split_name(name: str, key: str = "table_name") -> tuple[str, ...]:
    """The parts of a table name under the lakehouse root (no `hive_metastore`)."""
    return resolved(name, key).parts


def schema_parts(name: str, key: str = "output_schema_name") -> tuple[str, ...]:
    """The parts of `schema` or `catalog.schema`.

    Raises:
        MonitoringConfigError: any other form (named with `key`).
    """
    return split_name(f"{name}.t", key)[:-1]


def table_location(settings: Settings, name: str, key: str = "table_name"):
    """The Delta table location of `name` under the lakehouse root."""
    return resolved(name, key).location(settings.lakehouse)


def asset_key(name: str) -> dg.AssetKey:
    """The asset key of a table: its path parts (`[schema, table]` or `[catalog, schema,
    table]`), as the table layer keys it."""
    return dg.AssetKey(list(split_name(name)))


def output_keys(monitor: QualityMonitor) -> tuple[dg.AssetKey, dg.AssetKey]:
    """(profile, drift) asset keys: `[*<output schema>, <table>_profile_metrics]`, ..."""
    schema = schema_parts(monitor.output_schema_name)
    table = split_name(monitor.table_name)[-1]
    return (
        dg.AssetKey([*schema, f"{table}_profile_metrics"]),
        dg.AssetKey([*schema, f"{table}_drift_metrics"]),
    )
