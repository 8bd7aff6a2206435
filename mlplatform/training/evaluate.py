"""Champion/challenger evaluation: score both on the same holdout, decide promote or skip.

The decision applies MLflow's own model-validation semantics (`MetricThreshold`,
`mlflow.validate_evaluation_results`): a minimum ROC AUC, and against a champion a minimum
absolute improvement. With no champion yet only the minimum applies.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import mlflow
import numpy as np
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.models import EvaluationResult, MetricThreshold
from mlflow.models.evaluation.validation import ModelValidationFailedException
from sklearn.metrics import roc_auc_score

from mlplatform.catalog import AS_OF_TAG, DELTA_VERSION_TAG, FEATURES, MODEL_NAME, PROMOTE, SKIP
from mlplatform.customers.model_input import features_for_scoring
from mlplatform.settings import Settings
from mlplatform.training import registry
from mlplatform.training.data import ModelData, load_model_data
from mlplatform.training.tracking import use_tracking_store

METRIC = "roc_auc"


def lineage_versions(mv: ModelVersion) -> dict[str, int]:
    """The Delta version of each table a model version was trained on (from its tags)."""
    return {
        key.removeprefix(DELTA_VERSION_TAG): int(value)
        for key, value in mv.tags.items()
        if key.startswith(DELTA_VERSION_TAG) and value.isdigit()
    }


def training_data(settings: Settings, mv: ModelVersion) -> ModelData:
    """The exact data (tables at the tagged versions, same as-of) a model version saw."""
    return load_model_data(settings, as_of=mv.tags.get(AS_OF_TAG), versions=lineage_versions(mv))


def load_version(version: int | str, name: str = MODEL_NAME):
    """A registered version as a pyfunc model (predict: churn probability per row)."""
    return mlflow.pyfunc.load_model(f"models:/{name}/{version}")


def predict(model, data: ModelData, holdout: bool = True) -> np.ndarray:
    """A loaded pyfunc model's churn probabilities for the holdout (or training) customers."""
    part = data.split(holdout)
    return np.asarray(model.predict(features_for_scoring(part, data.as_of, FEATURES)), dtype=float)


def roc_auc(y: np.ndarray, p: np.ndarray) -> float:
    return float(roc_auc_score(y, p))


@dataclass(frozen=True)
class Thresholds:
    """Promotion bar: minimum ROC AUC; minimum absolute improvement over the champion."""

    min_roc_auc: float
    min_improvement: float | None

    def metric_thresholds(self, with_champion: bool) -> dict[str, MetricThreshold]:
        """MLflow thresholds; the comparison rules apply only when there is a champion."""
        change = self.min_improvement if with_champion and self.min_improvement else None
        relative = 0.0 if with_champion and change is None else None  # "not worse"
        return {
            METRIC: MetricThreshold(
                threshold=self.min_roc_auc,
                min_absolute_change=change,
                min_relative_change=relative,
                greater_is_better=True,
            )
        }

    def as_dict(self) -> dict:
        return {"min_roc_auc": self.min_roc_auc, "min_improvement": self.min_improvement}


@dataclass
class Decision:
    """The outcome of an evaluation, as the next step (the promotion sensor) reads it."""

    decision: str
    challenger_version: int
    challenger_roc_auc: float
    champion_version: int | None
    champion_roc_auc: float | None
    reasons: list[str] = field(default_factory=list)

    @property
    def improvement(self) -> float | None:
        if self.champion_roc_auc is None:
            return None
        return self.challenger_roc_auc - self.champion_roc_auc


