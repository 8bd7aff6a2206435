"""The inference logger: flush by count, by time and on close; a capped buffer; retried commits."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime

import polars as pl
from deltalake import DeltaTable

from mlplatform.serving.logger import InferenceLogger
from mlplatform.serving.payload_row import PayloadRow


def row(i: int, status: int = 200) -> PayloadRow:
    return PayloadRow(
        f"r{i}", None, time.time_ns() // 1000, status, 1.5, "{}", "{}", "churn_predictor", "1"
    )


def wait_for(predicate, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def ids(path) -> list[str]:
    return sorted(pl.read_delta(str(path))["request_id"].to_list(), key=lambda s: int(s[1:]))


def test_start_creates_the_empty_table_with_its_schema(tmp_path):
    logger = InferenceLogger(tmp_path / "p")
    logger.start()
    table = DeltaTable(str(tmp_path / "p"))
    assert table.version() == 0 and table.count() == 0
    assert [f.name for f in table.schema().fields][:5] == [
        "request_id",
        "client_request_id",
        "timestamp",
        "date",
        "status_code",
    ]
    assert logger.close() == 0
    assert DeltaTable(str(tmp_path / "p")).version() == 0  # nothing to commit, no commit


def test_flush_by_count_then_the_rest_on_close(tmp_path):
    logger = InferenceLogger(tmp_path / "p", flush_rows=5, flush_seconds=60)
    logger.start()
    for i in range(5):
        logger.log(row(i))
    assert wait_for(lambda: logger.stats.written == 5)
    for i in range(5, 7):
        logger.log(row(i))
    time.sleep(0.3)
    assert logger.stats.written == 5 and logger.pending == 2  # below the count, before the time
    assert logger.close() == 0
    assert ids(tmp_path / "p") == [f"r{i}" for i in range(7)]
    assert logger.stats.commits == 2
    assert DeltaTable(str(tmp_path / "p")).version() == 2


def test_flush_by_time(tmp_path):
    logger = InferenceLogger(tmp_path / "p", flush_rows=1000, flush_seconds=0.2)
    logger.start()
    logger.log(row(0))
    assert wait_for(lambda: logger.stats.written == 1, timeout=5)
    assert DeltaTable(str(tmp_path / "p")).count() == 1
    logger.close()


def test_rows_past_the_buffer_cap_are_dropped_and_counted(tmp_path):
    logger = InferenceLogger(tmp_path / "p", flush_rows=3, flush_seconds=60, max_buffer_rows=4)
    # not started: nothing drains the buffer, as when storage is stuck
    for i in range(6):
        logger.log(row(i))
    assert logger.pending == 4
    assert logger.stats.logged == 6 and logger.stats.dropped == 2
    logger.ensure_table()
    assert logger.close() == 0
    assert ids(tmp_path / "p") == ["r0", "r1", "r2", "r3"]


def test_a_failed_commit_keeps_the_rows_for_the_next_flush(tmp_path, monkeypatch):
    import mlplatform.lakehouse.delta as mod  # the one Delta write path the logger uses

    real, calls = mod.write_deltalake, []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OSError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(mod, "write_deltalake", flaky)
    logger = InferenceLogger(tmp_path / "p", flush_rows=2, flush_seconds=0.2)
    logger.start()
    logger.log(row(0))
    logger.log(row(1))
    assert wait_for(lambda: logger.stats.failed_commits == 1)
    assert logger.stats.last_error == "OSError: disk full"
    logger.log(row(2))
    assert wait_for(lambda: logger.stats.written == 3)
    assert logger.stats.last_error is None
    assert logger.close() == 0
    assert ids(tmp_path / "p") == ["r0", "r1", "r2"]


def test_rows_keep_their_values_and_the_utc_date(tmp_path):
    logger = InferenceLogger(tmp_path / "p")
    logger.start()
    at = datetime(2026, 3, 1, 23, 59, 59, 123456, tzinfo=UTC)
    logger.log(
        PayloadRow(
            "r1",
            "client-7",
            int(at.timestamp()) * 1_000_000 + 123456,
            400,
            2.25,
            '{"x": "\u00e9"}',
            '{"error_code": "BAD_REQUEST"}',
            "churn_predictor",
            None,
        )
    )
    assert logger.close() == 0
    assert pl.read_delta(str(tmp_path / "p")).to_dicts() == [
        {
            "request_id": "r1",
            "client_request_id": "client-7",
            "timestamp": at,
            "date": date(2026, 3, 1),
            "status_code": 400,
            "execution_time_ms": 2.25,
            "request": '{"x": "\u00e9"}',
            "response": '{"error_code": "BAD_REQUEST"}',
            "model_name": "churn_predictor",
            "model_version": None,
            "served_features": None,  # only for requests that used the online store
            "request_bytes": None,  # the server records the body's size
            "request_truncated": False,
        }
    ]
