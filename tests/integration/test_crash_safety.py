"""Kill `dagster asset materialize` in the middle of an ingestion, re-run, lose and duplicate
nothing."""

from __future__ import annotations

import random
import signal
import subprocess
import time

import polars as pl
import pytest

from tests.integration._cli import ROOT, env_for, materialize, materialize_args, mlplatform
from tests.integration.test_pipeline_cli import oracle

pytestmark = pytest.mark.integration


def counts(home):
    def n(key):
        path = home / "lakehouse" / key
        return len(pl.read_delta(str(path))) if path.exists() else 0

    return {
        "bronze": n("bronze/raw_customer_events"),
        "silver": n("silver/cleaned_customer_events"),
        "quarantine": n("silver/cleaned_customer_events_quarantine"),
        "gold": n("gold/customer_ml_features"),
    }


def assert_exact(home):
    expect = oracle(sorted((home / "landing" / "customer_events").glob("*.json")))
    got = counts(home)
    assert got["bronze"] == expect["bronze"]
    assert got["silver"] == expect["silver"]
    assert got["quarantine"] == expect["bronze"] - expect["silver"]
    assert got["gold"] == expect["customers"]
    bronze = pl.read_delta(str(home / "lakehouse" / "bronze/raw_customer_events"))
    per_file = bronze.group_by("_source_file").len()
    assert per_file["len"].sum() == expect["bronze"]


@pytest.mark.parametrize(
    "point",
    [
        "after_ledger_record:bronze/raw_customer_events",
        "between_files_and_commit:bronze/raw_customer_events",
        "between_commits:silver/cleaned_customer_events",
        "after_all_commits:silver/cleaned_customer_events",
    ],
)
def test_killed_at_a_point_then_rerun(tmp_path, point):
    home = tmp_path / "home"
    mlplatform(home, "demo-data", "--customers", "100", "--events", "2000", "--files", "2")
    proc = materialize(home, check=False, MLPLATFORM_FAILPOINT=point)
    assert proc.returncode != 0
    materialize(home)
    assert_exact(home)


PIPELINE = "*gold/customer_ml_features"


def test_killed_at_random_moments_then_rerun(tmp_path):
    home = tmp_path / "home"
    mlplatform(home, "demo-data", "--customers", "2000", "--events", "300000", "--files", "6")
    rng = random.Random(11)
    args = materialize_args(PIPELINE)  # the ingestion pipeline: bronze, silver, gold
    kills = 0
    for _ in range(3):
        proc = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env_for(home),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        for line in proc.stdout:  # the kill lands while the steps run, not during imports
            if "STEP_START" in line:
                break
        time.sleep(rng.uniform(0.0, 1.0))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.stdout.close()
        proc.wait()
    assert kills >= 1
    materialize(home)
    assert_exact(home)
