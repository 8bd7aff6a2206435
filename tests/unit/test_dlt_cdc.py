"""apply_changes: an out-of-order CDC feed with deletes, as SCD type 1 and type 2."""

import polars as pl
import pytest

from mlplatform.lakehouse.delta import DeltaStore
from mlplatform.lakehouse.update.changes import ChangeRunner, ChangeSpec
from mlplatform.settings import get_settings

BATCH_1 = [
    (1, "a", "INSERT", 1),
    (2, "b", "INSERT", 1),
    (1, "a2", "UPDATE", 3),
    (3, "c", "INSERT", 2),
]
BATCH_2 = [
    (1, "a1", "UPDATE", 2),  # older than the update already applied
    (2, None, "DELETE", 5),
    (2, "b-late", "UPDATE", 4),  # arrives after the delete that follows it
    (3, "c", "UPDATE", 6),  # no change to tracked columns
]


def feed(home, batch_id, rows):
    frame = pl.DataFrame(
        rows,
        schema={"id": pl.Int64, "name": pl.String, "op": pl.String, "ts": pl.Int64},
        orient="row",
    )
    settings = get_settings()
    DeltaStore(settings.table_path("cdc", "changes"), "cdc/changes").write(frame, batch_id)


def spec(scd):
    return ChangeSpec(
        target="customers",
        source="changes",
        keys=["id"],
        sequence_by="ts",
        apply_as_deletes="op = 'DELETE'",
        except_column_list=["op"],
        stored_as_scd_type=scd,
    )


def target(home):
    return pl.read_delta(str(home / "lakehouse" / "cdc" / "customers")).sort(pl.all()).rows()


def test_scd1_applies_changes_by_sequence_and_keeps_deletes(home):
    runner = ChangeRunner(spec(1), "cdc", get_settings())
    feed(home, 1, BATCH_1)
    assert runner.run()["changes"] == 4
    assert target(home) == [(1, "a2", 3), (2, "b", 1), (3, "c", 2)]
    feed(home, 2, BATCH_2)
    assert runner.run()["changes"] == 4
    assert target(home) == [(1, "a2", 3), (3, "c", 6)]
    again = runner.run()
    assert again["changes"] == 0 and target(home) == [(1, "a2", 3), (3, "c", 6)]


def test_scd2_keeps_history_with_start_and_end(home):
    runner = ChangeRunner(spec(2), "cdc", get_settings())
    feed(home, 1, BATCH_1)
    runner.run()
    feed(home, 2, BATCH_2)
    runner.run()
    frame = pl.read_delta(str(home / "lakehouse" / "cdc" / "customers"))
    assert frame.columns == ["id", "name", "ts", "__START_AT", "__END_AT"]
    assert frame.sort("id", "__START_AT").rows() == [
        (1, "a", 1, 1, 2),
        (1, "a1", 2, 2, 3),
        (1, "a2", 3, 3, None),
        (2, "b", 1, 1, 4),
        (2, "b-late", 4, 4, 5),
        (3, "c", 2, 2, None),
    ]


def test_redo_after_a_crash_between_storage_merge_and_target(home, monkeypatch):
    runner = ChangeRunner(spec(1), "cdc", get_settings())
    feed(home, 1, BATCH_1)
    runner.run()
    feed(home, 2, BATCH_2)
    original = DeltaStore.write

    def crash_on_target(self, *args, **kwargs):
        if self.app_id == "cdc/customers":
            raise RuntimeError("killed before the target commit")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(DeltaStore, "write", crash_on_target)
    with pytest.raises(RuntimeError, match="killed"):
        runner.run()
    monkeypatch.undo()
    assert runner.storage.committed_batch() == 2 and runner.target.committed_batch() == 1
    redo = runner.run()
    assert redo["batch_id"] == 2
    assert target(home) == [(1, "a2", 3), (3, "c", 6)]
    assert len(pl.read_delta(str(runner.storage.path))) == 8  # each change stored once
