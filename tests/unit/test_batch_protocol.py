"""The one batch protocol (`lakehouse/update/batch.py`) on real Delta tables and ledgers: redo a
dead run's batch with its recorded input, wait for or refuse a live run's, never loop, never
commit a batch twice; and its users that redo a dead run's batch (monitoring, feature history, a
change target fed by a view)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import polars as pl
import pytest
from customer_churn.feature_assets import history_store, silver_store
from customer_churn.history import series_spec

from mlplatform.feature_store.timeseries import refresh_series
from mlplatform.lakehouse import TableBusyError
from mlplatform.lakehouse.delta import DeltaStore
from mlplatform.lakehouse.ledger import Ledger
from mlplatform.lakehouse.update.batch import Batches, Plan
from mlplatform.lakehouse.update.changes import ChangeRunner
from mlplatform.monitoring import profile, windows
from mlplatform.monitoring.config import parse_granularities
from mlplatform.monitoring.tables import profile_store
from mlplatform.settings import get_settings
from tests.feature_store_data import append_silver, events
from tests.unit.test_dlt_cdc import spec, target
from tests.unit.test_monitoring_windows import append_inference, hour, inference_rows

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HOURLY = parse_granularities(["1 hour"])


def protocol(home, timeout_s: float = 0.0) -> Batches:
    target = DeltaStore(home / "lakehouse" / "t" / "t", "t/t")
    return Batches("t/t", Ledger(home / "ledgers" / "t", "t/t"), [target], timeout_s)


def planned(end: int):
    return lambda log, last: Plan([{"source": "s/s", "end_version": end}])


def test_a_dead_runs_batch_is_redone_with_its_recorded_input(home):
    batches = protocol(home)
    first = batches.claim(planned(3))
    assert (first.batch_id, first.redo, first.end_versions()) == (1, False, {"s/s": 3})
    # nothing committed: the next claim (an earlier run of this process failed) redoes batch 1
    again = batches.claim(planned(7))
    assert (again.batch_id, again.redo, again.end_versions()) == (1, True, {"s/s": 3})
    with batches.committing(again.batch_id):
        batches.final.write(pl.DataFrame({"x": [1]}), again.batch_id)
    assert batches.claim(lambda log, last: None).nothing_new
    assert batches.claim(planned(7)).batch_id == 2


def test_a_live_runs_batch_makes_the_table_busy_until_it_dies(home):
    code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from mlplatform.lakehouse.ledger import Ledger\n"
        "Ledger(Path(sys.argv[1]), 't/t').record([{'source': 's/s', 'end_version': 5}], 1)\n"
        "print('recorded', flush=True)\n"
        "time.sleep(120)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code, str(home / "ledgers" / "t")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "recorded"
        with pytest.raises(
            TableBusyError, match=r"t/t is being updated by another run \(batch 1\)"
        ):
            protocol(home, timeout_s=0.5).claim(planned(9))
    finally:
        child.kill()
        child.wait()
    redo = protocol(home).claim(planned(9))
    assert (redo.batch_id, redo.redo, redo.end_versions()) == (1, True, {"s/s": 5})


def test_planning_a_batch_already_taken_again_stops_instead_of_looping(home):
    batches = protocol(home)
    claim = batches.claim(planned(1))
    batches.final.write(pl.DataFrame({"x": [1]}), claim.batch_id)
    stale = lambda log, last: Plan([{"source": "s/s", "end_version": 1}], batch_id=1)  # noqa: E731
    with pytest.raises(TableBusyError, match=r"\(batch 1\)"):
        batches.claim(stale)


def test_a_batch_committed_by_another_run_is_refused_as_busy(home):
    batches = protocol(home)
    claim = batches.claim(planned(1))
    batches.final.write(pl.DataFrame({"x": [1]}), claim.batch_id)
    with pytest.raises(TableBusyError, match="batch 1 was already committed by another run"):
        with batches.committing(claim.batch_id):
            batches.final.write(pl.DataFrame({"x": [2]}), claim.batch_id)
    assert batches.final.read()["x"].to_list() == [1]


def test_a_monitoring_batch_claimed_by_a_run_that_died_is_redone(home):
    settings = get_settings()
    append_inference(inference_rows(50, hour(0)))
    store = profile_store(settings)
    claimed = windows.claim(settings, store, HOURLY, False)  # recorded, never committed
    assert claimed.batch_id == 1 and store.committed_batch() == 0
    append_inference(inference_rows(30, hour(1), seed=1))  # inference moves on meanwhile
    redo = profile.update(settings, HOURLY)
    assert redo["batch_id"] == 1 and redo["inference_versions"] == {
        "start_exclusive": None,
        "end": 0,
    }
    table = store.read().filter(
        (pl.col("column_name") == ":table") & (pl.col("model_version") == ":all")
    )
    assert table["count"].sum() == 50
    after = profile.update(settings, HOURLY)
    assert after["batch_id"] == 2 and after["inference_versions"]["end"] == 1


def test_a_feature_history_refresh_killed_after_its_claim_is_redone(home):
    settings = get_settings()
    append_silver(settings, events(("a", "purchase", 10.0, "2026-10-01T10:00:00")))
    code = (
        "from mlplatform.feature_store.timeseries import refresh_series\n"
        "from customer_churn.feature_assets import history_store, silver_store\n"
        "from customer_churn.history import series_spec\n"
        "from mlplatform.settings import get_settings\n"
        "s = get_settings()\n"
        "refresh_series(history_store(s), silver_store(s), series_spec('1 day'),"
        " checkpoints=s.checkpoints)\n"
    )
    env = dict(
        os.environ,
        MLPLATFORM_FAILPOINT="after_ledger_record:gold/customer_ml_features_history",
    )
    killed = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=False)
    assert killed.returncode == -9
    append_silver(settings, events(("b", "login", 1.0, "2026-10-02T10:00:00")))
    stores = history_store(settings), silver_store(settings)
    run = refresh_series(*stores, series_spec("1 day"), checkpoints=settings.checkpoints)
    assert (run.mode, run.batch_id, run.reasons) == ("full", 1, ["redo of a run that died"])
    assert run.source_end == 0 and run.rows == 1
    nxt = refresh_series(*stores, series_spec("1 day"), checkpoints=settings.checkpoints)
    assert (nxt.mode, nxt.batch_id, nxt.rows) == ("incremental", 2, 2)


def test_a_view_fed_change_target_killed_between_its_commits_is_completed_then_fed(home):
    rows = [(1, "a", "INSERT", 1), (2, "b", "INSERT", 1), (1, "a2", "UPDATE", 3)]
    code = (
        "import polars as pl\n"
        "from mlplatform.lakehouse.update.changes import ChangeRunner\n"
        "from mlplatform.settings import get_settings\n"
        "from tests.unit.test_batch_protocol import view_feed\n"
        "from tests.unit.test_dlt_cdc import spec\n"
        f"ChangeRunner(spec(1), 'cdc', get_settings()).run_frame(view_feed({rows!r}))\n"
    )
    env = dict(os.environ, MLPLATFORM_FAILPOINT="before_commit:cdc/customers")
    killed = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=False)
    assert killed.returncode == -9
    runner = ChangeRunner(spec(1), "cdc", get_settings())
    assert (runner.storage.committed_batch(), runner.target.committed_batch()) == (1, 0)
    out = runner.run_frame(view_feed([*rows, (3, "c", "INSERT", 4)]))
    assert (out["batch_id"], out["changes"], out["rows"]) == (2, 4, 3)  # batch 1 completed
    assert target(home) == [(1, "a2", 3), (2, "b", 1), (3, "c", 4)]
    assert runner.run_frame(view_feed(rows))["batch_id"] == 3
    assert target(home) == [(1, "a2", 3), (2, "b", 1), (3, "c", 4)]  # nothing twice


def view_feed(rows) -> pl.DataFrame:
    schema = {"id": pl.Int64, "name": pl.String, "op": pl.String, "ts": pl.Int64}
    return pl.DataFrame(rows, schema=schema, orient="row")


def test_a_view_fed_change_target_is_busy_while_another_run_holds_its_batch(home, tmp_path):
    rows = [(1, "a", "INSERT", 1), (2, "b", "INSERT", 1)]
    code = (
        "from mlplatform.lakehouse.update.changes import ChangeRunner\n"
        "from mlplatform.settings import get_settings\n"
        "from tests.unit.test_batch_protocol import view_feed\n"
        "from tests.unit.test_dlt_cdc import spec\n"
        f"print(ChangeRunner(spec(1), 'cdc', get_settings()).run_frame(view_feed({rows!r})))\n"
    )
    env = dict(
        os.environ,
        MLPLATFORM_FAILPOINT="after_ledger_record:cdc/customers",
        MLPLATFORM_FAILPOINT_ACTION="pause",
        MLPLATFORM_FAILPOINT_DIR=str(tmp_path),
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        paused = tmp_path / "after_ledger_record.paused"
        deadline = time.monotonic() + 60
        while not paused.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert paused.exists()
        runner = ChangeRunner(spec(1), "cdc", get_settings())
        with pytest.raises(TableBusyError, match=r"cdc/customers is being updated .* \(batch 1\)"):
            runner.run_frame(view_feed(rows))
        (tmp_path / "after_ledger_record.release").touch()
        out, _ = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0 and "'batch_id': 1" in out
    assert runner.run_frame(view_feed(rows))["batch_id"] == 2
    assert target(home) == [(1, "a", 1), (2, "b", 1)]
