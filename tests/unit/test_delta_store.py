"""DeltaStore writes: polars' parquet writer plus a transaction, or write_deltalake, same table."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime

import polars as pl
import pytest
from deltalake import DeltaTable

from mlplatform.lakehouse.delta import DeltaStore

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def frame(n: int, start: int = 0) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": [str(i) for i in range(start, start + n)],
            "amount": [float(i) if i % 3 else None for i in range(start, start + n)],
            "n": list(range(start, start + n)),
            "at": [datetime(2026, 1, 1, 0, 0, i % 60) for i in range(start, start + n)],
            "seen": [datetime(2026, 1, 1, tzinfo=UTC)] * n,
        }
    )


def adds(store: DeltaStore) -> list[dict]:
    log = sorted((store.path / "_delta_log").glob("*.json"))
    actions = [json.loads(line) for p in log for line in p.read_text().splitlines()]
    return [a["add"] for a in actions if "add" in a]


def test_first_write_creates_the_table_with_its_data_in_one_commit(tmp_path):
    store = DeltaStore(tmp_path / "t", "silver/t")
    assert store.write(frame(5), batch_id=1, comment="five rows") == 0
    table = DeltaTable(str(tmp_path / "t"))
    assert table.metadata().name == "t" and table.metadata().description == "five rows"
    assert table.transaction_version("silver/t") == 1
    assert pl.read_delta(str(tmp_path / "t")).equals(frame(5))
    stats = json.loads(adds(store)[0]["stats"])
    assert stats["numRecords"] == 5 and stats["nullCount"]["amount"] == 2
    schema = {f.name: str(f.type) for f in table.schema().fields}
    assert "timestamp_ntz" in schema["at"] and schema["seen"].endswith('"timestamp")')


def test_appends_and_overwrites_keep_the_app_transaction(tmp_path):
    store = DeltaStore(tmp_path / "t", "silver/t")
    store.write(frame(5), 1)
    assert store.write(frame(3, start=5), 2) == 1
    assert len(store.read()) == 8 and store.committed_batch() == 2
    assert store.write(frame(2, start=100), 3, mode="overwrite") == 2
    assert store.read().get_column("n").to_list() == [100, 101]
    assert store.read(version=1).height == 8  # time travel still sees the appended files


def test_schema_changes_and_other_types_go_through_write_deltalake(tmp_path):
    store = DeltaStore(tmp_path / "t", "silver/t")
    store.write(frame(2), 1)
    wider = frame(2, start=2).with_columns(pl.lit("x").alias("extra"))
    store.write(wider, 2, evolve_schema=True)
    assert store.read().columns[-1] == "extra" and store.read().height == 4
    with pytest.raises(Exception, match="(?i)schema"):  # a different schema is not appended
        store.write(frame(1).drop("amount"), 3)
    assert store.committed_batch() == 2
    other = DeltaStore(tmp_path / "u", "silver/u")
    other.write(pl.DataFrame({"tags": [["a"], ["b", "c"]]}), 1)  # list column: write_deltalake
    assert other.read().get_column("tags").to_list() == [["a"], ["b", "c"]]


def test_empty_frames_still_commit_their_batch(tmp_path):
    store = DeltaStore(tmp_path / "t", "silver/t")
    store.write(frame(0), 1)
    assert store.committed_batch() == 1 and store.read().height == 0
    store.write(frame(0), 2)
    assert store.committed_batch() == 2


def test_a_kill_between_data_files_and_commit_leaves_the_table_as_it_was(tmp_path):
    store = DeltaStore(tmp_path / "t", "silver/t")
    store.write(frame(4), 1)
    code = (
        "from tests.unit.test_delta_store import frame\n"
        "from mlplatform.lakehouse.delta import DeltaStore\n"
        f"DeltaStore(__import__('pathlib').Path({str(tmp_path / 't')!r}), 'silver/t')"
        ".write(frame(3, start=10), 2)\n"
    )
    env = dict(os.environ, MLPLATFORM_FAILPOINT="between_files_and_commit:silver/t")
    proc = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT)
    assert proc.returncode == -signal.SIGKILL
    assert len(list((tmp_path / "t").glob("*.parquet"))) == 2  # the orphan file is on disk
    assert store.read().height == 4 and store.committed_batch() == 1  # but not in the table
    store.write(frame(3, start=10), 2)
    assert store.read().height == 7


def test_the_next_table_of_a_run_reads_what_was_just_committed_from_memory(tmp_path):
    store = DeltaStore(tmp_path / "t", "silver/t")
    first = frame(4)
    store.write(first, 1)
    assert store.written_frame(None, 0) is first  # the whole table: it was just created
    more = frame(2, start=4)
    store.write(more, 2)
    assert store.written_frame(0, 1) is more  # exactly the appended commit
    assert store.written_frame(None, 1) is None  # the table is more than that frame
    assert store.written_frame(None, 0) is None  # only the last commit is kept
    from deltalake import write_deltalake

    write_deltalake(str(tmp_path / "t"), frame(1, start=9).to_arrow(), mode="append")
    assert store.written_frame(0, 1) is None  # someone committed since: read the table
