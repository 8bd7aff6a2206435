"""Two runs writing the same table at once, in real processes: exactly one commits each batch.

Deterministic interleavings pause run A at a failpoint (MLPLATFORM_FAILPOINT_ACTION=pause), run
B to its end, then let A go on. The random interleaving starts two `dagster asset materialize`
processes at the same moment, on two Dagster instances over one lakehouse (no pool helps there),
for several rounds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from mlplatform.lakehouse import TableBusyError
from mlplatform.lakehouse.delta import BatchCommittedError, DeltaStore
from mlplatform.lakehouse.update.runner import TableRunner
from mlplatform.settings import get_settings
from tests.integration._cli import ROOT, env_for, materialize_args
from tests.integration.test_pipeline_cli import oracle
from tests.unit.test_incremental_tables import _clean, raw, read, rows, write_file

pytestmark = pytest.mark.integration

_CHILD = """
import json, sys
from mlplatform.lakehouse.update.runner import RunOptions, TableRunner
from mlplatform.settings import get_settings
from tests.unit.test_incremental_tables import raw, _clean
from tests.integration.test_concurrent_runs import spend
table = {"raw": raw, "clean": _clean("amount > 0"), "spend": spend}[sys.argv[1]]
run = TableRunner(table, get_settings()).run(RunOptions(busy_timeout_s=float(sys.argv[2])))
print(json.dumps({"batch": run.batch_id, "nothing_new": run.nothing_new,
                  "written": run.written_rows, "micro_batches": run.micro_batches}))
