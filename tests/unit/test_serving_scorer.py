"""The scorer calls the Python model's own predict for a plain signature, the same answers."""

from __future__ import annotations

import numpy as np
import pytest

from mlplatform.serving.model_holder import load_version, scorer
from mlplatform.serving.payloads import InputSpec
from tests.serving_models import MODEL_NAME, feature_frame, register_version


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    import mlflow

    uri = f"sqlite:///{tmp_path_factory.mktemp('scorer') / 'mlflow.db'}"
    version = register_version(uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    model = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}/{version}")
    return model, load_version(MODEL_NAME, str(version), "champion")


def test_the_direct_path_gives_what_model_predict_gives(loaded):
    model, version = loaded
    spec = InputSpec.from_schema(model.metadata.get_input_schema())
    fast = scorer(model, spec)
    assert fast != model.predict  # the Python model's own predict, not the pyfunc wrapper
    frame = feature_frame(50, seed=3)
    np.testing.assert_allclose(np.asarray(fast(frame)), np.asarray(model.predict(frame)))
    np.testing.assert_allclose(np.asarray(version.predict(frame)), np.asarray(model.predict(frame)))


def test_without_a_signature_it_takes_model_predict(loaded):
    model, _ = loaded
    assert scorer(model, None) == model.predict
