"""The logged model's code (MLflow "models from code"): one prediction per input row.

MLflow copies this file into every model version, so it imports only MLflow, pandas and the
standard library: a version loads anywhere MLflow and scikit-learn are installed, without
mlplatform. The fitted scikit-learn pipeline is the `pipeline` artifact next to it. A classifier
answers the probability of the positive class, a regressor its prediction.
"""

import pickle

import mlflow
import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel


class SklearnPrediction(PythonModel):
    """Wraps a fitted scikit-learn pipeline; `predict` returns P(positive) or the estimate."""

    def load_context(self, context):
        with open(context.artifacts["pipeline"], "rb") as handle:
            self.pipeline = pickle.load(handle)  # noqa: S301 (our own artifact)

    def predict(self, context, model_input: pd.DataFrame, params=None) -> np.ndarray:
        columns = list(self.pipeline.feature_names_in_)
        frame = pd.DataFrame(model_input)[columns].astype("float64")
        if hasattr(self.pipeline, "predict_proba"):
            return self.pipeline.predict_proba(frame)[:, 1]
        return np.asarray(self.pipeline.predict(frame), dtype="float64")


mlflow.models.set_model(SklearnPrediction())