"""


def _spend():
    from mlplatform.lakehouse.engines.base import sql
    from mlplatform.lakehouse.table import read as read_table
    from mlplatform.lakehouse.table import table

    @table(layer="gold", name="spend", inputs=[read_table("silver/clean")])
    def spend(clean):
        return sql(
            "SELECT customer_id, COUNT(*) AS n, SUM(amount) AS total FROM clean "
            "GROUP BY customer_id"
        )

    return spend


spend = _spend()


class Paused:
    """A child process running one table update, paused at a failpoint until released."""

    def __init__(self, home: Path, table: str, point: str, busy_timeout: float = 0, **extra: str):
        self.dir = home / "failpoints"
        self.dir.mkdir(exist_ok=True)
        self.name = point.split(":")[0]
        env = dict(
            os.environ,
            MLPLATFORM_HOME=str(home),
            MLPLATFORM_FAILPOINT=point,
            MLPLATFORM_FAILPOINT_ACTION="pause",
            MLPLATFORM_FAILPOINT_DIR=str(self.dir),
            **extra,
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _CHILD, table, str(busy_timeout)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 300
        while not (self.dir / f"{self.name}.paused").exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"child never paused: {self.proc.communicate()}")
            time.sleep(0.05)

    def release(self) -> dict:
        (self.dir / f"{self.name}.release").touch()
        out, err = self.proc.communicate(timeout=120)
        assert self.proc.returncode == 0, err[-3000:]
        return json.loads(out.strip().splitlines()[-1])


def child(home: Path, table: str, busy_timeout: float = 0, **env) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", _CHILD, table, str(busy_timeout)],
        env=dict(os.environ, MLPLATFORM_HOME=str(home), **env),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_bronze_a_second_run_finds_the_batch_busy_and_writes_nothing(home):
    write_file(home, "a.json", rows(3))
    write_file(home, "b.json", rows(4, start=10))
    a = Paused(home, "raw", "after_ledger_record:bronze/raw")
    runner = TableRunner(raw, get_settings())
    with pytest.raises(TableBusyError) as err:
        runner.run()
    assert str(err.value).startswith(
        "bronze/raw is being updated by another run (batch 1); nothing was written"
    )
    assert not runner.main.exists()
    assert runner.ledger.read().filter(pl.col("source").is_not_null()).height == 2
    assert a.release() == {"batch": 1, "nothing_new": False, "written": 7, "micro_batches": 1}
    again = runner.run()
    assert again.nothing_new and len(read(home, "bronze/raw")) == 7


def test_bronze_a_waiting_run_finds_nothing_new_after_the_other_commits(home):
    write_file(home, "a.json", rows(3))
    a = Paused(home, "raw", "between_files_and_commit:bronze/raw")
    b = child(home, "raw", busy_timeout=120)
    time.sleep(2)  # B is waiting for A's batch
    assert b.poll() is None
    assert a.release()["written"] == 3
    out, err = b.communicate(timeout=120)
    assert b.returncode == 0, err
    assert json.loads(out.strip().splitlines()[-1])["nothing_new"] is True
    assert len(read(home, "bronze/raw")) == 3


def test_two_runs_recording_the_same_batch_only_one_records_it(home):
    write_file(home, "a.json", rows(5))
    # A planned batch 1 and stops just before its ledger commit; B records and commits batch 1
    a = Paused(home, "raw", "before_commit:bronze/raw#ledger")
    b = TableRunner(raw, get_settings()).run()
    assert (b.batch_id, b.written_rows) == (1, 5)
    # A's ledger commit now conflicts: it finds batch 1 done and nothing new
    assert a.release() == {"batch": 1, "nothing_new": True, "written": 0, "micro_batches": 0}
    log = TableRunner(raw, get_settings()).ledger.read()
    assert log.filter(pl.col("source").is_not_null()).height == 1
    assert len(read(home, "bronze/raw")) == 5


def test_silver_and_quarantine_busy_between_their_commits(home):
    write_file(home, "a.json", rows(3) + [{"customer_id": "q", "amount": -1}])
    TableRunner(raw, get_settings()).run()
    a = Paused(home, "clean", "between_commits:silver/clean")
    clean = TableRunner(_clean("amount > 0"), get_settings())
    with pytest.raises(TableBusyError, match=r"silver/clean .* another run \(batch 1\)"):
        clean.run()
    assert clean.quarantine.committed_batch() == 1 and not clean.main.exists()
    assert a.release()["written"] == 3
    assert clean.run().nothing_new
    assert (len(read(home, "silver/clean")), len(read(home, "silver/clean_quarantine"))) == (3, 1)


def test_live_aggregate_table_busy_while_another_run_holds_its_batch(home):
    write_file(home, "a.json", rows(3) + rows(2))
    settings = get_settings()
    TableRunner(raw, settings).run()
    TableRunner(_clean("amount > 0"), settings).run()
    a = Paused(home, "spend", "between_commits:gold/spend")  # state committed, table not
    gold = TableRunner(spend, settings)
    with pytest.raises(TableBusyError, match=r"gold/spend .* \(batch 1\)"):
        gold.run()
    assert a.release()["batch"] == 1
    assert gold.run().nothing_new
    got = read(home, "gold/spend").sort("customer_id")
    assert got["n"].to_list() == [2, 2, 1] and got["total"].to_list() == [10.0, 10.0, 5.0]
    assert gold.aggregate_state.committed_batch() == gold.main.committed_batch() == 1


def test_a_crashed_runs_batch_is_redone_by_the_next_run(home):
    write_file(home, "a.json", rows(3))
    proc = child(home, "raw", MLPLATFORM_FAILPOINT="after_ledger_record:bronze/raw")
    proc.communicate(timeout=120)
    assert proc.returncode == -9
    redo = TableRunner(raw, get_settings()).run()
    assert redo.redo and redo.written_rows == 3


def test_a_stale_commit_of_a_committed_batch_is_refused_by_delta(home):
    """The storage guard alone (no ledger): A checked its snapshot, B committed the batch, A's
    commit fails Delta's conflict check and is refused, as on shared object storage."""
    store = DeltaStore(home / "t", "x/t")
    store.write(pl.DataFrame({"a": [0]}), 1)
    code = (
        "import polars as pl, sys\n"
        "from pathlib import Path\n"
        "from mlplatform.lakehouse.delta import DeltaStore, BatchCommittedError\n"
        "s = DeltaStore(Path(sys.argv[1]), 'x/t')\n"
        "try:\n"
        "    s.write(pl.DataFrame({'a': [2, 2]}), 2)\n"
        "    print('committed')\n"
        "except BatchCommittedError as e:\n"
        "    print('refused', e)\n"
    )
    folder = home / "fp"
    folder.mkdir()
    env = dict(
        os.environ,
        MLPLATFORM_FAILPOINT="before_commit:x/t",
        MLPLATFORM_FAILPOINT_ACTION="pause",
        MLPLATFORM_FAILPOINT_DIR=str(folder),
    )
    a = subprocess.Popen(
        [sys.executable, "-c", code, str(home / "t")],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    while not (folder / "before_commit.paused").exists():
        assert a.poll() is None
        time.sleep(0.05)
    store.write(pl.DataFrame({"a": [1]}), 2)
    with pytest.raises(BatchCommittedError, match="batch 2 was already committed"):
        store.write(pl.DataFrame({"a": [1]}), 2)
    (folder / "before_commit.release").touch()
    out, _ = a.communicate(timeout=60)
    assert out.startswith("refused x/t: batch 2 was already committed by another run")
    assert sorted(pl.read_delta(str(home / "t"))["a"].to_list()) == [0, 1]


def _landing_file(folder: Path, name: str, n: int, seed: int) -> None:
    lines = []
    for i in range(n):
        amount = -1 if (i + seed) % 17 == 0 else round(((i * 7 + seed) % 500) / 10 + 0.5, 2)
        cid = None if (i + seed) % 23 == 0 else f"c{(i * 13 + seed) % 400}"
        lines.append(
            json.dumps(
                {
                    "customer_id": cid,
                    "event_type": "purchase",
                    "amount": amount,
                    "event_timestamp": f"2026-01-{1 + i % 28:02d}T10:00:00",
                }
            )
        )
    (folder / name).write_text("\n".join(lines) + "\n")


def test_two_dagster_runs_at_once_for_several_rounds_duplicate_nothing(tmp_path):
    home = tmp_path / "home"
    folder = home / "landing" / "customer_events"
    folder.mkdir(parents=True)
    select = (
        "bronze/raw_customer_events,silver/cleaned_customer_events,"
        "silver/cleaned_customer_events_quarantine"
    )
    config = json.dumps(
        {"ops": {"bronze__raw_customer_events": {"config": {"max_files_per_trigger": 2}}}}
    )
    outcomes = []
    for rnd in range(3):
        for i in range(3):
            _landing_file(folder, f"r{rnd}_{i}.json", 3000, seed=rnd * 10 + i)
        procs = []
        for instance in ("one", "two"):
            env = env_for(home)
            env["DAGSTER_HOME"] = str(tmp_path / instance)
            Path(env["DAGSTER_HOME"]).mkdir(exist_ok=True)
            (Path(env["DAGSTER_HOME"]) / "dagster.yaml").write_text(
                (ROOT / "dagster.yaml").read_text()
            )
            args = materialize_args(select) + ["--config-json", config]
            procs.append(
                subprocess.Popen(
                    args,
                    env=env,
                    cwd=ROOT,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
            )
        for proc in procs:
            out, _ = proc.communicate(timeout=300)
            outcomes.append((proc.returncode, "TableBusyError" in out))
            assert proc.returncode == 0 or "TableBusyError" in out, out[-4000:]
    final = subprocess.run(
        materialize_args(select), env=env, cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert final.returncode == 0, final.stdout[-3000:] + final.stderr[-3000:]
    files = sorted(folder.glob("*.json"))
    expect = oracle(files)
    bronze = pl.read_delta(str(home / "lakehouse" / "bronze" / "raw_customer_events"))
    per_file = dict(bronze.group_by("_source_file").len().iter_rows())
    assert per_file == {str(f.resolve()): 3000 for f in files}
    silver = pl.read_delta(str(home / "lakehouse" / "silver" / "cleaned_customer_events"))
    quarantine = pl.read_delta(
        str(home / "lakehouse" / "silver" / "cleaned_customer_events_quarantine")
    )
    assert len(silver) == expect["silver"]
    assert len(quarantine) == expect["bronze"] - expect["silver"]
    assert any(code == 0 for code, _ in outcomes)


def _paused_code(home: Path, code: str, point: str) -> tuple[subprocess.Popen, Path]:
    folder = home / f"fp-{point.split(':')[0]}"
    folder.mkdir(exist_ok=True)
    env = dict(
        os.environ,
        MLPLATFORM_HOME=str(home),
        MLPLATFORM_FAILPOINT=point,
        MLPLATFORM_FAILPOINT_ACTION="pause",
        MLPLATFORM_FAILPOINT_DIR=str(folder),
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    marker = folder / f"{point.split(':')[0]}.paused"
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    return proc, folder / f"{point.split(':')[0]}.release"


def test_inference_table_a_stale_run_cannot_commit_the_batch_again(home):
    from mlplatform.serving.inference import InferenceTable
    from tests.serving_models import served_model
    from tests.unit.test_serving_inference import FEATURES, inference, log_requests, request_row

    body = {"dataframe_records": [{"customer_id": "c1", **FEATURES}] * 3}
    log_requests([request_row(str(i), body, [0.1, 0.2, 0.3]) for i in range(4)])
    code = (
        "from mlplatform.serving.inference import InferenceTable\n"
        "from mlplatform.settings import get_settings\n"
        'import sys; sys.path.insert(0, "examples/customer_churn")\n'
        "from tests.serving_models import served_model\n"
        "InferenceTable(get_settings(), served_model()).run()\n"
    )
    a, release = _paused_code(home, code, "before_commit:serving/churn_predictor_inference")
    b = InferenceTable(get_settings(), served_model()).run()
    assert b.rows_appended == 12
    release.touch()
    _, err = a.communicate(timeout=120)
    assert a.returncode != 0
    assert "serving/churn_predictor_inference: batch 2 was already committed by another run" in err
    assert inference().height == 12
    assert InferenceTable(get_settings(), served_model()).run().nothing_new


def test_monitoring_table_busy_while_another_run_commits_its_batch(home):
    from mlplatform.monitoring import profile
    from mlplatform.monitoring.config import parse_granularities
    from tests.unit.test_monitoring_windows import append_inference, hour, inference_rows

    append_inference(inference_rows(200, hour(0), span_s=7200))
    code = (
        "from mlplatform.monitoring import profile\n"
        "from mlplatform.monitoring.config import parse_granularities\n"
        "from mlplatform.settings import get_settings\n"
        "print(profile.update(get_settings(), parse_granularities(['1 hour'])))\n"
    )
    a, release = _paused_code(
        home, code, "before_commit:monitoring/churn_predictor_inference_profile_metrics"
    )
    with pytest.raises(TableBusyError, match=r"profile_metrics is being updated by another run"):
        profile.update(get_settings(), parse_granularities(["1 hour"]))
    release.touch()
    out, err = a.communicate(timeout=120)
    assert a.returncode == 0, err
    store = profile.profile_store(get_settings())
    assert store.committed_batch() == 1  # inference version 0 reflected
    table = pl.read_delta(str(store.path))
    whole = table.filter((pl.col("column_name") == ":table") & (pl.col("model_version") == ":all"))
    assert whole["count"].sum() == 200
    assert profile.update(get_settings(), parse_granularities(["1 hour"]))["nothing_new"]


def test_apply_changes_busy_while_another_run_applies_the_batch(home):
    from mlplatform.lakehouse.update.changes import ChangeRunner
    from tests.unit.test_dlt_cdc import BATCH_1, feed, spec, target

    feed(home, 1, BATCH_1)
    code = (
        "from mlplatform.lakehouse.update.changes import ChangeRunner\n"
        "from mlplatform.settings import get_settings\n"
        "from tests.unit.test_dlt_cdc import spec\n"
        "print(ChangeRunner(spec(1), 'cdc', get_settings()).run())\n"
    )
    a, release = _paused_code(home, code, "after_ledger_record:cdc/customers")
    runner = ChangeRunner(spec(1), "cdc", get_settings())
    with pytest.raises(TableBusyError, match=r"cdc/customers is being updated .* \(batch 1\)"):
        runner.run()
    release.touch()
    _, err = a.communicate(timeout=120)
    assert a.returncode == 0, err
    assert target(home) == [(1, "a2", 3), (2, "b", 1), (3, "c", 2)]
    assert runner.run()["changes"] == 0


def test_spark_engine_run_holds_its_batch_against_a_polars_run(home):
    """The Spark engine's executors wrote the batch's files; until the driver commits them, no
    other run (here a polars one) records or commits that batch."""
    write_file(home, "a.json", rows(6))
    a = Paused(
        home,
        "raw",
        "between_files_and_commit:bronze/raw",
        MLPLATFORM_ENGINE="spark",
        SPARK_LOCAL_IP="127.0.0.1",
    )
    runner = TableRunner(raw, get_settings())
    with pytest.raises(TableBusyError, match=r"bronze/raw .* \(batch 1\)"):
        runner.run()
    assert a.release()["written"] == 6
    assert runner.run().nothing_new and len(read(home, "bronze/raw")) == 6


def test_two_first_runs_on_a_fresh_instance_leave_it_working(tmp_path):
    """mlplatform's set-up creates the instance's storage once, under a lock: two first runs at
    once no longer leave the sqlite instance broken ("more than one head present")."""
    home = tmp_path / "home"
    folder = home / "landing" / "customer_events"
    folder.mkdir(parents=True)
    _landing_file(folder, "a.json", 500, seed=1)
    env = dict(os.environ, MLPLATFORM_HOME=str(home), DAGSTER_HOME=str(home / "dagster"))
    env.pop("MLPLATFORM_FAILPOINT", None)
    init = (
        "from mlplatform.instance import ensure_dagster_home\n"
        "from mlplatform.settings import get_settings\n"
        "ensure_dagster_home(get_settings())\n"
    )
    setups = [subprocess.Popen([sys.executable, "-c", init], env=env, cwd=ROOT) for _ in range(2)]
    assert [p.wait(timeout=120) for p in setups] == [0, 0]
    select = "bronze/raw_customer_events"
    runs = [
        subprocess.Popen(
            materialize_args(select),
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    for proc in runs:
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0 or "TableBusyError" in out, out[-3000:]
    third = subprocess.run(
        materialize_args(select), env=env, cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert third.returncode == 0, third.stdout[-3000:] + third.stderr[-3000:]
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        assert instance.get_runs_count() == 3
    bronze = pl.read_delta(str(home / "lakehouse" / "bronze" / "raw_customer_events"))
    assert len(bronze) == 500
