"""The `monitoring/table_quality` Delta table: one row per table and check at each run."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from mlplatform.catalog import TABLE_QUALITY
from mlplatform.lakehouse.delta import DeltaStore
from mlplatform.monitoring.table_health.judge import Verdict
from mlplatform.settings import Settings


def quality_store(settings: Settings) -> DeltaStore:
    return TABLE_QUALITY.store(settings)


def append(settings: Settings, verdicts: list[Verdict], checked_at: datetime) -> tuple[int, int]:
    """Append the verdicts in one commit; return (table version, rows in the table)."""
    frame = pl.DataFrame(
        [
            {
                "table": v.table,
                "checked_at": checked_at,
                "check": v.check,
                "status": v.status,
                "observed": v.observed,
                "expected_low": v.expected_low,
                "expected_high": v.expected_high,
                "detail": v.detail,
            }
            for v in verdicts
        ],
        schema=TABLE_QUALITY.schema,
    )
    store = quality_store(settings)
    store.path.parent.mkdir(parents=True, exist_ok=True)
    version = store.write(frame, store.committed_batch() + 1, mode="append")
    return version, store.table().count()
