"""Fit a declared model (classifier or regressor) and log it to MLflow as a registered,
self-contained pyfunc model."""

from __future__ import annotations

import json
import pickle
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import sklearn
from mlflow.models import infer_signature
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import (
    average_precision_score,
    log_loss,
    mean_absolute_error,
    r2_score,
    roc_auc_score,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from mlplatform.catalog import AS_OF_TAG, CHALLENGER, DELTA_VERSION_TAG, FEATURES_TAG
from mlplatform.feature_store.spec import ARTIFACT as SPEC_ARTIFACT
from mlplatform.feature_store.spec import FeatureSpec
from mlplatform.settings import Settings
from mlplatform.training import registry
from mlplatform.training.data import HOLDOUT_FRACTION, ModelData, holdout_rule, load_model_data
from mlplatform.training.feature_selection import validate_features
from mlplatform.training.lifecycle import ModelLifecycle
from mlplatform.training.tracking import git_commit, use_tracking_store

MODEL_TYPES = ("logistic_regression", "hist_gradient_boosting", "ridge")
PYFUNC_CODE = Path(__file__).with_name("sklearn_pyfunc.py")


@dataclass(frozen=True)
class Hyperparameters:
    """How to fit: the estimator, its settings and the feature subset."""

    model_type: str | None = None  # None: logistic_regression, or ridge for a regression
    features: tuple[str, ...] = ()
    c: float = 1.0
    max_iter: int | None = None  # None: 1000 solver iterations, or 200 boosting iterations
    learning_rate: float = 0.05
    max_leaf_nodes: int = 15
    random_state: int = 0

    @classmethod
    def from_config(cls, config: dict, lifecycle: ModelLifecycle) -> Hyperparameters:
        """From a training config (unknown keys ignored); the feature subset is validated.

        Raises:
            ValueError: unknown model type or feature.
        """
        known = {k: v for k, v in config.items() if k in cls.__dataclass_fields__}
        known["features"] = tuple(validate_features(known.get("features"), lifecycle.features))
        if not known.get("model_type"):
            known["model_type"] = "logistic_regression" if lifecycle.classification else "ridge"
        hp = cls(**known)
        if hp.model_type not in MODEL_TYPES:
            raise ValueError(f"unknown model_type {hp.model_type!r}; choose from {MODEL_TYPES}")
        return hp

    @property
    def iterations(self) -> int:
        if self.max_iter is not None:
            return self.max_iter
        return 200 if self.model_type == "hist_gradient_boosting" else 1000

    def params(self) -> dict[str, object]:
        """What MLflow records as params (only the settings the estimator uses)."""
        common = {
            "model_type": self.model_type,
            "max_iter": self.iterations,
            "random_state": self.random_state,
        }
        if self.model_type in ("logistic_regression", "ridge"):
            return common | {"C": self.c}
        return common | {"learning_rate": self.learning_rate, "max_leaf_nodes": self.max_leaf_nodes}


def _linear(final) -> Pipeline:
    return Pipeline(
        [
            ("impute", SimpleImputer(strategy="median")),
            ("log1p", FunctionTransformer(np.log1p, feature_names_out="one-to-one")),
            ("scale", StandardScaler()),
            ("model", final),
        ]
    )


def build_estimator(hp: Hyperparameters, classification: bool = True) -> Pipeline:
    """The platform's default scikit-learn pipeline for `hp` (input: the features as floats).

    Linear models (logistic regression, ridge) read log1p-transformed, standardized features:
    they expect non-negative features (counts, amounts, ages: right-skewed, and on their logs
    many signals are close to linear); a project with other features declares its `estimator`.
    Missing values are imputed with the training median. Gradient boosting takes the features as
    they are.

    Raises:
        ValueError: unknown model type, or one that does not fit the problem type.
    """
    if hp.model_type is None:
        hp = replace(hp, model_type="logistic_regression" if classification else "ridge")
    if hp.model_type == "logistic_regression" and classification:
        return _linear(LogisticRegression(C=hp.c, max_iter=hp.iterations))
    if hp.model_type == "ridge" and not classification:
        return _linear(Ridge(alpha=1.0 / hp.c, max_iter=hp.iterations))
    if hp.model_type == "hist_gradient_boosting":
        kind = HistGradientBoostingClassifier if classification else HistGradientBoostingRegressor
        booster = kind(
            max_iter=hp.iterations,
            learning_rate=hp.learning_rate,
            max_leaf_nodes=hp.max_leaf_nodes,
            random_state=hp.random_state,
        )
        return Pipeline([("model", booster)])
    if hp.model_type in MODEL_TYPES:
        problem = "classification" if classification else "regression"
        raise ValueError(f"model_type {hp.model_type!r} does not fit a {problem} model")
    raise ValueError(f"unknown model_type {hp.model_type!r}; choose from {MODEL_TYPES}")


def regression_metrics(y: np.ndarray, p: np.ndarray, prefix: str) -> dict[str, float]:
    """RMSE, MAE and R2 of predictions `p` for targets `y`."""
    if len(y) == 0:
        return {}
    return {
        f"{prefix}_rmse": float(np.sqrt(np.mean((y - p) ** 2))),
        f"{prefix}_mae": float(mean_absolute_error(y, p)),
        f"{prefix}_r2": float(r2_score(y, p)) if len(y) > 1 else float("nan"),
    }


def predictions(pipeline, x: pd.DataFrame) -> np.ndarray:
    """P(positive) of a classifier, the estimate of a regressor."""
    if hasattr(pipeline, "predict_proba"):
        return pipeline.predict_proba(x)[:, 1]
    return np.asarray(pipeline.predict(x), dtype=float)


def classification_metrics(y: np.ndarray, p: np.ndarray, prefix: str) -> dict[str, float]:
    """ROC AUC, PR AUC and log loss of probabilities `p` for labels `y`."""
    if len(np.unique(y)) < 2:
        return {}
    return {
        f"{prefix}_roc_auc": float(roc_auc_score(y, p)),
        f"{prefix}_pr_auc": float(average_precision_score(y, p)),
        f"{prefix}_log_loss": float(log_loss(y, np.clip(p, 1e-7, 1 - 1e-7))),
    }


@dataclass
class TrainedModel:
    """A fitted pipeline with its holdout predictions and metrics."""

    pipeline: Pipeline
    features: list[str]
    hyperparameters: Hyperparameters
    metrics: dict[str, float]
    input_example: pd.DataFrame
    holdout_predictions: np.ndarray


class NoTrainingData(Exception):  # noqa: N818 (a condition, not an error)
    """There are no labelled rows to train on (yet)."""

    def __init__(self, message: str, counts: dict[str, int]):
        super().__init__(message)
        self.counts = counts


def train(data: ModelData, hp: Hyperparameters, features: list[str]) -> TrainedModel:
    """Fit on the training rows; score the holdout rows (the project's estimator, if declared).

    Raises:
        ValueError: a split is empty, or (classification) has one class only.
    """
    lc = data.lifecycle
    x_train, y_train = data.xy(holdout=False, features=features)
    x_test, y_test = data.xy(holdout=True, features=features)
    for part, y in (("training", y_train), ("holdout", y_test)):
        if lc.classification and len(np.unique(y)) < 2:
            raise ValueError(f"the {part} rows ({len(y)}) do not have both label values")
        if len(y) == 0:
            raise ValueError(f"the {part} split has no rows")
    if hp.model_type is None:
        hp = replace(hp, model_type="logistic_regression" if lc.classification else "ridge")
    if lc.estimator is not None:
        estimator = lc.estimator(hp)
    else:
        estimator = build_estimator(hp, lc.classification)
    pipeline = estimator.fit(x_train, y_train)
    p_train, p_test = predictions(pipeline, x_train), predictions(pipeline, x_test)
    scores = classification_metrics if lc.classification else regression_metrics
    metrics = scores(y_train, p_train, "train") | scores(y_test, p_test, "holdout")
    metrics[f"holdout_{lc.scoring_metric.name}"] = lc.scoring_metric.score(y_test, p_test)
    metrics |= {
        "train_rows": float(len(y_train)),
        "holdout_rows": float(len(y_test)),
        f"holdout_{lc.label}_mean": float(np.mean(y_test)),
    }
    return TrainedModel(pipeline, features, hp, metrics, x_test.head(5), p_test)


def pip_requirements() -> list[str]:
    """The model's runtime requirements, pinned to what trained it (no slow inference)."""
    return [
        f"mlflow=={mlflow.__version__}",
        f"scikit-learn=={sklearn.__version__}",
        f"numpy=={np.__version__}",
        f"pandas=={pd.__version__}",
    ]


def log_and_register(
    model: TrainedModel,
    registered_name: str,
    tags: dict[str, str],
    feature_spec: dict | None = None,
) -> tuple[int, str]:
    """Log the model into the active MLflow run and register it as a new version with `tags`.

    A `feature_spec` is logged beside the model (artifact `feature_spec.json` of the model).

    Returns:
        The version number and the logged model's URI.
    """
    example = model.input_example
    signature = infer_signature(example, predictions(model.pipeline, example))
    with tempfile.TemporaryDirectory() as tmp:
        artifact = Path(tmp) / "pipeline.pkl"
        artifact.write_bytes(pickle.dumps(model.pipeline))
        artifacts = {"pipeline": str(artifact)}
        if feature_spec is not None:
            spec_file = Path(tmp) / SPEC_ARTIFACT
            spec_file.write_text(json.dumps(feature_spec, indent=2))
            artifacts["feature_spec"] = str(spec_file)
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=str(PYFUNC_CODE),
            artifacts=artifacts,
            signature=signature,
            input_example=example,
            pip_requirements=pip_requirements(),
        )
    version = mlflow.register_model(info.model_uri, registered_name, tags=tags)
    return int(version.version), info.model_uri


