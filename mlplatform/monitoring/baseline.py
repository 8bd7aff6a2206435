"""The baseline of a model version: the features of the rows it was trained on.

Training publishes it with the version, as registry tags: `delta_version.<layer>/<table>` holds
the Delta version of each table training read, `feature_columns` the version's input columns.
A `BaselineBinding` says which registered model the monitored table serves and which table is
its training set: a version carrying the training set's tag has that table at that version as
its baseline (its feature columns, exactly what the model was fitted and held out on). A version
without it goes to the binding's `fallback` (a project's own rule, for versions trained before
it published a training set), else it has no baseline, with the reason. Each feature is prepared
once (sorted, binned) and reused for every window of the run.

Prediction drift is measured against the previous window only (CONSECUTIVE): the baseline would
need the version loaded and scored, which monitoring does not do.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from mlplatform.catalog import AS_OF_TAG, DELTA_VERSION_TAG, FEATURES_TAG
from mlplatform.monitoring.baseline_binding import (  # noqa: F401 (re-exported)
    BaselineBinding,
    BaselineUnavailable,
    Fallback,
)
from mlplatform.monitoring.metrics import NumericReference
from mlplatform.settings import Settings


@dataclass(frozen=True)
class Baseline:
    """The training features of one model version, prepared for drift comparisons."""

    model_version: str
    gold_version: int  # the Delta version of the table read (the training set, or the source)
    as_of: str
    frame: pl.DataFrame  # one Float64 column per feature
    references: dict[str, NumericReference]


def feature_columns(binding: BaselineBinding, tags: dict[str, str]) -> list[str]:
    """The version's feature columns (its tag), in the binding's order when it lists them."""
    listed = json.loads(tags.get(FEATURES_TAG) or "null") or list(binding.features)
    return [f for f in binding.features if f in listed] if binding.features else listed


def from_tags(
    settings: Settings, version: str, tags: dict[str, str], binding: BaselineBinding
) -> Baseline:
    """Build the baseline of `version` from its registry tags.

    Raises:
        BaselineUnavailable: no rule applies, or the table cannot be read at that version.
    """
    tag = f"{DELTA_VERSION_TAG}{binding.training_set}" if binding.training_set else None
    if tag and tags.get(tag):
        frame, table_version = _from_training_set(settings, version, tags, binding, tag)
        as_of = tags.get(AS_OF_TAG) or ""
    elif binding.fallback is not None:
        frame, table_version, as_of = binding.fallback(settings, version, tags)
    else:
        raise BaselineUnavailable(
            f"version {version} has no tag {tag or 'naming its training set'}"
        )
    references = {f: NumericReference.of(frame[f]) for f in frame.columns}
    return Baseline(version, int(table_version), as_of, frame, references)


def _from_training_set(settings, version, tags, binding, tag) -> tuple[pl.DataFrame, int]:
    table_version = tags[tag]
    try:
        features = feature_columns(binding, tags)
        layer, name = binding.training_set.split("/", 1)
        from mlplatform.lakehouse.delta import DeltaStore

        store = DeltaStore(settings.table_path(layer, name), binding.training_set)
        rows = store.scan(int(table_version)).select(features).collect()
        frame = rows.select(pl.col(f).cast(pl.Float64) for f in features)
    except Exception as err:  # noqa: BLE001 (vacuumed version, bad tag, schema: all say why)
        raise BaselineUnavailable(
            f"version {version}: cannot read {binding.training_set} version {table_version}: "
            f"{type(err).__name__}: {err}"
        ) from err
    return frame, int(table_version)


def registry_client(settings: Settings):
    """A read-only client on the settings' registry (MLflow's store; never created here).

    Raises:
        BaselineUnavailable: the embedded store does not exist yet (no version was registered).
    """
    db = settings.mlflow_dir / "mlflow.db"
    if not settings.tracking_uri_override and not db.exists():
        raise BaselineUnavailable(f"no model registry yet ({db} does not exist)")
    from mlflow import MlflowClient

    uri = settings.tracking_uri
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


class Baselines:
    """Baselines per model version, looked up in the registry once per run."""

    def __init__(
        self,
        settings: Settings,
        log=None,
        tags: Callable[[str], dict] | None = None,
        binding: BaselineBinding | None = None,
    ):
        """Look versions up in the settings' registry, or with `tags(version)` when given."""
        self.settings = settings
        self.log = log
        self.binding = binding or BaselineBinding()
        self._lookup = tags
        self._cache: dict[str, Baseline | None] = {}
        self.problems: dict[str, str] = {}
        self._client = None

    def _tags(self, version: str) -> dict[str, str]:
        if not version.isdigit():
            raise BaselineUnavailable(f"model version {version!r} is not a registry version")
        if self._lookup is not None:
            return self._lookup(version)
        name = self.binding.model_name
        if not name:
            raise BaselineUnavailable("no registered model is bound to the monitored table")
        try:
            if self._client is None:
                self._client = registry_client(self.settings)
            return dict(self._client.get_model_version(name, version).tags)
        except Exception as err:  # noqa: BLE001 (unknown version or unreachable registry)
            raise BaselineUnavailable(
                f"cannot read {name} version {version} from the registry: {err}"
            ) from err

    def get(self, version: str) -> Baseline | None:
        """The baseline of `version`, or None (the reason is in `problems` and the log)."""
        if version not in self._cache:
            try:
                tags = self._tags(version)
                self._cache[version] = from_tags(self.settings, version, tags, self.binding)
            except BaselineUnavailable as err:
                self._cache[version] = None
                self.problems[version] = str(err)
                if self.log is not None:
                    self.log.warning(f"no baseline drift for model version {version}: {err}")
        return self._cache[version]
