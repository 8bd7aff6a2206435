"""`mlplatform quality-monitors create | get | run-refresh | delete` (the Databricks CLI's verbs).

`create TABLE_NAME --json JSON|@file` takes the API's `CreateMonitor` fields and prints the
`MonitorInfo`; `get` prints it; `run-refresh` computes the metric tables now and prints the
`MonitorRefreshInfo` (exit 1 when FAILED); `delete` forgets the monitor, never its tables.
"""

from __future__ import annotations

import json
from pathlib import Path

import click


def _fields(value: str) -> dict:
    if value.startswith("@"):
        path = Path(value[1:])
        try:
            value = path.read_text()
        except OSError as err:
            raise click.BadParameter(
                f"cannot read {path}: {err.strerror}", param_hint="--json"
            ) from None
    try:
        fields = json.loads(value)
    except json.JSONDecodeError as err:
        raise click.BadParameter(
            f"not JSON (line {err.lineno}, column {err.colno}): {err.msg}", param_hint="--json"
        ) from None
    if not isinstance(fields, dict):
        raise click.BadParameter("must be a JSON object", param_hint="--json")
    return fields


def _fail(err: Exception) -> None:
    raise click.ClickException(str(err))


@click.group("quality-monitors")
def quality_monitors_group() -> None:
    """Lakehouse Monitoring monitors of Delta tables (metric tables under the output schema)."""


@quality_monitors_group.command("create")
@click.argument("table_name")
@click.option("--json", "json_fields", required=True, help="CreateMonitor fields, or @file.")
def create_command(table_name: str, json_fields: str) -> None:
    """Create a monitor of TABLE_NAME (`schema.table` or `catalog.schema.table`)."""
    from mlplatform.monitoring import registry
    from mlplatform.monitoring.api import monitor_from_fields
    from mlplatform.monitoring.config import MonitoringConfigError
    from mlplatform.monitoring.monitor_info import monitor_info
    from mlplatform.monitoring.refresh import store
    from mlplatform.settings import get_settings

    settings = get_settings()
    try:
        monitor, warnings = monitor_from_fields(table_name, _fields(json_fields))
        if not store(settings, table_name).exists():
            raise MonitoringConfigError(f"Table '{table_name}' does not exist.")
        record = registry.create(settings, monitor)
    except MonitoringConfigError as err:
        _fail(err)
    for warning in warnings:
        click.echo(f"Warning: {warning}", err=True)
    info = monitor_info(monitor, monitor_version=record["monitor_version"])
    click.echo(json.dumps(info, indent=2))


@quality_monitors_group.command("get")
@click.argument("table_name")
def get_command(table_name: str) -> None:
    """Print the MonitorInfo of TABLE_NAME's monitor."""
    from mlplatform.monitoring import registry
    from mlplatform.monitoring.config import MonitoringConfigError
    from mlplatform.monitoring.monitor_info import monitor_info
    from mlplatform.settings import get_settings

    try:
        record = registry.read(get_settings(), table_name)
    except MonitoringConfigError as err:
        _fail(err)
    info = monitor_info(registry.monitor(record), monitor_version=record["monitor_version"])
    click.echo(json.dumps(info, indent=2))


@quality_monitors_group.command("run-refresh")
@click.argument("table_name")
def run_refresh_command(table_name: str) -> None:
    """Refresh TABLE_NAME's metric tables now; print the MonitorRefreshInfo."""
    from mlplatform.monitoring import registry
    from mlplatform.monitoring.config import MonitoringConfigError
    from mlplatform.monitoring.refresh import refresh
    from mlplatform.settings import get_settings

    settings = get_settings()
    try:
        record = registry.read(settings, table_name)
    except MonitoringConfigError as err:
        _fail(err)
    result = refresh(settings, registry.monitor(record), record["monitor_version"])
    info = result.info(len(record["refreshes"]) + 1)
    registry.add_refresh(settings, table_name, info)
    click.echo(json.dumps(info, indent=2))
    if result.state != "SUCCESS":
        raise click.exceptions.Exit(1)


@quality_monitors_group.command("delete")
@click.argument("table_name")
def delete_command(table_name: str) -> None:
    """Delete TABLE_NAME's monitor (its metric tables are kept)."""
    from mlplatform.monitoring import registry
    from mlplatform.monitoring.config import MonitoringConfigError
    from mlplatform.settings import get_settings

    try:
        registry.delete(get_settings(), table_name)
    except MonitoringConfigError as err:
        _fail(err)