def lineage_tags(data: ModelData, features: list[str], run_id: str | None) -> dict[str, str]:
    """Model version tags that lead from the version to the exact data and code it came from."""
    tags = {f"{DELTA_VERSION_TAG}{k}": str(v) for k, v in data.versions.items() if v is not None}
    spec = model_feature_spec(data)
    if spec is not None:
        tags |= FeatureSpec.from_dict(spec).tags()
    return tags | {
        AS_OF_TAG: data.as_of.isoformat() if data.as_of else "",
        FEATURES_TAG: json.dumps(features),
        "dagster_run_id": run_id or "",
        "git_commit": git_commit(),
        "holdout": holdout_rule(data.lifecycle),
    }


def model_feature_spec(data: ModelData) -> dict | None:
    """The feature spec a version trained on `data` is logged with (None: none recorded)."""
    if data.feature_spec is None:
        return None
    spec = FeatureSpec.from_dict(data.feature_spec)
    table = data.lifecycle.training_set.key
    version = data.versions.get(table)
    return replace(spec, training_set=table, training_set_version=version).to_dict()


def train_and_register(
    settings: Settings,
    lifecycle: ModelLifecycle,
    hp: Hyperparameters,
    as_of: str | None,
    run_id: str | None,
    tracking=mlflow,
) -> dict:
    """Train on the model's training set, log to the active MLflow run, register a version
    with the alias `challenger`.

    Args:
        settings: Where the lakehouse and the tracking store are.
        lifecycle: The model's declaration.
        hp: What to fit.
        as_of: As-of time of derived features for a legacy source (ISO); None: its default.
        run_id: The Dagster run, tagged on the version.
        tracking: Where params and metrics go: the `mlflow` module (the active run).

    Returns:
        The materialization metadata: version, metrics (with the ceiling), lineage, counts.

    Raises:
        NoTrainingData: no labelled rows (nothing is logged or registered).
        ValueError: a split has a single class.
    """
    lc = lifecycle
    use_tracking_store(settings)
    data = load_model_data(settings, lc, as_of=as_of)
    if data.empty or data.split(True).is_empty():
        raise NoTrainingData(
            f"no labelled rows for {lc.registered_model} in {lc.training_set.key}; write "
            "the project's landing files first (the demo's: "
            f"`{Path(sys.executable).parent / 'mlplatform'} demo-data`)",
            data.counts,
        )
    features = validate_features(hp.features, lc.features)
    model = train(data, hp, features)
    metric = lc.scoring_metric
    ceiling = None
    if lc.reference_scores is not None:
        holdout = data.split(True)
        best = lc.reference_scores(settings, holdout)
        if best is not None:
            ceiling = metric.score(holdout[lc.label].to_numpy(), best)
            model.metrics[f"holdout_ceiling_{metric.name}"] = ceiling
    as_of_text = data.as_of.isoformat() if data.as_of else None
    tracking.log_params(
        hp.params()
        | {
            "as_of": as_of_text,
            "features": ",".join(features),
            "holdout_fraction": HOLDOUT_FRACTION,
        }
    )
    tracking.log_metrics(model.metrics)
    tracking.log_dict({"features": features, "as_of": as_of_text}, "feature_list.json")
    tags = lineage_tags(data, features, run_id)
    spec = model_feature_spec(data)
    if spec is not None:
        tracking.log_dict(spec, SPEC_ARTIFACT)
    version, uri = log_and_register(model, lc.registered_model, tags, spec)
    client = registry.client(settings)
    client.set_registered_model_alias(lc.registered_model, CHALLENGER, str(version))
    score = model.metrics[f"holdout_{metric.name}"]
    active = mlflow.active_run()
    return {
        "model_name": lc.registered_model,
        "model_version": version,
        "model_uri": uri,
        "mlflow_run_id": active.info.run_id if active else None,
        "experiment": mlflow.get_experiment(active.info.experiment_id).name if active else None,
        f"holdout_{metric.name}": score,
        f"ceiling_{metric.name}": ceiling,
        "gap_to_ceiling": None if ceiling is None else abs(ceiling - score),
        "as_of": as_of_text,
        "features": features,
        "hyperparameters": hp.params(),
        "delta_versions": data.versions,
        "feature_spec": spec,
        **data.counts,
    }
