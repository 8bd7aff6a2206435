"""The declaration of one model's lifecycle: what a project writes, what the platform builds from.

A project declares each model once (`ModelLifecycle`): its registered model, its asset names,
the training set it learns from, its label and features, its problem type, the metric and gate
that decide promotion, and optionally its own estimator. `lifecycle_definitions` (in
`mlplatform.training.definitions`) turns it into the training and evaluation assets, the blocking
checks, the training job and schedule, and the promotion job and sensor; every name is derived
from the declaration, so two models give two sets that never touch each other's aliases.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import dagster as dg

from mlplatform.catalog.tables import Table

if TYPE_CHECKING:
    import numpy as np
    import polars as pl

    from mlplatform.settings import Settings

PROBLEM_TYPES = ("classification", "regression")


@dataclass(frozen=True)
class Metric:
    """How a model version is scored on the holdout (MLflow `MetricThreshold` semantics)."""

    name: str
    greater_is_better: bool
    score: Callable[[np.ndarray, np.ndarray], float]
    """`score(y_true, prediction)`."""


def _roc_auc(y, p) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p))


def _rmse(y, p) -> float:
    import numpy as np

    return float(np.sqrt(np.mean((np.asarray(y, dtype=float) - np.asarray(p, dtype=float)) ** 2)))


def _relative_rmse(y, p) -> float:
    import numpy as np

    y = np.asarray(y, dtype=float)
    spread = float(np.std(y))
    return _rmse(y, p) / spread if spread > 0 else float("inf")


ROC_AUC = Metric("roc_auc", True, _roc_auc)
"""Classification: area under the ROC curve of the predicted probability (higher is better)."""
RMSE = Metric("rmse", False, _rmse)
"""Regression: root mean squared error (lower is better)."""
RELATIVE_RMSE = Metric("relative_rmse", False, _relative_rmse)
"""Regression: RMSE over the holdout labels' standard deviation (lower is better; 1.0 is no
better than predicting the holdout's mean, whatever the label's scale: a bar for any data size)."""


@dataclass(frozen=True)
class Gate:
    """The promotion bar: the metric must reach `threshold` (a minimum when higher is better, a
    maximum otherwise) and, against a champion, improve by at least `min_improvement` (None:
    only "not worse"). `floor` is the blocking check's bound on a freshly registered version."""

    threshold: float
    min_improvement: float | None = None
    floor: float | None = None


@dataclass(frozen=True)
class ModelLifecycle:
    """One model of a project, declared for the platform.

    Names: the model asset is `[key_prefix, asset_name]`, its evaluation
    `[key_prefix, f"{asset_name}_evaluation"]`; jobs, schedule and sensor default to names
    derived from `asset_name` (`<asset_name>_training_job`, `promote_<asset_name>`,
    `promote_<asset_name>_sensor`, `<asset_name>_training_daily`) and may be set explicitly.
    """

    registered_model: str
    asset_name: str
    training_set: Table
    """The Delta table the model trains on (one row per label, the features as columns)."""
    label: str
    features: tuple[str, ...]
    entity_key: str
    """The column that identifies an entity (the feature lookup key): the holdout is a hash of it,
    and requests may carry it as an identifier."""
    problem_type: str = "classification"
    metric: Metric | None = None
    """Default: ROC AUC for classification, RMSE for regression."""
    gate: Gate = field(default_factory=lambda: Gate(0.0))
    derived: Mapping[str, str] = field(default_factory=dict)
    """Derived feature -> the timestamp column it is computed from (`feature_store.derived`)."""
    feature_table: Table | None = None
    """The table scoring reads features from (the blocking signature check compares with it)."""
    label_time: str | None = None
    """The training set's label time column (as-of of derived features); None: no time."""
    key_prefix: str = "ml"
    group_name: str = "ml"
    owners: tuple[str, ...] = ("team:data-science",)
    description: str | None = None
    training_job: str | None = None
    promote_job: str | None = None
    promote_op: str | None = None
    schedule: str | None = None
    cron: str = "0 3 * * *"
    refresh_groups: tuple[str, ...] = ()
    """Asset groups the training job refreshes besides the model's own upstream."""
    holdout_salt: str | None = None
    estimator: Callable[[Any], Any] | None = None
    """The project's `train`: `estimator(hyperparameters)` -> an unfitted scikit-learn estimator
    (predict_proba for classification, predict for regression). None: the platform's default."""
    legacy_source: Callable[..., Any] | None = None
    """`legacy_source(settings, lifecycle, versions, as_of)` -> `ModelData` for versions trained
    before the training set existed (None: none)."""
    reference_scores: Callable[[Settings, pl.DataFrame], np.ndarray | None] | None = None
    """The best possible prediction of the holdout rows (e.g. a demo's true propensity): training
    logs the ceiling metric it reaches. None: no ceiling."""
    label_reader: Callable[..., Any] | None = None
    """`label_reader(settings, version)` -> labels (entity key, label, label time) for the
    inference table; None: predictions keep null labels."""
    labels_table: Table | None = None
    """The table `label_reader` reads (the inference table refreshes when it changes)."""
    online_table: str | None = None
    """The online store table serving looks the features up in (None: no lookup)."""

    def __post_init__(self) -> None:
        if self.problem_type not in PROBLEM_TYPES:
            raise ValueError(
                f"model {self.registered_model}: problem_type {self.problem_type!r} is not one "
                f"of {PROBLEM_TYPES}"
            )

    @property
    def classification(self) -> bool:
        return self.problem_type == "classification"

    @property
    def scoring_metric(self) -> Metric:
        if self.metric is not None:
            return self.metric
        return ROC_AUC if self.classification else RMSE

    @property
    def model_key(self) -> dg.AssetKey:
        return dg.AssetKey([self.key_prefix, self.asset_name])

    @property
    def evaluation_key(self) -> dg.AssetKey:
        return dg.AssetKey([self.key_prefix, f"{self.asset_name}_evaluation"])

    @property
    def training_job_name(self) -> str:
        return self.training_job or f"{self.asset_name}_training_job"

    @property
    def promote_job_name(self) -> str:
        return self.promote_job or f"promote_{self.asset_name}"

    @property
    def promote_op_name(self) -> str:
        return self.promote_op or f"promote_{self.asset_name}_champion"

    @property
    def sensor_name(self) -> str:
        return f"{self.promote_job_name}_sensor"

    @property
    def schedule_name(self) -> str:
        return self.schedule or f"{self.asset_name}_training_daily"

    @property
    def salt(self) -> str:
        return self.holdout_salt or f"{self.registered_model}-holdout-v1"

    @property
    def floor_check(self) -> str:
        """The blocking metric check's name (`roc_auc_above_floor`, `rmse_below_ceiling`)."""
        side = "above_floor" if self.scoring_metric.greater_is_better else "below_ceiling"
        return f"{self.scoring_metric.name}_{side}"

    def serving_metadata(self) -> dict[str, str]:
        """What `mlplatform serve --model` reads of the declaration (on the model asset)."""
        import json

        return {
            "mlplatform/registered_model": self.registered_model,
            "mlplatform/id_columns": json.dumps([self.entity_key]),
            "mlplatform/online_table": self.online_table or "",
            "mlplatform/training_job": self.training_job_name,
        }

    @property
    def model_checks(self) -> tuple[str, ...]:
        return (self.floor_check, "no_nan_predictions", "signature_matches_gold_schema")
