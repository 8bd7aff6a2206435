"""The medallion pipeline through `dagster asset materialize`, checked against an independent
reading of the landing files."""

from __future__ import annotations

import contextlib
import json
import math
import os

import dagster as dg
import polars as pl
import pytest
from customer_churn.gold import customer_ml_features
from polars.testing import assert_frame_equal

from tests.integration._cli import env_for, materialize, mlplatform

pytestmark = pytest.mark.integration


def oracle(landing_files):
    """What each table must hold, computed line by line with Python's json module."""
    lines = [ln for f in landing_files for ln in f.read_text().split("\n")]
    non_blank = [ln for ln in lines if ln.strip()]
    valid, customers = 0, set()
    for line in non_blank:
        try:
            rec = json.loads(line)
        except ValueError:
            rec = None
        rec = rec if isinstance(rec, dict) else {}
        cid, amount = rec.get("customer_id"), rec.get("amount")
        try:
            amount = float(amount) if amount is not None else math.nan
        except ValueError:
            amount = math.nan
        if cid is not None and amount > 0:
            valid += 1
            customers.add(str(cid))
    return {
        "bronze": len(non_blank),
        "silver": valid,
        "customers": len(customers),
        "blank": len(lines) - len(non_blank) - len(landing_files),
    }


def table(home, key):
    return pl.read_delta(str(home / "lakehouse" / key))


@contextlib.contextmanager
def instance_of(home):
    """The Dagster instance of ``home`` (the CLI runs' DAGSTER_HOME)."""
    old = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = env_for(home)["DAGSTER_HOME"]
    try:
        with dg.DagsterInstance.get() as instance:
            yield instance
    finally:
        if old is None:
            os.environ.pop("DAGSTER_HOME", None)
        else:
            os.environ["DAGSTER_HOME"] = old


def latest_materialization(home, key) -> dict:
    with instance_of(home) as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey(key.split("/")))
        return {k: v.value for k, v in event.asset_materialization.metadata.items()}


def check_evaluations(home, key):
    out = {}
    with instance_of(home) as instance:
        for name in ("valid_customer_id", "valid_amount"):
            record = instance.event_log_storage.get_latest_asset_check_execution_by_key(
                [dg.AssetCheckKey(dg.AssetKey(key.split("/")), name)]
            )
            evaluation = next(iter(record.values())).event.dagster_event.event_specific_data
            out[name] = {
                k: v.value
                for k, v in evaluation.metadata.items()
                if k in ("passed_records", "failed_records")
            }
    return out


