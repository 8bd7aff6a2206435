"""The same table definitions on PySpark: parity with polars, expectations, crash safety."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import dagster as dg
import polars as pl
import pytest
from customer_churn.assets import TABLES
from customer_churn.demo_data import BadShares, generate
from polars.testing import assert_frame_equal

from mlplatform.lakehouse.engines import get_engine
from mlplatform.lakehouse.expectations import ExpectationFailed
from mlplatform.lakehouse.update.runner import TableRunner
from mlplatform.settings import get_settings
from tests.unit.test_expectations import ROWS
from tests.unit.test_incremental_tables import raw, rows, write_file

pytestmark = pytest.mark.integration
KEYS = [
    "bronze/raw_customer_events",
    "bronze/raw_customer_labels",
    "silver/cleaned_customer_events",
    "silver/cleaned_customer_events_quarantine",
    "gold/customer_ml_features",
]
VOLATILE = ("_ingested_at", "_quarantined_at")


def run_all(home, monkeypatch, engine):
    monkeypatch.setenv("MLPLATFORM_HOME", str(home))
    results = {}
    for table in TABLES:
        results[table.key] = TableRunner(table, get_settings(), engine).run()
    return results


def test_same_landing_files_give_identical_tables_on_both_engines(tmp_path, monkeypatch, spark):
    shared = tmp_path / "shared"
    generate(
        shared,
        customers=200,
        events=4000,
        files=3,
        seed=3,
        shares=BadShares(malformed=0.01, unknown_field=0.01, blank_lines=0.01),
    )
    homes = {}
    for name in ("polars", "spark"):
        homes[name] = tmp_path / name
        homes[name].mkdir()
        os.symlink(shared / "landing", homes[name] / "landing")  # same _source_file paths
    on_polars = run_all(homes["polars"], monkeypatch, get_engine("polars"))
    on_spark = run_all(homes["spark"], monkeypatch, get_engine("spark", spark))
    for key in KEYS:
        a = pl.read_delta(str(homes["polars"] / "lakehouse" / key)).drop(VOLATILE, strict=False)
        b = pl.read_delta(str(homes["spark"] / "lakehouse" / key)).drop(VOLATILE, strict=False)
        assert a.schema == b.schema, key
        assert len(a) > 0, key
        assert_frame_equal(a.sort(a.columns), b.sort(a.columns))
    for key in ("silver/cleaned_customer_events", "gold/customer_ml_features"):
        pol = {
            r.expectation.name: (r.passed_records, r.failed_records)
            for r in on_polars[key].evaluation.results
        }
        spk = {
            r.expectation.name: (r.passed_records, r.failed_records)
            for r in on_spark[key].evaluation.results
        }
        assert pol == spk
    bronze = on_polars["bronze/raw_customer_events"].counts
    assert {k: on_spark["bronze/raw_customer_events"].counts[k] for k in bronze} == bronze


def test_spark_reads_the_recorded_bytes_of_appended_files_and_odd_names(home, spark):
    folder = home / "landing" / "events"
    write_file(home, "a.json", rows(2))
    odd = os.path.join(os.fsencode(folder), b"caf\xe9.json")
    with open(odd, "wb") as handle:
        handle.write(b'{"customer_id": "10"}\n')
    runner = TableRunner(raw, get_settings(), get_engine("spark", spark))
    assert runner.run().written_rows == 3
    with open(folder / "a.json", "a") as handle:
        handle.write('{"customer_id": "2"}\n{"customer_id": "3", "am')
    with open(odd, "ab") as handle:
        handle.write(b'{"customer_id": "11"}\n')
    second = runner.run()
    assert second.written_rows == 2 and second.counts["partial_lines_pending"] == 1
    with open(folder / "a.json", "a") as handle:
        handle.write('ount": 1}\n')
    assert runner.run().written_rows == 1
    table = pl.read_delta(str(home / "lakehouse" / "bronze" / "raw"))
    assert sorted(table["customer_id"].to_list(), key=int) == ["0", "1", "2", "3", "10", "11"]
    assert table["_rescued_data"].is_null().all()
    assert table.filter(pl.col("customer_id") == "11")["_source_file"][0].endswith("/caf%E9.json")


@pytest.mark.parametrize(
    "case", ["warn", "drop", "fail", "quarantine", "all", "all_drop", "all_fail"]
)
def test_expectation_actions_match_polars(case, spark):
    from tests.unit import test_expectations as t

    decorators = {
        "warn": t.expect("valid_amount", t.POSITIVE),
        "drop": t.expect_or_drop("valid_amount", t.POSITIVE),
        "fail": t.expect_or_fail("valid_amount", t.POSITIVE),
        "quarantine": t.expect_or_quarantine("valid_amount", t.POSITIVE),
        "all": t.expect_all({"valid_amount": t.POSITIVE, "present": t.PRESENT}),
        "all_drop": t.expect_all_or_drop({"valid_amount": t.POSITIVE, "present": t.PRESENT}),
        "all_fail": t.expect_all_or_fail({"valid_amount": t.POSITIVE, "present": t.PRESENT}),
    }
    defn = t._wrap(decorators[case](lambda x: x))
    outcomes = []
    for engine, frame in (("polars", ROWS), ("spark", spark.createDataFrame(ROWS.to_pandas()))):
        eng = get_engine(engine, spark)
        try:
            ev = eng.evaluate(frame, defn, None)
        except ExpectationFailed as err:
            outcomes.append(("failed", str(err).split("first failing row")[0]))
            continue
        kept = ev.kept if engine == "polars" else pl.from_arrow(ev.kept.toArrow())
        quarantined = (
            ev.quarantined if engine == "polars" else pl.from_arrow(ev.quarantined.toArrow())
        )
        outcomes.append(
            (
                sorted(kept["customer_id"].to_list(), key=str),
                sorted(quarantined["customer_id"].to_list(), key=str),
                [(r.expectation.name, r.passed_records, r.failed_records) for r in ev.results],
                (ev.kept_rows, ev.quarantined_rows, ev.dropped_records),
            )
        )
    assert outcomes[0] == outcomes[1]


def test_killed_between_parquet_files_and_commit_leaves_nothing_visible(home, spark):
    write_file(home, "a.json", rows(5))
    code = (
        "from tests.unit.test_incremental_tables import raw\n"
        "from mlplatform.lakehouse.update.runner import TableRunner\n"
        "from mlplatform.lakehouse.engines import get_engine\n"
        "from mlplatform.settings import get_settings\n"
        "TableRunner(raw, get_settings(), get_engine('spark')).run()\n"
    )
    env = dict(
        os.environ,
        MLPLATFORM_HOME=str(home),
        MLPLATFORM_FAILPOINT="between_files_and_commit:bronze/raw",
    )
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    proc = subprocess.run([sys.executable, "-c", code], env=env, cwd=root, capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    table_dir = home / "lakehouse" / "bronze" / "raw"
    assert list(table_dir.glob("spark-b1-*/*.parquet"))  # files were written ...
    assert not (table_dir / "_delta_log").exists()  # ... but never committed
    redo = TableRunner(raw, get_settings(), get_engine("spark", spark)).run()
    assert redo.redo and redo.written_rows == 5
    assert TableRunner(raw, get_settings(), get_engine("spark", spark)).run().nothing_new
    assert sorted(pl.read_delta(str(table_dir))["customer_id"]) == ["0", "1", "2", "3", "4"]


def test_materialize_on_the_spark_engine_through_dagster_pyspark(home, monkeypatch, spark):
    from dagster_pyspark import PySparkResource

    from mlplatform.lakehouse.assets import build_table_asset
    from mlplatform.lakehouse.engines.spark_session import spark_config
    from mlplatform.lakehouse.resource import LakehouseResource

    monkeypatch.setenv("MLPLATFORM_ENGINE", "spark")
    write_file(home, "a.json", rows(3) + [{"customer_id": None, "amount": 1}])
    asset = build_table_asset(raw, "spark")
    assert asset.specs_by_key[dg.AssetKey(["bronze", "raw"])].kinds == {"deltalake", "pyspark"}
    result = dg.materialize(
        [asset],
        resources={
            "lakehouse": LakehouseResource(),
            "pyspark": PySparkResource(spark_config=spark_config()),
        },
    )
    assert result.success
    meta = result.asset_materializations_for_node("bronze__raw")[0].metadata
    assert meta["written_rows"].value == 4 and meta["files"].value == 1
