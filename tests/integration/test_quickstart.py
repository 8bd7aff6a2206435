"""The README's first command: `mlplatform quickstart` from an empty home to a champion."""

import re

import pytest
from mlflow import MlflowClient

from tests.integration._cli import mlplatform

pytestmark = pytest.mark.integration

SECONDS = r"\d+\.\d s"


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
    # Quiet: a line per step and the summary; the event stream and warnings go to the run log.
    both = out + proc.stderr
    assert len(both.splitlines()) <= 30, both
    assert "DEBUG" not in both and "warning" not in both.lower(), both
    labels = re.search(r"and ([\d,]+) labels under", out).group(1)  # several dates a customer
    assert int(labels.replace(",", "")) >= 2 * 3000
    for step in (
        rf"  bronze/raw_customer_events: 60,000 rows; {SECONDS}",
        rf"  bronze/raw_customer_labels: {labels} rows; {SECONDS}",
        r"  silver/cleaned_customer_events, silver/cleaned_customer_events_quarantine: "
        rf"[\d,]+ \+ [\d,]+ rows; checks 2 passed, 0 failed; {SECONDS}",
        rf"  gold/customer_ml_features: [\d,]+ rows; checks 1 passed, 0 failed; {SECONDS}",
        rf"  ml/churn_model: {SECONDS}",
        rf"  ml/churn_model checks: checks 3 passed, 0 failed; {SECONDS}",
        rf"  ml/churn_model_evaluation: {SECONDS}",
    ):
        assert re.search(f"^{step}$", out, re.M), f"{step!r} not in:\n{out}"
    log = (home / "dagster" / "quickstart.log").read_text()
    assert "STEP_SUCCESS" in log and "RUN_SUCCESS" in log  # the full stream is kept
    assert f"Run log:        {home / 'dagster' / 'quickstart.log'}" in out


def test_quickstart_verbose_shows_the_event_stream(tmp_path):
    home = tmp_path / "home"
    proc = mlplatform(home, "quickstart", "--customers", "300", "--events", "6000", "--verbose")
    assert "STEP_SUCCESS" in proc.stderr and "DEBUG" in proc.stderr
    assert "promotion:" in proc.stdout