def test_whole_graph_then_one_more_file(tmp_path):
    home = tmp_path / "home"
    mlplatform(
        home,
        "demo-data",
        "--customers",
        "300",
        "--events",
        "6000",
        "--files",
        "3",
        "--malformed",
        "0.01",
        "--blank-lines",
        "0.01",
    )
    materialize(home)
    files = sorted((home / "landing" / "customer_events").glob("*.json"))
    expect = oracle(files)
    bronze, silver = (
        table(home, "bronze/raw_customer_events"),
        table(home, "silver/cleaned_customer_events"),
    )
    quarantine = table(home, "silver/cleaned_customer_events_quarantine")
    gold = table(home, "gold/customer_ml_features")
    assert len(bronze) == expect["bronze"]  # nothing lost: one row per non-blank line
    assert len(silver) == expect["silver"]
    assert len(quarantine) == expect["bronze"] - expect["silver"]
    assert len(gold) == expect["customers"] == silver["customer_id"].n_unique()
    assert gold["total_events"].sum() == len(silver)
    # one label row per customer and observation date (every customer is observed at least once)
    label_lines = (home / "landing" / "customer_labels" / "labels-s7.json").read_text().splitlines()
    labels = table(home, "bronze/raw_customer_labels")
    assert len(labels) == len(label_lines) > 300
    assert labels["customer_id"].n_unique() == 300
    counts = check_evaluations(home, "silver/cleaned_customer_events")
    nulls = bronze["customer_id"].null_count()
    assert counts["valid_customer_id"] == {
        "passed_records": expect["bronze"] - nulls,
        "failed_records": nulls,
    }

    # a new file: only its rows are new, everywhere
    mlplatform(
        home,
        "demo-data",
        "--customers",
        "300",
        "--events",
        "500",
        "--files",
        "1",
        "--seed",
        "8",
        "--no-labels",
    )
    new_file = home / "landing" / "customer_events" / "events-s8-00000.json"
    added = oracle([new_file])
    materialize(home)
    assert len(table(home, "bronze/raw_customer_events")) == expect["bronze"] + added["bronze"]
    assert len(table(home, "silver/cleaned_customer_events")) == expect["silver"] + added["silver"]
    assert len(table(home, "silver/cleaned_customer_events_quarantine")) == (
        expect["bronze"] - expect["silver"] + added["bronze"] - added["silver"]
    )
    counts = check_evaluations(home, "silver/cleaned_customer_events")
    assert sum(counts["valid_amount"].values()) == added["bronze"]  # the batch, not the table
    # gold merged only the new rows into its per-customer aggregates: same as a recomputation
    meta = latest_materialization(home, "gold/customer_ml_features")
    assert meta["refresh"] == "incremental" and meta["rows_aggregated"] == added["silver"]
    silver = table(home, "silver/cleaned_customer_events")
    query = customer_ml_features.func(None).text
    recomputed = pl.SQLContext({"cleaned_customer_events": silver}).execute(query, eager=True)
    gold = table(home, "gold/customer_ml_features")
    assert_frame_equal(gold, recomputed.select(gold.columns), check_exact=False)

    # and a re-run ingests nothing
    materialize(home)
    assert len(table(home, "bronze/raw_customer_events")) == expect["bronze"] + added["bronze"]


def test_fresh_home_succeeds_with_empty_tables(tmp_path):
    home = tmp_path / "home"
    materialize(home)
    assert len(table(home, "bronze/raw_customer_events")) == 0
    assert len(table(home, "gold/customer_ml_features")) == 0
    assert table(home, "silver/cleaned_customer_events").schema["amount"] == pl.Float64


def test_fail_on_new_columns_commits_nothing_and_names_the_field(tmp_path):
    home = tmp_path / "home"
    mlplatform(
        home,
        "demo-data",
        "--customers",
        "50",
        "--events",
        "500",
        "--files",
        "1",
        "--unknown-field",
        "0.05",
    )
    cfg = json.dumps(
        {
            "ops": {
                "bronze__raw_customer_events": {
                    "config": {"schema_evolution_mode": "failOnNewColumns"}
                }
            }
        }
    )
    proc = materialize(home, "bronze/raw_customer_events", config=cfg, check=False)
    assert proc.returncode != 0
    assert "new fields ['coupon_code']" in proc.stdout + proc.stderr
    assert not (home / "lakehouse" / "bronze" / "raw_customer_events").exists()
    cfg = cfg.replace("failOnNewColumns", "addNewColumns")
    outside = tmp_path / "outside.json"
    outside.write_text('{"customer_id": "outside"}\n')
    (home / "landing" / "customer_events" / "x.json").symlink_to(outside)
    proc = materialize(home, "bronze/raw_customer_events", config=cfg)
    # the CLI shows the progress line of each micro-batch and names the refused link
    shown = proc.stdout + proc.stderr
    assert "bronze/raw_customer_events: micro-batch 1 (batch 1): 1 files, 500 rows, " in shown
    assert "x.json leads outside the landing folder; refused (never read)" in shown
    bronze = table(home, "bronze/raw_customer_events")
    assert len(bronze) == 500 and "outside" not in bronze["customer_id"].to_list()
    assert bronze["coupon_code"].drop_nulls().str.starts_with("SAVE").all()
    assert bronze["coupon_code"].null_count() < len(bronze)
