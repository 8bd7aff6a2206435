"""A bad or vanished landing file never blocks the others: invalid UTF-8 per line, unreadable
files (failing, or skipped with ignore_corrupt_files), vanished files of a recorded batch."""

from __future__ import annotations

import base64
import bz2
import gzip
import json
import os
import signal
import subprocess
import sys

import polars as pl
import pytest

from mlplatform.lakehouse import MissingFileError
from mlplatform.lakehouse.ingest import CorruptFileError, parse_size
from mlplatform.lakehouse.update.runner import RunOptions, TableRunner
from mlplatform.settings import get_settings
from tests.unit.test_incremental_tables import raw, read, rows, write_file


def landing(home):
    return home / "landing" / "events"


def test_invalid_utf8_lines_are_kept_with_their_raw_bytes_rescued(home):
    write_file(home, "a.json", rows(3))
    bad = [
        b'{"customer_id": "caf\xe9", "amount": 1.50}',
        b'{"customer_id": "ok", "amount": 2}',
        b'{"customer_id": "\xff", "amount": 3, "extra": "x"}',
        b"\xfe\xfe not json",
    ]
    (landing(home) / "b.json").write_bytes(b"\n".join(bad) + b"\n")
    write_file(home, "c.json", rows(2, start=50))
    run = TableRunner(raw, get_settings()).run()
    assert run.counts["invalid_utf8_lines"] == 3
    assert run.written_rows == 9
    table = read(home, "bronze/raw")
    b = table.filter(pl.col("_source_file").str.ends_with("b.json"))
    assert b["customer_id"].to_list() == ["caf\ufffd", "ok", "\ufffd", None]
    assert b["amount"].to_list() == ["1.50", "2", "3", None]
    rescued = [json.loads(r) if r else None for r in b["_rescued_data"].to_list()]
    assert base64.b64decode(rescued[0]["_raw_line_base64"]) == bad[0]
    assert rescued[1] is None
    assert rescued[2]["extra"] == "x" and base64.b64decode(rescued[2]["_raw_line_base64"]) == bad[2]
    assert base64.b64decode(rescued[3]["_raw_line_base64"]) == bad[3]
    # the good files around it are whole
    assert table.filter(pl.col("_source_file").str.ends_with("c.json")).height == 2


@pytest.mark.parametrize(
    "content, reason",
    [
        (bz2.compress(b'{"customer_id": "1", "amount": 1}\n'), "bzip2 compression"),
        (gzip.compress(b'{"customer_id": "1", "amount": 1}\n' * 50)[:40], "EOFError"),
    ],
)
def test_an_unreadable_file_fails_naming_it_and_leaves_the_ledger(home, content, reason):
    write_file(home, "a.json", rows(3))
    (landing(home) / "bad.json").write_bytes(content)
    runner = TableRunner(raw, get_settings())
    with pytest.raises(CorruptFileError) as err:
        runner.run()
    assert "bad.json cannot be read" in str(err.value) and reason in str(err.value)
    assert "ignore_corrupt_files" in str(err.value)
    assert runner.ledger.read().is_empty() and not runner.main.exists()


def test_ignore_corrupt_files_skips_counts_and_never_retries_silently(home):
    write_file(home, "a.json", rows(3))
    bad = landing(home) / "bad.json"
    bad.write_bytes(bz2.compress(b"x\n"))
    runner = TableRunner(raw, get_settings())
    run = runner.run(RunOptions(ignore_corrupt_files=True))
    assert run.written_rows == 3 and run.counts["corrupt_files_skipped"] == 1
    assert run.counts["corrupt_files"] == [str(bad.resolve())]
    assert any("bad.json cannot be read" in w for w in run.warnings)
    # not retried: a later run without the option does not fail on it
    assert runner.run().nothing_new
    # fixed in place: the changed-file policy applies (skipped with a warning, or re-ingested)
    write_file(home, "bad.json", rows(2, start=20))
    skipped = runner.run()
    assert skipped.counts["changed_files_skipped"] == 1
    again = runner.run(RunOptions(allow_overwrites=True))
    assert again.written_rows == 2 and len(read(home, "bronze/raw")) == 5


