"""Champion/challenger evaluation: score both on the same holdout, decide promote or skip.

The decision applies MLflow's own model-validation semantics (`MetricThreshold`,
`mlflow.validate_evaluation_results`) to the model's declared metric: a bound (a minimum when
higher is better, a maximum otherwise), and against a champion a minimum absolute improvement.
With no champion yet only the bound applies.
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

from mlplatform.catalog import AS_OF_TAG, CHALLENGER, CHAMPION, DELTA_VERSION_TAG, PROMOTE, SKIP
from mlplatform.feature_store.derived import features_for_scoring
from mlplatform.settings import Settings
from mlplatform.training import registry
from mlplatform.training.data import ModelData, load_model_data
from mlplatform.training.lifecycle import ModelLifecycle
from mlplatform.training.tracking import use_tracking_store


def lineage_versions(mv: ModelVersion) -> dict[str, int]:
    """The Delta version of each table a model version was trained on (from its tags)."""
    return {
        key.removeprefix(DELTA_VERSION_TAG): int(value)
        for key, value in mv.tags.items()
        if key.startswith(DELTA_VERSION_TAG) and value.isdigit()
    }


def training_data(settings: Settings, lifecycle: ModelLifecycle, mv: ModelVersion) -> ModelData:
    """The exact data (tables at the tagged versions, same as-of) a model version saw."""
    versions = lineage_versions(mv)
    as_of = mv.tags.get(AS_OF_TAG) or None
    return load_model_data(settings, lifecycle, as_of=as_of, versions=versions)


def load_version(version: int | str, name: str):
    """A registered version as a pyfunc model (predict: one value per row)."""
    return mlflow.pyfunc.load_model(f"models:/{name}/{version}")


def predict(model, data: ModelData, holdout: bool = True) -> np.ndarray:
    """A loaded pyfunc model's predictions for the holdout (or training) rows."""
    part = data.split(holdout)
    lc = data.lifecycle
    x = features_for_scoring(part, data.as_of, lc.features, lc.derived)
    return np.asarray(model.predict(x), dtype=float)


def roc_auc(y: np.ndarray, p: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p))


@dataclass(frozen=True)
class Thresholds:
    """Promotion bar: the metric's bound (minimum if higher is better, else maximum); minimum
    absolute improvement over the champion."""

    threshold: float
    min_improvement: float | None
    metric: str = "roc_auc"
    greater_is_better: bool = True

    def metric_thresholds(self, with_champion: bool) -> dict[str, MetricThreshold]:
        """MLflow thresholds; the comparison rules apply only when there is a champion."""
        change = self.min_improvement if with_champion and self.min_improvement else None
        relative = 0.0 if with_champion and change is None else None  # "not worse"
        return {
            self.metric: MetricThreshold(
                threshold=self.threshold,
                min_absolute_change=change,
                min_relative_change=relative,
                greater_is_better=self.greater_is_better,
            )
        }

    @property
    def bound(self) -> str:
        return "minimum" if self.greater_is_better else "maximum"

    def as_dict(self) -> dict:
        return {
            f"{self.bound[:3]}_{self.metric}": self.threshold,
            "min_improvement": self.min_improvement,
        }


@dataclass
class Decision:
    """The outcome of an evaluation, as the next step (the promotion sensor) reads it."""

    decision: str
    challenger_version: int
    challenger_score: float
    champion_version: int | None
    champion_score: float | None
    reasons: list[str] = field(default_factory=list)
    greater_is_better: bool = True

    @property
    def improvement(self) -> float | None:
        """How much better the challenger is (positive: better, whichever way is better)."""
        if self.champion_score is None:
            return None
        diff = self.challenger_score - self.champion_score
        return diff if self.greater_is_better else -diff