def decide(
    challenger_version: int,
    challenger_auc: float,
    champion_version: int | None,
    champion_auc: float | None,
    thresholds: Thresholds,
) -> Decision:
    """Promote when MLflow's validation of the challenger against the champion passes."""
    args = (challenger_version, challenger_auc, champion_version, champion_auc)
    if champion_version is not None and champion_version == challenger_version:
        return Decision(SKIP, *args, [f"version {challenger_version} is already the champion"])
    with_champion = champion_auc is not None
    try:
        mlflow.validate_evaluation_results(
            thresholds.metric_thresholds(with_champion),
            EvaluationResult(metrics={METRIC: challenger_auc}, artifacts={}),
            EvaluationResult(metrics={METRIC: champion_auc}, artifacts={})
            if with_champion
            else None,
        )
    except ModelValidationFailedException as err:
        # one line per metric, one sentence per failed rule ("Metric roc_auc ... failed: ...")
        parts = re.split(r"(?<=\.)\s+(?=Metric )|\n", str(err.message))
        reasons = [part.strip() for part in parts if part.strip()]
        return Decision(SKIP, *args, reasons)
    if with_champion:
        why = (
            f"{METRIC} {challenger_auc:.4f} >= minimum {thresholds.min_roc_auc} and beats "
            f"champion version {champion_version} ({champion_auc:.4f}) by "
            f"{challenger_auc - champion_auc:+.4f}"
        )
    else:
        why = f"no champion yet; {METRIC} {challenger_auc:.4f} >= minimum {thresholds.min_roc_auc}"
    return Decision(PROMOTE, *args, [why])


def record_on_version(client: MlflowClient, decision: Decision, run_id: str | None) -> None:
    """Write the decision on the challenger version's tags and its training run's metrics."""
    v = str(decision.challenger_version)
    tags = {
        "evaluation.decision": decision.decision,
        "evaluation.roc_auc": f"{decision.challenger_roc_auc:.6f}",
        "evaluation.champion_version": str(decision.champion_version or ""),
        "evaluation.champion_roc_auc": ""
        if decision.champion_roc_auc is None
        else f"{decision.champion_roc_auc:.6f}",
        "evaluation.reasons": json.dumps(decision.reasons)[:5000],
    }
    for key, value in tags.items():
        client.set_model_version_tag(MODEL_NAME, v, key, value)
    mv = client.get_model_version(MODEL_NAME, v)
    if mv.run_id:
        client.log_metric(mv.run_id, "evaluation_challenger_roc_auc", decision.challenger_roc_auc)
        if decision.champion_roc_auc is not None:
            client.log_metric(mv.run_id, "evaluation_champion_roc_auc", decision.champion_roc_auc)
        client.set_tag(mv.run_id, "evaluation.decision", decision.decision)
    if run_id:
        client.set_model_version_tag(MODEL_NAME, v, "evaluation.dagster_run_id", run_id)


def model_signature(version: int | str, name: str = MODEL_NAME):
    """The logged signature of a registered version (None if it has none)."""
    return mlflow.models.get_model_info(f"models:/{name}/{version}").signature


def evaluate_challenger(
    settings: Settings, thresholds: Thresholds, run_id: str | None
) -> dict | None:
    """Score challenger and champion on the challenger's holdout, decide, record the decision.

    Returns:
        The evaluation's materialization metadata, or None when no challenger is registered.
    """
    use_tracking_store(settings)
    client = registry.client(settings)
    challenger = registry.alias_version(client, registry.CHALLENGER)
    if challenger is None:
        return None
    champion = registry.alias_version(client, registry.CHAMPION)
    data = training_data(settings, registry.get_version(client, challenger))
    y = data.split(True)["churned"].to_numpy()
    challenger_auc = roc_auc(y, predict(load_version(challenger), data))
    champion_auc = None
    if champion is not None and champion != challenger:
        champion_auc = roc_auc(y, predict(load_version(champion), data))
    decision = decide(challenger, challenger_auc, champion, champion_auc, thresholds)
    record_on_version(client, decision, run_id)
    return {
        "decision": decision.decision,
        "challenger_version": challenger,
        "champion_version": champion,
        "challenger_roc_auc": challenger_auc,
        "champion_roc_auc": champion_auc,
        "improvement": decision.improvement,
        "reasons": decision.reasons,
        "thresholds": thresholds.as_dict(),
        "holdout_customers": len(y),
        "as_of": data.as_of.isoformat(),
        "delta_versions": data.versions,
    }
