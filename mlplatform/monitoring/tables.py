"""The monitoring tables' stores and the window-replacing writer (names, keys, paths and schemas:
`mlplatform.catalog.PROFILE_METRICS` and `DRIFT_METRICS`).

Both tables hold one row per window (`window_start`, `window_end`, `granularity`), model version
and column, like Lakehouse Monitoring's metric tables. A run replaces the rows of the windows it
recomputed in one Delta commit that carries the app transaction `(app_id, batch_id)`, where
`batch_id` is the inference table version it read plus one: the transaction version records which
inference versions the table reflects, atomically with the rows.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl

from mlplatform.catalog import DRIFT_METRICS, PROFILE_METRICS
from mlplatform.lakehouse.delta import DeltaStore
from mlplatform.settings import Settings

MONITORING = PROFILE_METRICS.layer
"""The monitoring group, and the folder of its files under `$MLPLATFORM_HOME`."""

ALL_VERSIONS = ":all"
"""`model_version` of the profile rows over every model version of a window."""
TABLE_COLUMN = ":table"
"""`column_name` of the profile rows about the whole window (row count, model quality)."""
BASELINE, CONSECUTIVE = "BASELINE", "CONSECUTIVE"
"""`drift_type`: against the served version's training data, or against the previous window."""


def profile_store(settings: Settings) -> DeltaStore:
    return PROFILE_METRICS.store(settings)


def drift_store(settings: Settings) -> DeltaStore:
    return DRIFT_METRICS.store(settings)


def reports_dir(settings: Settings) -> Path:
    return settings.home / MONITORING / "reports"


def _literal(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def window_predicate(windows: dict[str, list[datetime]]) -> str | None:
    """SQL predicate selecting the rows of the given windows (None when there are none)."""
    parts = [
        f"(granularity = '{name}' AND window_start IN ({', '.join(repr(_literal(w)) for w in ws)}))"
        for name, ws in sorted(windows.items())
        if ws
    ]
    return " OR ".join(parts) or None


def replace_windows(
    store: DeltaStore,
    frame: pl.DataFrame,
    batch_id: int,
    windows: dict[str, list[datetime]] | None,
    comment: str,
    metadata: dict | None = None,
    again: bool = False,
) -> int:
    """Replace the rows of `windows` (all rows when None) by `frame` in one commit carrying
    `(app_id, batch_id)`; return the new table version.

    Every row of `frame` must belong to one of `windows`.
    """
    exists = store.exists()
    predicate = None if windows is None else window_predicate(windows)
    mode = "append"
    if exists and (windows is None or predicate is not None):
        mode = "overwrite"
    return store.write(
        frame,
        batch_id,
        mode=mode,
        comment=comment,
        metadata=metadata,
        predicate=predicate if mode == "overwrite" else None,
        evolve_schema=exists,  # slices and custom metrics add columns
        again=again,  # a full refresh may recompute the version the table reflects
    )
