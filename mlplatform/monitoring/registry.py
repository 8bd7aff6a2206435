"""The monitors created with `mlplatform quality-monitors create`: one JSON file per table
under `$MLPLATFORM_HOME/monitoring/monitors/` (`<table_name>.json`) holding the `CreateMonitor`
fields, the monitor version and the refresh history."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from mlplatform.monitoring.api import monitor_from_fields
from mlplatform.monitoring.config import MonitoringConfigError
from mlplatform.monitoring.monitor_info import create_fields
from mlplatform.monitoring.names import split_name
from mlplatform.project.model import QualityMonitor
from mlplatform.settings import Settings


class MonitorNotFound(MonitoringConfigError):
    """No monitor exists for the table."""


def folder(settings: Settings) -> Path:
    return settings.home / "monitoring" / "monitors"


def _path(settings: Settings, table_name: str) -> Path:
    split_name(table_name)
    return folder(settings) / f"{table_name}.json"


def _write(path: Path, record: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(record, indent=2, sort_keys=True))
    tmp.replace(path)


def read(settings: Settings, table_name: str) -> dict:
    """The stored record of the table's monitor.

    Raises:
        MonitorNotFound: no monitor exists for the table.
    """
    path = _path(settings, table_name)
    if not path.exists():
        raise MonitorNotFound(f"Monitor for table '{table_name}' does not exist.")
    return json.loads(path.read_text())


def monitor(record: dict) -> QualityMonitor:
    return monitor_from_fields(record["table_name"], record["fields"])[0]


def create(settings: Settings, new: QualityMonitor) -> dict:
    """Store a new monitor.

    Raises:
        MonitoringConfigError: the table already has a monitor.
    """
    path = _path(settings, new.table_name)
    if path.exists():
        raise MonitoringConfigError(f"Monitor for table '{new.table_name}' already exists.")
    record = {
        "table_name": new.table_name,
        "fields": create_fields(new),
        "monitor_version": 1,
        "created_at_ms": int(time.time() * 1000),
        "refreshes": [],
    }
    _write(path, record)
    return record


def add_refresh(settings: Settings, table_name: str, info: dict) -> None:
    record = read(settings, table_name)
    record["refreshes"].append(info)
    _write(_path(settings, table_name), record)


def delete(settings: Settings, table_name: str) -> None:
    """Forget the monitor (its metric tables stay).

    Raises:
        MonitorNotFound: no monitor exists for the table.
    """
    read(settings, table_name)
    _path(settings, table_name).unlink()
