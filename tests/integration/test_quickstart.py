"""The README's first command: `mlplatform quickstart` from an empty home to a champion."""

import json
import random
import re

import pytest
from mlflow import MlflowClient

from tests.integration._cli import BIN, ROOT, mlplatform

pytestmark = pytest.mark.integration

SECONDS = r"\d+\.\d s"


def registry_of(home):
    """The home's MLflow registry (named: an earlier test may have set a process-wide one)."""
    uri = f"sqlite:///{home / 'mlflow' / 'mlflow.db'}"
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def test_quickstart_from_an_empty_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    proc = mlplatform(home, "quickstart", "--customers", "3000", "--events", "60000")
    out = proc.stdout
    assert "promotion: the evaluation said promote" in out
    assert f"Delta tables:   {home / 'lakehouse'}" in out
    # the hints run from a clean shell (no activated venv): this environment's commands by path
    assert (
        f"Open the UI:    MLPLATFORM_HOME={home} DAGSTER_HOME={home / 'dagster'} "
        f"{BIN.relative_to(ROOT) / 'dagster'} dev\n" in out
    ), out
    assert (
        f"Serve the model: MLPLATFORM_HOME={home} {BIN.relative_to(ROOT) / 'mlplatform'} serve"
        in out
    )
    assert f"Dashboard:      {home / 'monitoring' / 'dashboard.html'}\n" in out
    assert (home / "monitoring" / "dashboard.html").is_file()
    # one line per step: two check steps of one asset are told apart, the online store has rows
    step_lines = [line for line in out.splitlines() if line.startswith("  ")]
    assert len(set(step_lines)) == len(step_lines), out
    assert re.search(rf"^  online/customer_ml_features: [\d,]+ rows; {SECONDS}$", out, re.M), out
    assert (home / "lakehouse" / "gold" / "customer_ml_features" / "_delta_log").is_dir()
    client = registry_of(home)
    champion = client.get_model_version_by_alias("churn_predictor", "champion")
    assert int(champion.version) == 1
    # Quiet: a line per step and the summary; the event stream and warnings go to the run log.
    both = out + proc.stderr
    assert len(both.splitlines()) <= 36, both  # two models: 6 lines more than one
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


def test_a_model_below_its_floor_ends_in_one_line_and_exit_3(tmp_path):
    """Labels without signal: the tables are built, the model misses its ROC AUC floor."""
    home = tmp_path / "home"
    mlplatform(home, "demo-data", "--customers", "1500", "--events", "30000")
    [labels] = (home / "landing" / "customer_labels").glob("*.json")
    rng = random.Random(3)
    rows = [json.loads(line) for line in labels.read_text().splitlines()]
    labels.write_text("".join(json.dumps(r | {"churned": rng.randint(0, 1)}) + "\n" for r in rows))
    proc = mlplatform(home, "quickstart", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 3, out
    assert "Traceback" not in out and "DagsterAssetCheckFailedError" not in out, out
    [line] = [line for line in out.splitlines() if line.startswith("model: ")]
    assert re.fullmatch(
        r"model: ml/churn_model version 1 failed its quality gate: roc_auc_above_floor "
        r"\(holdout_roc_auc 0\.\d{3} < floor 0\.550\)\. It was not evaluated or promoted "
        r"\(the champion is unchanged\); every table is built\. Exit 3\.",
        line,
    ), line
    auc = float(re.search(r"holdout_roc_auc (\S+)", line).group(1))
    assert auc < 0.55
    assert "promotion:" not in out
    assert f"Dashboard:      {home / 'monitoring' / 'dashboard.html'}" in out
    assert (home / "lakehouse" / "gold" / "customer_ml_features" / "_delta_log").is_dir()
    assert (home / "lakehouse" / "serving" / "churn_predictor_inference" / "_delta_log").is_dir()
    client = registry_of(home)
    assert client.get_registered_model("churn_predictor").aliases == {
        "challenger": 1
    }  # no champion
