"""The README's first command: `mlplatform quickstart` from an empty home to a champion."""

import pytest
from mlflow import MlflowClient

from tests.integration._cli import mlplatform

pytestmark = pytest.mark.integration


def test_quickstart_from_an_empty_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    proc = mlplatform(home, "quickstart", "--customers", "3000", "--events", "60000")
    out = proc.stdout
    assert "promotion: the evaluation said promote" in out
    assert f"Delta tables:   {home / 'lakehouse'}" in out
    assert f"DAGSTER_HOME={home / 'dagster'} dagster dev" in out
    assert (home / "lakehouse" / "gold" / "customer_ml_features" / "_delta_log").is_dir()
    client = MlflowClient(tracking_uri=f"sqlite:///{home / 'mlflow' / 'mlflow.db'}")
    champion = client.get_model_version_by_alias("churn_predictor", "champion")
    assert int(champion.version) == 1
