"""The `databricks-uc` registry: a notebook written as Databricks documents MLOps projects runs
against mlplatform's MLflow store, with Unity Catalog's semantics (string versions, "" for an
unset description, aliases, no stages, three-level names)."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from sklearn.linear_model import LinearRegression

from mlplatform.settings import get_settings

MODEL = "dev.ml.my_model"


@pytest.fixture(scope="module")
def tracking(tmp_path_factory):
    """The tracking store a job task gets: mlplatform's sqlite store, artifacts in the home (one
    home for the module: each test registers its own model names)."""
    home = tmp_path_factory.mktemp("uc") / "home"
    home.mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLPLATFORM_HOME", str(home))
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        settings = get_settings()
        mlflow.set_tracking_uri(settings.tracking_uri)
        experiment = mlflow.create_experiment(
            "uc-notebook", artifact_location=settings.artifact_location
        )
        mlflow.set_experiment(experiment_id=experiment)
        yield settings
        mlflow.set_registry_uri(None)
        mlflow.set_tracking_uri(None)


@pytest.fixture(scope="module")
def model_uri(tracking):
    """The training notebook: fit, log with a signature; the tests register the logged model."""
    x = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [0.0, 1.0, 0.0, 1.0]})
    y = 2 * x["a"] + 3 * x["b"] + 1
    model = LinearRegression().fit(x, y)
    signature = mlflow.models.infer_signature(x, model.predict(x))
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(model, name="model", signature=signature)
    return info.model_uri


def test_a_databricks_style_notebook_registers_aliases_and_loads(model_uri):
    mlflow.set_registry_uri("databricks-uc")
    registered = mlflow.register_model(model_uri, MODEL)
    assert registered.name == MODEL
    assert registered.version == "1"

    client = MlflowClient()
    client.set_registered_model_alias(MODEL, "champion", registered.version)
    champion = client.get_model_version_by_alias(MODEL, "champion")
    assert champion.version == "1"
    assert isinstance(champion.version, str)
    assert champion.description == ""
    assert champion.aliases == ["champion"]
    assert client.get_model_version(MODEL, "1").description == ""

    model = mlflow.pyfunc.load_model(f"models:/{MODEL}@champion")
    predicted = model.predict(pd.DataFrame({"a": [10.0], "b": [1.0]}))
    np.testing.assert_allclose(predicted, [24.0])

    second = mlflow.register_model(model_uri, MODEL)
    assert second.version == "2"
    versions = client.search_model_versions(f"name = '{MODEL}'")
    assert sorted(v.version for v in versions) == ["1", "2"]
    client.update_model_version(MODEL, "2", description="retrained")
    assert client.get_model_version(MODEL, "2").description == "retrained"
    assert client.get_registered_model(MODEL).description == ""


def test_the_same_store_answers_without_the_uc_uri(tracking, model_uri):
    """The rows live in the tracking store's database: MLflow's own registry sees them."""
    mlflow.set_registry_uri("databricks-uc")
    mlflow.register_model(model_uri, "dev.ml.plain")
    plain = MlflowClient(registry_uri=tracking.tracking_uri)
    assert plain.get_model_version("dev.ml.plain", 1).version == 1  # MLflow's own semantics


def test_stages_do_not_exist(model_uri):
    mlflow.set_registry_uri("databricks-uc")
    mlflow.register_model(model_uri, "dev.ml.staged")
    client = MlflowClient()
    with pytest.raises(MlflowException, match="model stages are not supported in Unity Catalog"):
        client.transition_model_version_stage("dev.ml.staged", "1", "Production")
    with pytest.raises(MlflowException, match="stages are not supported in Unity Catalog"):
        client.get_latest_versions("dev.ml.staged")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("my_model", "registered model name 'my_model' is not three-level"),
        ("ml.my_model", "registered model name 'ml.my_model' is not three-level"),
        ("a.b.c.d", "registered model name 'a.b.c.d': table name 'a.b.c.d' has 4 parts"),
    ],
)
def test_names_are_three_level(tracking, name, message):
    mlflow.set_registry_uri("databricks-uc")
    with pytest.raises(MlflowException, match=message):
        MlflowClient().create_registered_model(name)
