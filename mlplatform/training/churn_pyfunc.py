"""The logged model's code (MLflow "models from code"): churn probability per input row.

MLflow copies this file into every model version, so it imports only MLflow, pandas and the
standard library: a version loads anywhere MLflow and scikit-learn are installed, without
mlplatform. The fitted scikit-learn pipeline is the `pipeline` artifact next to it.
"""

import pickle

import mlflow
import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel


class ChurnProbability(PythonModel):
    """Wraps a fitted scikit-learn classifier; `predict` returns P(churned) for each row."""

    def load_context(self, context):
        with open(context.artifacts["pipeline"], "rb") as handle:
            self.pipeline = pickle.load(handle)  # noqa: S301 (our own artifact)

    def predict(self, context, model_input: pd.DataFrame, params=None) -> np.ndarray:
        columns = list(self.pipeline.feature_names_in_)
        frame = pd.DataFrame(model_input)[columns].astype("float64")
        return self.pipeline.predict_proba(frame)[:, 1]


mlflow.models.set_model(ChurnProbability())
