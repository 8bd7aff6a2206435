"""Fitting, logging and registering the churn model (a real MLflow sqlite store)."""

import json
import sys
from datetime import datetime, timedelta
from pathlib import Path

import mlflow
import numpy as np
import polars as pl
import pytest
from customer_churn.models import CHURN
from customer_churn.tables import FEATURES, GOLD_NUMERIC_FEATURES
from deltalake import write_deltalake

from mlplatform.settings import get_settings
from mlplatform.training import registry
from mlplatform.training.data import load_model_data
from mlplatform.training.model import (
    Hyperparameters,
    NoTrainingData,
    build_estimator,
    train,
    train_and_register,
)
from mlplatform.training.tracking import ensure_experiment, experiment_name

END = datetime(2026, 11, 1)


def synthetic(n: int = 800, seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Gold rows and labels where churners were last seen longer ago and came less often."""
    rng = np.random.default_rng(seed)
    risk = rng.normal(size=n)
    churned = (rng.random(n) < 1 / (1 + np.exp(-2 * risk))).astype(int)
    events = rng.poisson(np.exp(2.5 - 0.5 * risk)) + 1
    gold = pl.DataFrame(
        {
            "customer_id": [str(100000 + i) for i in range(n)],
            **{name: rng.random(n) for name in GOLD_NUMERIC_FEATURES},
            "total_events": events,
            "event_count": events,
            "last_event_at": [END - timedelta(days=float(d)) for d in np.exp(1.5 + 0.8 * risk)],
        }
    )
    labels = pl.DataFrame(
        {
            "customer_id": gold["customer_id"],
            "churned": [str(c) for c in churned],
            "label_timestamp": ["2026-12-01T00:00:00"] * n,
        }
    )
    return gold, labels


@pytest.fixture
def model_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("MLPLATFORM_HOME", str(tmp_path))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    settings = get_settings()
    gold, labels = synthetic()
    write_deltalake(str(settings.table_path("gold", "customer_ml_features")), gold.to_arrow())
    write_deltalake(str(settings.table_path("bronze", "raw_customer_labels")), labels.to_arrow())
    return settings


def test_hyperparameters_from_config_validate_and_record_what_is_used():
    hp = Hyperparameters.from_config({"features": ["recency_days"], "c": 0.5, "as_of": None}, CHURN)
    assert hp.features == ("recency_days",)
    assert hp.params() == {
        "model_type": "logistic_regression",
        "max_iter": 1000,
        "random_state": 0,
        "C": 0.5,
    }
    hgb = Hyperparameters.from_config({"model_type": "hist_gradient_boosting"}, CHURN)
    assert hgb.params()["max_iter"] == 200 and "C" not in hgb.params()
    assert hgb.features == tuple(FEATURES)
    with pytest.raises(ValueError, match="unknown model_type"):
        Hyperparameters.from_config({"model_type": "svm"}, CHURN)
    with pytest.raises(ValueError, match="unknown features"):
        Hyperparameters.from_config({"features": ["age"]}, CHURN)


@pytest.mark.parametrize("model_type", ["logistic_regression", "hist_gradient_boosting"])
def test_train_learns_the_signal_and_tolerates_missing_values(model_settings, model_type):
    data = load_model_data(model_settings, CHURN)
    hp = Hyperparameters.from_config({"model_type": model_type}, CHURN)
    model = train(data, hp, list(hp.features))
    assert model.metrics["holdout_roc_auc"] > 0.75
    assert model.metrics["holdout_rows"] == data.counts["holdout_customers"]
    x, _ = data.xy(holdout=True)
    x.iloc[0, :] = np.nan
    p = model.pipeline.predict_proba(x)[:, 1]
    assert np.isfinite(p).all()


def test_a_single_class_split_is_refused(model_settings):
    data = load_model_data(model_settings, CHURN)
    data.frame = data.frame.with_columns(pl.lit(0, dtype=pl.Int8).alias("churned"))
    with pytest.raises(ValueError, match="do not have both label values"):
        train(data, Hyperparameters(), FEATURES)


def test_build_estimator_rejects_unknown_types():
    with pytest.raises(ValueError, match="unknown model_type"):
        build_estimator(Hyperparameters(model_type="svm"))


def test_no_labelled_customers_raises_no_training_data(tmp_path, monkeypatch):
    monkeypatch.setenv("MLPLATFORM_HOME", str(tmp_path))
    with pytest.raises(NoTrainingData, match="mlplatform demo-data") as info:
        train_and_register(get_settings(), CHURN, Hyperparameters(), None, "run-1")
    assert info.value.counts == {"gold_customers": 0, "labelled_customers": 0}
    # the hint is a command that runs without an activated environment
    assert f"`{Path(sys.executable).parent / 'mlplatform'} demo-data`" in str(info.value)


def test_train_and_register_logs_a_loadable_versioned_model(model_settings):
    hp = Hyperparameters.from_config({"features": ["total_events", "recency_days"]}, CHURN)
    with mlflow.start_run(experiment_id=ensure_experiment(model_settings)):
        result = train_and_register(model_settings, CHURN, hp, None, "run-1")
    client = registry.client(model_settings)
    mv = client.get_model_version(CHURN.registered_model, str(result["model_version"]))
    assert result["model_version"] == 1 and mv.aliases == ["challenger"]
    assert mv.tags["dagster_run_id"] == "run-1"
    assert (
        mv.tags["as_of"]
        == result["as_of"]
        == load_model_data(model_settings, CHURN).as_of.isoformat()
    )
    assert mv.tags["delta_version.gold/customer_ml_features"] == "0"
    assert mv.tags["delta_version.bronze/raw_customer_labels"] == "0"
    assert json.loads(mv.tags["feature_columns"]) == ["total_events", "recency_days"]
    assert mv.tags["git_commit"]
    run = client.get_run(mv.run_id)
    assert run.data.params["features"] == "total_events,recency_days"
    assert run.data.metrics["holdout_roc_auc"] == pytest.approx(result["holdout_roc_auc"])
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.name == experiment_name("dev")
    assert experiment.artifact_location == f"{model_settings.artifact_location}/dev"
    info = mlflow.models.get_model_info(f"models:/{CHURN.registered_model}/1")
    assert [(c.name, c.type.name) for c in info.signature.inputs.inputs] == [
        ("total_events", "double"),
        ("recency_days", "double"),
    ]
    model = mlflow.pyfunc.load_model(f"models:/{CHURN.registered_model}@challenger")
    data = load_model_data(model_settings, CHURN)
    x, _ = data.xy(holdout=True)  # every feature column: the model picks the ones it uses
    p = np.asarray(model.predict(x))
    assert p.shape == (len(x),) and ((p >= 0) & (p <= 1)).all()
    assert any(a.path == "feature_list.json" for a in client.list_artifacts(mv.run_id))
