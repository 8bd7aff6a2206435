"""A model version trained on the point-in-time training set carries its feature spec, and its
monitoring baseline is that training set."""

import json
from pathlib import Path

import dagster as dg
import mlflow
import polars as pl
import pytest
from customer_churn.assets import table_assets
from customer_churn.demo_data import generate
from customer_churn.feature_assets import feature_store_assets
from customer_churn.models import CHURN
from customer_churn.tables import FEATURES, GOLD_NUMERIC_FEATURES

from mlplatform.demo_monitor import CHURN_BASELINES
from mlplatform.feature_store.spec import FeatureSpec
from mlplatform.monitoring.baseline import from_tags
from mlplatform.settings import get_settings
from mlplatform.training import registry
from mlplatform.training.model import Hyperparameters, train_and_register
from mlplatform.training.tracking import ensure_experiment
from tests.platform_resources import platform_resources


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    home = tmp_path_factory.mktemp("spec")
    mp = pytest.MonkeyPatch()
    mp.setenv("MLPLATFORM_HOME", str(home))
    mp.delenv("MLFLOW_TRACKING_URI", raising=False)
    generate(home, customers=1500, events=60_000, files=2, seed=3)
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [*table_assets, *feature_store_assets],
            instance=instance,
            resources=platform_resources(),
        )
        assert result.success
        ts_meta = result.asset_materializations_for_node("ml__churn_training_set")[0].metadata
    settings = get_settings()
    with mlflow.start_run(experiment_id=ensure_experiment(settings)):
        out = train_and_register(settings, CHURN, Hyperparameters(), None, "run-1")
    yield settings, out, ts_meta
    mp.undo()


def test_the_version_is_tagged_with_its_feature_spec_and_lineage(trained):
    settings, out, ts_meta = trained
    mv = registry.client(settings).get_model_version(CHURN.registered_model, "1")
    spec = FeatureSpec.from_tags(mv.tags)
    assert spec.table == "gold/customer_ml_features_history"
    assert (spec.lookup_key, spec.timestamp_lookup_key) == ("customer_id", "label_timestamp")
    assert spec.feature_names == [*GOLD_NUMERIC_FEATURES, "last_event_at"]
    assert spec.table_version == 0 and spec.derived == {"recency_days": "last_event_at"}
    assert (spec.training_set, spec.training_set_version) == ("ml/churn_training_set", 0)
    assert mv.tags["delta_version.ml/churn_training_set"] == "0"
    assert mv.tags["delta_version.gold/customer_ml_features_history"] == "0"
    assert mv.tags["delta_version.bronze/raw_customer_labels"] == "0"
    assert out["feature_spec"] == spec.to_dict()
    assert ts_meta["rows"].value == out["label_rows"] > out["labelled_entities"]
    local = mlflow.artifacts.download_artifacts(f"models:/{CHURN.registered_model}/1")
    logged = json.loads(next(Path(local).rglob("feature_spec.json")).read_text())
    assert logged == spec.to_dict()


def test_the_monitoring_baseline_is_the_training_set(trained):
    settings, out, _ = trained
    mv = registry.client(settings).get_model_version(CHURN.registered_model, "1")
    base = from_tags(settings, "1", dict(mv.tags), CHURN_BASELINES)
    training_set = pl.read_delta(str(settings.table_path("ml", "churn_training_set")))
    assert base.gold_version == 0 and base.frame.height == training_set.height
    assert base.frame.columns == FEATURES
    assert base.frame["recency_days"].to_list() == training_set["recency_days"].to_list()
