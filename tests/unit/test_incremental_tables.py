"""The file ledger and streaming reads: exactly-once batches, changed files, replay, refresh."""

import json
import os
import signal
import subprocess
import sys

import polars as pl
import pytest

from mlplatform.lakehouse.expectations import ExpectationFailed
from mlplatform.lakehouse.table import (
    expect_or_fail,
    expect_or_quarantine,
    files,
    read_stream,
    table,
)
from mlplatform.lakehouse.table import read as read_table
from mlplatform.lakehouse.update.runner import RunOptions, TableRunner
from mlplatform.settings import get_settings

FIELDS = ["customer_id", "amount"]


@table(layer="bronze", name="raw", inputs=[files("events", FIELDS)])
def raw(landing):
    return landing


def _clean(rule: str):
    @table(
        layer="silver",
        name="clean",
        inputs=[read_stream("bronze/raw")],
        columns=["customer_id", "amount"],
    )
    @expect_or_quarantine("valid_amount", rule)
    def clean(raw):
        return raw.with_columns(pl.col("amount").cast(pl.Float64, strict=False))

    return clean


def write_file(home, name, records, blank=0):
    folder = home / "landing" / "events"
    folder.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(r) for r in records] + [""] * blank
    (folder / name).write_text("\n".join(lines) + "\n")
    return folder / name


def rows(n, start=0, amount=5.0):
    return [{"customer_id": str(start + i), "amount": amount} for i in range(n)]


def read(home, key):
    return pl.read_delta(str(home / "lakehouse" / key))


def test_rerun_ingests_nothing_new_and_new_file_adds_exactly_its_rows(home):
    write_file(home, "a.json", rows(3), blank=2)
    runner = TableRunner(raw, get_settings())
    first = runner.run()
    assert (first.batch_id, first.written_rows, first.counts["blank_lines_skipped"]) == (1, 3, 2)
    again = runner.run()
    assert again.nothing_new and again.written_rows == 0
    assert len(read(home, "bronze/raw")) == 3
    write_file(home, "b.json", rows(4, start=10))
    third = runner.run()
    assert (third.batch_id, third.written_rows, third.counts["files"]) == (2, 4, 1)
    table_rows = read(home, "bronze/raw").sort("customer_id")
    assert table_rows.get_column("customer_id").to_list() == ["0", "1", "10", "11", "12", "13", "2"]


def test_file_changed_in_place_is_skipped_with_a_warning_unless_allowed(home):
    path = write_file(home, "a.json", rows(2))
    runner = TableRunner(raw, get_settings())
    runner.run()
    write_file(home, "a.json", rows(5, start=100))
    os.utime(path, ns=(1, 1))
    skipped = runner.run()
    assert skipped.nothing_new
    assert skipped.counts["changed_files_skipped"] == 1
    assert "a.json changed after it was ingested" in skipped.warnings[0]
    assert len(read(home, "bronze/raw")) == 2
    again = runner.run(RunOptions(allow_overwrites=True))
    assert again.written_rows == 5
    assert len(read(home, "bronze/raw")) == 7


def test_max_files_per_trigger_bounds_each_micro_batch(home):
    for i in range(5):
        write_file(home, f"f{i}.json", rows(1, start=i))
    runner = TableRunner(raw, get_settings())
    first = runner.run(RunOptions(max_files_per_trigger=2))
    # one run drains the backlog (availableNow), each micro-batch at most two files
    assert (first.counts["files"], first.micro_batches) == (5, 3)
    assert first.counts["files_deferred"] == 0
    log = runner.ledger.read().filter(pl.col("source").is_not_null())
    assert log.group_by("batch_id").len().sort("batch_id")["len"].to_list() == [2, 2, 1]
    assert runner.main.committed_batch() == 3
    second = runner.run(RunOptions(max_files_per_trigger=2))
    assert (second.counts.get("files", 0), second.micro_batches) == (0, 0)
    assert len(read(home, "bronze/raw")) == 5


def test_streaming_table_reads_only_new_upstream_rows_and_quarantines(home):
    write_file(home, "a.json", rows(3) + [{"customer_id": "q", "amount": -1}])
    settings = get_settings()
    TableRunner(raw, settings).run()
    clean = TableRunner(_clean("amount > 0"), settings)
    run = clean.run()
    assert (run.written_rows, run.quarantined_rows) == (3, 1)
    q = read(home, "silver/clean_quarantine")
    assert q.get_column("amount").to_list() == ["-1"]  # the pre-cast source value
    assert q.get_column("_failed_expectations").to_list() == [["valid_amount"]]
    assert {"_source_file", "_ingested_at", "_quarantined_at"} <= set(q.columns)
    assert clean.run().nothing_new
    write_file(home, "b.json", rows(2, start=50))
    TableRunner(raw, settings).run()
    run = clean.run()
    assert (run.written_rows, run.quarantined_rows) == (2, 0)
    assert len(read(home, "silver/clean")) == 5
    assert len(read(home, "silver/clean_quarantine")) == 1


