"""Shared fixtures: a fresh MLPLATFORM_HOME per test."""

from __future__ import annotations

import os
import sys

import pytest

# the demo project's package, for the subprocesses tests start (pytest's `pythonpath` setting
# reaches this process only)
_DEMO = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", "customer_churn"
)
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (_DEMO, os.environ.get("PYTHONPATH", "")) if p
)


@pytest.fixture(scope="module", autouse=True)
def no_mlflow_uri_leaks_between_modules():
    """`mlflow.set_tracking_uri` / `set_registry_uri` are process-wide and export
    MLFLOW_TRACKING_URI / MLFLOW_REGISTRY_URI, which every later subprocess inherits: a module
    that sets them must not point the next module's clients and commands at its store."""
    yield
    if "mlflow" in sys.modules:
        mlflow = sys.modules["mlflow"]
        mlflow.set_tracking_uri(None)
        mlflow.set_registry_uri(None)
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        os.environ.pop(name, None)


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh, empty data home, set as MLPLATFORM_HOME for the test."""
    root = tmp_path / "home"
    root.mkdir()
    monkeypatch.setenv("MLPLATFORM_HOME", str(root))
    monkeypatch.delenv("MLPLATFORM_ENGINE", raising=False)
    monkeypatch.delenv("MLPLATFORM_ENV", raising=False)
    monkeypatch.delenv("MLPLATFORM_FAILPOINT", raising=False)
    # mlflow.set_tracking_uri() in an earlier test also exports MLFLOW_TRACKING_URI: undo both
    if "mlflow" in sys.modules:
        sys.modules["mlflow"].set_tracking_uri(None)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return root


@pytest.fixture(scope="session")
def spark():
    """One local[2] Spark session for the whole test run (UI off, bound to 127.0.0.1)."""
    import os

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from mlplatform.lakehouse.engines.spark_session import get_spark_session

    session = get_spark_session()
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