def decide(
    challenger_version: int,
    challenger_score: float,
    champion_version: int | None,
    champion_score: float | None,
    thresholds: Thresholds,
) -> Decision:
    """Promote when MLflow's validation of the challenger against the champion passes."""
    args = (challenger_version, challenger_score, champion_version, champion_score)
    better = thresholds.greater_is_better
    if champion_version is not None and champion_version == challenger_version:
        reason = f"version {challenger_version} is already the champion"
        return Decision(SKIP, *args, [reason], better)
    with_champion = champion_score is not None
    name = thresholds.metric
    try:
        mlflow.validate_evaluation_results(
            thresholds.metric_thresholds(with_champion),
            EvaluationResult(metrics={name: challenger_score}, artifacts={}),
            EvaluationResult(metrics={name: champion_score}, artifacts={})
            if with_champion
            else None,
        )
    except ModelValidationFailedException as err:
        # one line per metric, one sentence per failed rule ("Metric roc_auc ... failed: ...")
        parts = re.split(r"(?<=\.)\s+(?=Metric )|\n", str(err.message))
        reasons = [part.strip() for part in parts if part.strip()]
        return Decision(SKIP, *args, reasons, better)
    sign = ">=" if better else "<="
    bar = f"{name} {challenger_score:.4f} {sign} {thresholds.bound} {thresholds.threshold}"
    if with_champion:
        gain = challenger_score - champion_score if better else champion_score - challenger_score
        why = (
            f"{bar} and beats champion version {champion_version} ({champion_score:.4f}) by "
            f"{gain:+.4f}"
        )
    else:
        why = f"no champion yet; {bar}"
    return Decision(PROMOTE, *args, [why], better)


def record_on_version(
    client: MlflowClient, name: str, metric: str, decision: Decision, run_id: str | None
) -> None:
    """Write the decision on the challenger version's tags and its training run's metrics."""
    v = str(decision.challenger_version)
    champion_score = decision.champion_score
    tags = {
        "evaluation.decision": decision.decision,
        f"evaluation.{metric}": f"{decision.challenger_score:.6f}",
        "evaluation.champion_version": str(decision.champion_version or ""),
        f"evaluation.champion_{metric}": "" if champion_score is None else f"{champion_score:.6f}",
        "evaluation.reasons": json.dumps(decision.reasons)[:5000],
    }
    for key, value in tags.items():
        client.set_model_version_tag(name, v, key, value)
    mv = client.get_model_version(name, v)
    if mv.run_id:
        client.log_metric(mv.run_id, f"evaluation_challenger_{metric}", decision.challenger_score)
        if champion_score is not None:
            client.log_metric(mv.run_id, f"evaluation_champion_{metric}", champion_score)
        client.set_tag(mv.run_id, "evaluation.decision", decision.decision)
    if run_id:
        client.set_model_version_tag(name, v, "evaluation.dagster_run_id", run_id)


def model_signature(version: int | str, name: str):
    """The logged signature of a registered version (None if it has none)."""
    return mlflow.models.get_model_info(f"models:/{name}/{version}").signature


def evaluate_challenger(
    settings: Settings, lifecycle: ModelLifecycle, thresholds: Thresholds, run_id: str | None
) -> dict | None:
    """Score challenger and champion on the challenger's holdout, decide, record the decision.

    Returns:
        The evaluation's materialization metadata, or None when no challenger is registered.
    """
    name, metric = lifecycle.registered_model, lifecycle.scoring_metric
    use_tracking_store(settings)
    client = registry.client(settings)
    challenger = registry.alias_version(client, CHALLENGER, name)
    if challenger is None:
        return None
    champion = registry.alias_version(client, CHAMPION, name)
    data = training_data(settings, lifecycle, registry.get_version(client, challenger, name))
    y = data.split(True)[lifecycle.label].to_numpy()
    challenger_score = metric.score(y, predict(load_version(challenger, name), data))
    champion_score = None
    if champion is not None and champion != challenger:
        champion_score = metric.score(y, predict(load_version(champion, name), data))
    decision = decide(challenger, challenger_score, champion, champion_score, thresholds)
    record_on_version(client, name, metric.name, decision, run_id)
    return {
        "decision": decision.decision,
        "challenger_version": challenger,
        "champion_version": champion,
        f"challenger_{metric.name}": challenger_score,
        f"champion_{metric.name}": champion_score,
        "improvement": decision.improvement,
        "reasons": decision.reasons,
        "thresholds": thresholds.as_dict(),
        "holdout_rows": len(y),
        "as_of": data.as_of.isoformat() if data.as_of else None,
        "delta_versions": data.versions,
    }
