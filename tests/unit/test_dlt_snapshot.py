"""Snapshot CDC: new or changed rows upserted, keys missing from a snapshot deleted, as SCD 1 / 2,
from a function or a table, exactly once."""

from __future__ import annotations

import polars as pl
import pytest

from mlplatform.lakehouse.delta import DeltaStore
from mlplatform.lakehouse.update.snapshot import SnapshotError, SnapshotRunner, SnapshotSpec
from mlplatform.settings import get_settings

SNAPSHOTS = {
    1: [(1, "Alice", "NY"), (2, "Bob", "SF"), (3, "Carol", "LA")],
    2: [(1, "Alice", "Boston"), (2, "Bob", "SF"), (4, "Dan", "Austin")],
    3: [(1, "Alice", "Boston"), (2, "Bob", "Seattle"), (3, "Carol", "LA"), (4, "Dan", "Austin")],
}
SCHEMA = {"id": pl.Int64, "name": pl.String, "city": pl.String}


def frame(version):
    return pl.DataFrame(SNAPSHOTS[version], schema=SCHEMA, orient="row")


def target(home, name="customers"):
    return pl.read_delta(str(home / "lakehouse" / "crm" / name)).sort(pl.all()).rows()


def test_snapshots_from_a_table_as_scd1(home):
    source = DeltaStore(get_settings().table_path("crm", "snap"), "crm/snap")
    spec = SnapshotSpec(target="customers", source="crm/snap", keys=["id"])
    runner = SnapshotRunner(spec, "crm", get_settings())
    for version in (1, 2):
        source.write(frame(version), version, mode="overwrite")
        runner.run()
    assert target(home) == [(1, "Alice", "Boston"), (2, "Bob", "SF"), (4, "Dan", "Austin")]
    assert runner.run()["snapshots"] == []  # no new version of the table: nothing to apply
    source.write(frame(3), 3, mode="overwrite")
    assert runner.run()["changes"] == 2  # Bob changed, Carol is back
    assert len(target(home)) == 4


def test_snapshots_from_a_function_as_scd2_and_a_redo(home, monkeypatch):
    calls = []

    def next_snapshot(latest):
        calls.append(latest)
        version = 1 if latest is None else latest + 1
        return (frame(version), version) if version in SNAPSHOTS else None

    spec = SnapshotSpec(target="customers", source=next_snapshot, keys=["id"], stored_as_scd_type=2)
    runner = SnapshotRunner(spec, "crm", get_settings())
    original = DeltaStore.write

    def crash_on_third_target(self, df, batch_id, *args, **kwargs):
        if self.app_id == "crm/customers" and batch_id == 3:
            raise RuntimeError("killed before the target commit")
        return original(self, df, batch_id, *args, **kwargs)

    monkeypatch.setattr(DeltaStore, "write", crash_on_third_target)
    with pytest.raises(RuntimeError, match="killed"):
        runner.run()
    monkeypatch.undo()
    assert runner.run()["snapshots"] == [3]  # the target caught up, then snapshot 3
    assert calls == [None, 1, 2, 3]  # snapshot 2 was not asked for again
    assert target(home) == [
        (1, "Alice", "Boston", 2, None),
        (1, "Alice", "NY", 1, 2),
        (2, "Bob", "SF", 1, 3),
        (2, "Bob", "Seattle", 3, None),
        (3, "Carol", "LA", 1, 2),
        (3, "Carol", "LA", 3, None),
        (4, "Dan", "Austin", 2, None),
    ]


def test_bad_snapshots_are_refused(home):
    dup = pl.DataFrame({"id": [1, 1], "name": ["a", "b"], "city": ["x", "y"]})
    spec = SnapshotSpec(
        target="t", source=lambda latest: (dup, 1) if latest is None else None, keys=["id"]
    )
    with pytest.raises(SnapshotError, match="repeats keys"):
        SnapshotRunner(spec, "crm", get_settings()).run()
    spec = SnapshotSpec(
        target="u", source=lambda latest: (frame(1), 0 if latest else 5), keys=["id"]
    )
    with pytest.raises(SnapshotError, match="not after the last applied version 5"):
        SnapshotRunner(spec, "crm", get_settings()).run()