def test_quarantine_replay_after_a_fix(home):
    write_file(home, "a.json", rows(2, amount=5.0) + rows(2, start=10, amount=0.5))
    settings = get_settings()
    TableRunner(raw, settings).run()
    assert TableRunner(_clean("amount > 1"), settings).run().quarantined_rows == 2
    fixed = TableRunner(_clean("amount > 0"), settings)  # the rule was too strict
    replay = fixed.run(RunOptions(replay_quarantine=True))
    assert (replay.counts["replayed_rows"], replay.written_rows) == (2, 2)
    assert len(read(home, "silver/clean")) == 4
    assert len(read(home, "silver/clean_quarantine")) == 0
    assert fixed.run().nothing_new  # the stream position is unchanged by the replay


def test_full_refresh_recomputes_from_scratch(home):
    write_file(home, "a.json", rows(3))
    settings = get_settings()
    TableRunner(raw, settings).run()
    clean = TableRunner(_clean("amount > 0"), settings)
    clean.run()
    refreshed = clean.run(RunOptions(full_refresh=True))
    assert (refreshed.mode, refreshed.written_rows) == ("overwrite", 3)
    assert len(read(home, "silver/clean")) == 3
    bronze = TableRunner(raw, settings).run(RunOptions(full_refresh=True))
    assert bronze.written_rows == 3 and len(read(home, "bronze/raw")) == 3


def test_expect_or_fail_commits_nothing(home):
    @table(layer="silver", name="strict", inputs=[read_stream("bronze/raw")])
    @expect_or_fail("valid_amount", "CAST(amount AS DOUBLE) > 0")
    def strict(raw):
        return raw

    write_file(home, "a.json", rows(2))
    settings = get_settings()
    TableRunner(raw, settings).run()
    runner = TableRunner(strict, settings)
    runner.run()
    version = runner.main.version()
    write_file(home, "b.json", rows(1, start=7, amount=-3))
    TableRunner(raw, settings).run()
    with pytest.raises(ExpectationFailed, match="'customer_id': '7'"):
        runner.run()
    assert runner.main.version() == version
    assert len(read(home, "silver/strict")) == 2


def _run_in_child(home, failpoint, key="bronze/raw"):
    """Run one update of the test table in a child process that kills itself at ``failpoint``."""
    code = (
        "from tests.unit.test_incremental_tables import raw, _clean\n"
        "from mlplatform.lakehouse.update.runner import TableRunner\n"
        "from mlplatform.settings import get_settings\n"
        f"t = raw if {key!r} == 'bronze/raw' else _clean('amount > 0')\n"
        "TableRunner(t, get_settings()).run()\n"
    )
    env = dict(os.environ, MLPLATFORM_HOME=str(home), MLPLATFORM_FAILPOINT=failpoint)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=root).returncode


def test_kill_after_ledger_record_redoes_exactly_the_recorded_batch(home):
    write_file(home, "a.json", rows(3))
    assert _run_in_child(home, "after_ledger_record") == -signal.SIGKILL
    assert not (home / "lakehouse" / "bronze" / "raw").exists()
    write_file(home, "late.json", rows(2, start=40))  # arrives after the crash
    redo = TableRunner(raw, get_settings()).run()
    # the run redoes exactly the recorded batch 1, then drains the rest as batch 2
    assert redo.redo and redo.micro_batches == 2 and redo.batch_id == 2
    first = pl.read_delta(str(home / "lakehouse" / "bronze" / "raw"), version=0)
    assert len(first) == 3 and first["_source_file"].str.ends_with("a.json").all()
    assert redo.written_rows == 5
    nxt = TableRunner(raw, get_settings()).run()
    assert nxt.nothing_new and nxt.batch_id == 2
    assert len(read(home, "bronze/raw")) == 5


def test_kill_between_quarantine_and_table_commits_completes_only_the_table(home):
    write_file(home, "a.json", rows(3) + [{"customer_id": "bad", "amount": -2}])
    TableRunner(raw, get_settings()).run()
    assert _run_in_child(home, "between_commits", "silver/clean") == -signal.SIGKILL
    assert len(read(home, "silver/clean_quarantine")) == 1
    assert not (home / "lakehouse" / "silver" / "clean").exists()
    redo = TableRunner(_clean("amount > 0"), get_settings()).run()
    assert redo.redo and redo.batch_id == 1
    assert len(read(home, "silver/clean")) == 3
    # the quarantine is not written twice
    assert read(home, "silver/clean_quarantine").get_column("customer_id").to_list() == ["bad"]


@table(layer="gold", name="counts", inputs=[read_table("bronze/raw")])
def counts(raw):
    return raw.group_by("customer_id").len()


def test_live_table_recomputes_only_when_an_input_changed(home):
    write_file(home, "a.json", rows(3))
    settings = get_settings()
    TableRunner(raw, settings).run()
    first = TableRunner(counts, settings).run()
    assert (first.batch_id, first.written_rows, first.nothing_new) == (1, 3, False)
    again = TableRunner(counts, settings).run()
    assert again.nothing_new and again.batch_id == 1
    assert again.upstream_versions == {"bronze/raw": 0}
    forced = TableRunner(counts, settings).run(RunOptions(full_refresh=True))
    assert (forced.batch_id, forced.nothing_new) == (2, False)
    write_file(home, "b.json", rows(2, start=10))
    TableRunner(raw, settings).run()
    changed = TableRunner(counts, settings).run()
    assert (changed.batch_id, changed.written_rows) == (3, 5)
    assert len(read(home, "gold/counts")) == 5
