"""The baseline of a model version: the features of the rows it was trained on.

Training publishes it with the version, as registry tags named in the catalog: a version trained
on the point-in-time training set carries `CHURN_TRAINING_SET.version_tag`
(`delta_version.ml/churn_training_set`), and its baseline is that table at that version (its
features, recency at each label's time, exactly what the model was fitted and held out on). An
earlier version carries `CUSTOMER_ML_FEATURES.version_tag` (the gold Delta version training
read) and `AS_OF_TAG` (the time recency was computed against). The baseline reads gold at that
version and computes the model input with `features_for_scoring(gold, as_of)`
(`mlplatform.customers.model_input`), the rule training uses, for every customer of that gold
version. `FEATURES_TAG` lists the version's input columns. Each feature is
prepared once (sorted, binned) and reused for every window of the run.

Prediction drift is measured against the previous window only (CONSECUTIVE): the baseline would
need the version loaded and scored, which monitoring does not do.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from mlplatform.catalog import (
    AS_OF_TAG,
    CHURN_TRAINING_SET,
    CUSTOMER_ML_FEATURES,
    FEATURES,
    FEATURES_TAG,
    MODEL_NAME,
)
from mlplatform.customers.model_input import features_for_scoring
from mlplatform.monitoring.metrics import NumericReference
from mlplatform.settings import Settings


class BaselineUnavailable(Exception):
    """A model version's baseline cannot be built (the message says why)."""


@dataclass(frozen=True)
class Baseline:
    """The training features of one model version, prepared for drift comparisons."""

    model_version: str
    gold_version: int  # the Delta version of the table read (the training set, or gold)
    as_of: str
    frame: pl.DataFrame  # one Float64 column per feature
    references: dict[str, NumericReference]


def from_tags(settings: Settings, version: str, tags: dict[str, str]) -> Baseline:
    """Build the baseline of `version` from its registry tags.

    Raises:
        BaselineUnavailable: a tag is missing or the gold version cannot be read.
    """
    if tags.get(CHURN_TRAINING_SET.version_tag):
        return _from_training_set(settings, version, tags)
    gold_version, as_of = tags.get(CUSTOMER_ML_FEATURES.version_tag), tags.get(AS_OF_TAG)
    missing = [
        t
        for t, v in ((CUSTOMER_ML_FEATURES.version_tag, gold_version), (AS_OF_TAG, as_of))
        if not v
    ]
    if missing:
        raise BaselineUnavailable(f"version {version} has no tag {' or '.join(missing)}")
    try:
        features = json.loads(tags.get(FEATURES_TAG) or "null") or FEATURES
        features = [f for f in FEATURES if f in features]
        gold = CUSTOMER_ML_FEATURES.store(settings).read(int(gold_version))
        frame = pl.from_pandas(features_for_scoring(gold, as_of, features))
    except Exception as err:  # noqa: BLE001 (vacuumed version, bad tag, schema: all say why)
        raise BaselineUnavailable(
            f"version {version}: cannot read gold version {gold_version} at as_of {as_of}: "
            f"{type(err).__name__}: {err}"
        ) from err
    references = {f: NumericReference.of(frame[f]) for f in frame.columns}
    return Baseline(version, int(gold_version), as_of, frame, references)


def _from_training_set(settings: Settings, version: str, tags: dict[str, str]) -> Baseline:
    """The baseline of a version trained on the point-in-time training set."""
    table_version = tags[CHURN_TRAINING_SET.version_tag]
    try:
        features = json.loads(tags.get(FEATURES_TAG) or "null") or FEATURES
        features = [f for f in FEATURES if f in features]
        store = CHURN_TRAINING_SET.store(settings)
        rows = store.scan(int(table_version)).select(features).collect()
        frame = rows.select(pl.col(f).cast(pl.Float64) for f in features)
    except Exception as err:  # noqa: BLE001 (vacuumed version, bad tag, schema: all say why)
        raise BaselineUnavailable(
            f"version {version}: cannot read {CHURN_TRAINING_SET.key} version {table_version}: "
            f"{type(err).__name__}: {err}"
        ) from err
    references = {f: NumericReference.of(frame[f]) for f in frame.columns}
    as_of = tags.get(AS_OF_TAG) or ""
    return Baseline(version, int(table_version), as_of, frame, references)


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

    def __init__(self, settings: Settings, log=None, tags: Callable[[str], dict] | None = None):
        """Look versions up in the settings' registry, or with `tags(version)` when given."""
        self.settings = settings
        self.log = log
        self._lookup = tags
        self._cache: dict[str, Baseline | None] = {}
        self.problems: dict[str, str] = {}
        self._client = None

    def _tags(self, version: str) -> dict[str, str]:
        if not version.isdigit():
            raise BaselineUnavailable(f"model version {version!r} is not a registry version")
        if self._lookup is not None:
            return self._lookup(version)
        try:
            if self._client is None:
                self._client = registry_client(self.settings)
            return dict(self._client.get_model_version(MODEL_NAME, version).tags)
        except Exception as err:  # noqa: BLE001 (unknown version or unreachable registry)
            raise BaselineUnavailable(
                f"cannot read {MODEL_NAME} version {version} from the registry: {err}"
            ) from err

    def get(self, version: str) -> Baseline | None:
        """The baseline of `version`, or None (the reason is in `problems` and the log)."""
        if version not in self._cache:
            try:
                self._cache[version] = from_tags(self.settings, version, self._tags(version))
            except BaselineUnavailable as err:
                self._cache[version] = None
                self.problems[version] = str(err)
                if self.log is not None:
                    self.log.warning(f"no baseline drift for model version {version}: {err}")
        return self._cache[version]
