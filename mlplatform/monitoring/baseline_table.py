"""A baseline table (Lakehouse Monitoring's `baseline_table_name`) instead of the training data.

`baseline_table_name` is a Delta table of the lakehouse, `<layer>/<table>` or `<layer>.<table>`
(`lakehouse/<layer>/<table>`), or a path to a Delta table. It has the inference table's columns
(the monitor's `*_col` names apply); every feature and the prediction it holds is compared with
the inference rows (BASELINE drift), so prediction drift against the baseline is measured too.
When it has the model id column, each model version is compared with its own rows.
`baseline_gold_version` of the drift rows is then the baseline table's Delta version.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from mlplatform.catalog import FEATURES
from mlplatform.lakehouse.delta import DeltaStore
from mlplatform.lakehouse.object_location import Location, is_object_uri
from mlplatform.monitoring.baseline import Baseline, Baselines, BaselineUnavailable
from mlplatform.monitoring.config import MonitoringConfigError
from mlplatform.monitoring.metrics import reference
from mlplatform.monitoring.monitor_config import MonitorOptions
from mlplatform.monitoring.windows import with_roles
from mlplatform.settings import Settings

COMPARED = (*FEATURES, "prediction")


def table_path(settings: Settings, name: str) -> Location:
    """Where the baseline table named `name` lives.

    Raises:
        MonitoringConfigError: the name is neither `<layer>/<table>` nor a path to a Delta table.
    """
    path = Path(name).expanduser()
    if is_object_uri(name):
        candidate = settings.location(name)
    elif path.is_absolute() or name.startswith("."):
        candidate = path
    else:
        parts = name.replace(".", "/").split("/")
        if len(parts) != 2 or not all(parts):
            raise MonitoringConfigError(
                f"baseline_table_name {name!r} is not '<layer>/<table>' or a path"
            )
        candidate = settings.table_path(*parts)
    if not DeltaStore(candidate, name).exists():
        raise MonitoringConfigError(f"baseline_table_name {name!r}: no Delta table at {candidate}")
    return candidate


class TableBaselines(Baselines):
    """Baselines per model version, all read from one baseline table."""

    def __init__(self, settings: Settings, options: MonitorOptions, log=None):
        super().__init__(settings, log)
        self.options = options
        self.path = table_path(settings, options.baseline_table_name)
        self._frame: pl.DataFrame | None = None
        self._version: int | None = None

    def _table(self) -> tuple[pl.DataFrame, int]:
        if self._frame is None:
            store = DeltaStore(self.path, self.options.baseline_table_name)
            self._version = store.version()
            scan = store.scan(self._version)
            self._frame = with_roles(scan, self.options.columns).collect()
        return self._frame, self._version

    def _build(self, version: str) -> Baseline:
        frame, delta_version = self._table()
        if "model_version" in frame.columns:
            frame = frame.filter(pl.col("model_version").cast(pl.String) == version)
            if frame.is_empty():
                raise BaselineUnavailable(
                    f"baseline table {self.options.baseline_table_name} has no rows of model "
                    f"version {version}"
                )
        columns = [c for c in COMPARED if c in frame.columns]
        if not columns:
            raise BaselineUnavailable(
                f"baseline table {self.options.baseline_table_name} has none of the columns "
                f"{', '.join(COMPARED)}"
            )
        frame = frame.select(columns)
        refs = {c: reference(frame[c]) for c in columns}
        return Baseline(version, delta_version, "", frame, refs)

    def get(self, version: str) -> Baseline | None:
        """The baseline of `version` from the table, or None (the reason in `problems`)."""
        if version not in self._cache:
            try:
                self._cache[version] = self._build(version)
            except BaselineUnavailable as err:
                self._cache[version] = None
                self.problems[version] = str(err)
                if self.log is not None:
                    self.log.warning(f"no baseline drift for model version {version}: {err}")
        return self._cache[version]
