"""Small churn models registered into a throwaway MLflow store, for the serving tests and bench.

Each version is logged the way training logs the real model (the `sklearn_pyfunc.py` code model with
a pickled scikit-learn pipeline and a signature of float columns), so the server sees exactly the
production format without running the training pipeline.
"""

from __future__ import annotations

import pickle
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from customer_churn.tables import FEATURES  # noqa: F401 (the model's inputs, re-exported)

MODEL_NAME = "churn_predictor"
PYFUNC_CODE = Path(__file__).resolve().parents[1] / "mlplatform" / "training" / "sklearn_pyfunc.py"


def feature_frame(n: int, seed: int = 0) -> pd.DataFrame:
    """`n` plausible customers: counts, amounts, shares that sum to 1, recency in days."""
    rng = np.random.default_rng(seed)
    events = rng.integers(1, 200, n).astype(float)
    shares = rng.dirichlet(np.ones(5), n)
    avg = np.round(rng.lognormal(3.0, 0.5, n), 2)
    purchases = np.round(events * shares[:, 3])
    return pd.DataFrame(
        {
            "total_events": events,
            "avg_amount": avg,
            "event_count": events,
            "total_spend": np.round(avg * events, 2),
            "purchase_count": purchases,
            "share_page_view": shares[:, 0],
            "share_login": shares[:, 1],
            "share_add_to_cart": shares[:, 2],
            "share_purchase": shares[:, 3],
            "share_support_ticket": shares[:, 4],
            "recency_days": np.round(rng.uniform(0, 90, n), 3),
        }
    )


def register_version(tracking_uri: str, invert: bool = False, seed: int = 0) -> int:
    """Fit a logistic regression on synthetic customers and register it; return its version.

    Args:
        tracking_uri: The MLflow store (e.g. ``sqlite:///.../mlflow.db``).
        invert: Learn the opposite label, so this version's predictions differ clearly.
        seed: Data seed.
    """
    import mlflow
    from mlflow.models import infer_signature
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    x = feature_frame(2000, seed)
    logit = 0.04 * x["recency_days"] - 0.02 * x["total_events"] + 2.0 * x["share_support_ticket"]
    y = (logit > np.median(logit)).astype(int)
    if invert:
        y = 1 - y
    steps = [("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]
    # a null feature is a missing value, imputed as training's model does
    pipeline = Pipeline([*steps, ("clf", LogisticRegression())]).fit(x, y)
    example = x.head(3)
    signature = infer_signature(example, pipeline.predict_proba(example)[:, 1])
    artifacts = Path(tracking_uri.removeprefix("sqlite:///")).parent / "artifacts"
    name = "serving-tests"
    if mlflow.get_experiment_by_name(name) is None:
        mlflow.create_experiment(name, artifact_location=artifacts.as_uri())
    mlflow.set_experiment(name)
    with tempfile.TemporaryDirectory() as tmp, mlflow.start_run():
        path = Path(tmp) / "pipeline.pkl"
        path.write_bytes(pickle.dumps(pipeline))
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=str(PYFUNC_CODE),
            artifacts={"pipeline": str(path)},
            signature=signature,
            registered_model_name=MODEL_NAME,
            pip_requirements=[f"mlflow=={mlflow.__version__}"],  # skip slow inference
        )
    return int(info.registered_model_version)


def set_champion(tracking_uri: str, version: int) -> None:
    """Point the `champion` alias at `version` (what promotion does)."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    client.set_registered_model_alias(MODEL_NAME, "champion", str(version))


def served_model():
    """The demo's churn model as serving sees it (identifier `customer_id`, its features)."""
    from customer_churn.models import CHURN

    from mlplatform.serving.served import ServedModel

    return ServedModel.from_lifecycle(CHURN)