def _crash_after_recording(home):
    code = (
        "from tests.unit.test_incremental_tables import raw\n"
        "from mlplatform.lakehouse.update.runner import TableRunner\n"
        "from mlplatform.settings import get_settings\n"
        "TableRunner(raw, get_settings()).run()\n"
    )
    env = dict(os.environ, MLPLATFORM_HOME=str(home), MLPLATFORM_FAILPOINT="after_ledger_record")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert subprocess.run([sys.executable, "-c", code], env=env, cwd=root).returncode == (
        -signal.SIGKILL
    )


def test_a_vanished_file_of_a_recorded_batch_fails_naming_it_and_the_option(home):
    write_file(home, "a.json", rows(3))
    gone = write_file(home, "b.json", rows(4, start=10))
    _crash_after_recording(home)
    gone.unlink()
    runner = TableRunner(raw, get_settings())
    with pytest.raises(MissingFileError) as err:
        runner.run()
    assert str(gone.resolve()) in str(err.value) and "ignore_missing_files" in str(err.value)
    assert not runner.main.exists()
    run = runner.run(RunOptions(ignore_missing_files=True))
    assert run.redo and run.written_rows == 3
    assert run.counts["missing_files_skipped"] == 1
    assert run.counts["missing_files"] == [str(gone.resolve())]
    assert runner.run().nothing_new and len(read(home, "bronze/raw")) == 3


def test_max_bytes_per_trigger_bounds_micro_batches_softly(home):
    for i in range(4):
        write_file(home, f"f{i}.json", rows(20, start=100 * (i + 1)))
    size = (landing(home) / "f0.json").stat().st_size
    runner = TableRunner(raw, get_settings())
    run = runner.run(RunOptions(max_bytes_per_trigger=str(2 * size + 1)))
    assert run.micro_batches == 2 and run.written_rows == 80
    assert run.counts["input_bytes"] == 4 * size
    # soft: a micro-batch holds at least one file, even a larger one
    write_file(home, "big.json", rows(200, start=1000))
    one = runner.run(RunOptions(max_bytes_per_trigger="1k"))
    assert one.micro_batches == 1 and one.written_rows == 200


def test_a_crash_in_a_later_micro_batch_keeps_the_earlier_ones(home):
    for i in range(4):
        write_file(home, f"f{i}.json", rows(5, start=10 * i))
    code = (
        "from tests.unit.test_incremental_tables import raw\n"
        "from mlplatform.lakehouse.update.runner import RunOptions, TableRunner\n"
        "from mlplatform.settings import get_settings\n"
        "TableRunner(raw, get_settings()).run(RunOptions(max_files_per_trigger=1))\n"
    )
    env = dict(
        os.environ,
        MLPLATFORM_HOME=str(home),
        MLPLATFORM_FAILPOINT="between_files_and_commit:bronze/raw@3",
    )
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert subprocess.run([sys.executable, "-c", code], env=env, cwd=root).returncode == (
        -signal.SIGKILL
    )
    assert len(read(home, "bronze/raw")) == 10  # micro-batches 1 and 2
    runner = TableRunner(raw, get_settings())
    run = runner.run(RunOptions(max_files_per_trigger=1))
    assert run.redo and run.micro_batches == 2 and len(read(home, "bronze/raw")) == 20
    assert read(home, "bronze/raw").group_by("_source_file").len()["len"].to_list() == [5] * 4


def test_sizes_take_bytes_or_spark_style_units():
    assert [parse_size(v) for v in (None, 10, "10", "512m", "1g", "1.5k", "2GiB")] == [
        None,
        10,
        10,
        512 * 1024**2,
        1024**3,
        1536,
        2 * 1024**3,
    ]
    with pytest.raises(ValueError, match="max_bytes_per_trigger 'lots' is not a size"):
        parse_size("lots")
