"""The inference table: unpacked incrementally from the payload, exactly once, labels later."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import dagster as dg
import polars as pl
import pytest

from mlplatform.lakehouse.delta import DeltaStore
from mlplatform.serving.assets import serving_assets
from mlplatform.serving.inference import InferenceTable
from mlplatform.serving.logger import InferenceLogger
from mlplatform.serving.payload_row import PayloadRow
from mlplatform.settings import get_settings
from tests.platform_resources import platform_resources
from tests.serving_models import served_model

SERVED = served_model()
PAYLOAD, INFERENCE = SERVED.payload, SERVED.inference
churn_predictor_inference = serving_assets(SERVED)[1]

payload_path = PAYLOAD.path
inference_path = INFERENCE.path

FEATURES = {"total_events": 10, "avg_amount": 2.5, "recency_days": 3}


def request_row(
    rid: str, body: dict | None, predictions: list | None, status: int = 200, version: str = "1"
) -> PayloadRow:
    response = {"predictions": predictions} if status == 200 else {"message": "bad"}
    return PayloadRow(
        rid,
        f"c-{rid}",
        time.time_ns() // 1000,
        status,
        2.0,
        json.dumps(body) if body is not None else None,
        json.dumps(response),
        "churn_predictor",
        version,
    )


def log_requests(rows: list[dict]) -> None:
    """Commit rows to the payload table the way the server does (one commit)."""
    logger = InferenceLogger(payload_path(get_settings()), flush_rows=10_000, flush_seconds=3600)
    logger.ensure_table()
    for r in rows:
        logger.log(r)
    assert logger.close() == 0


def write_labels(rows: list[tuple[str, str, str]], batch_id: int) -> None:
    store = DeltaStore(
        get_settings().table_path("bronze", "raw_customer_labels"), "bronze/raw_customer_labels"
    )
    frame = pl.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "churned": [r[1] for r in rows],
            "label_timestamp": [r[2] for r in rows],
            "_rescued_data": [None] * len(rows),
            "_source_file": ["f.json"] * len(rows),
            "_ingested_at": [datetime.now(UTC)] * len(rows),
        },
        schema_overrides={"_rescued_data": pl.String},
    )
    store.write(frame, batch_id)


def inference() -> pl.DataFrame:
    return pl.read_delta(str(inference_path(get_settings()))).sort("request_id", "row_index")


def test_fresh_home_creates_the_empty_table_with_its_schema(home):
    run = InferenceTable(get_settings(), SERVED).run()
    assert run.nothing_new and run.rows_appended == 0
    table = inference()
    assert table.height == 0
    assert dict(table.schema) == SERVED.inference.schema
    assert InferenceTable(get_settings(), SERVED).run().nothing_new  # and again


def test_unpacks_each_prediction_once_and_fills_labels_that_arrive_later(home):
    log_requests(
        [
            request_row(
                "a",
                {
                    "dataframe_records": [
                        {"customer_id": "c1", **FEATURES},
                        {"customer_id": 2, **FEATURES, "avg_amount": 9},
                    ]
                },
                [0.1, 0.2],
            ),
            request_row("b", {"inputs": [{"customer_id": "c1"}]}, None, status=400),
            request_row(
                "c",
                {"dataframe_split": {"columns": list(FEATURES), "data": [[1, 2, 3]]}},
                [0.9],
                version="2",
            ),
        ]
    )
    table = InferenceTable(get_settings(), SERVED)
    run = table.run()
    assert (run.start_version, run.end_version, run.batch_id) == (None, 1, 2)
    assert (run.requests, run.unpacked_requests, run.failed_requests) == (3, 2, 1)
    out = inference()
    assert out.select(
        "request_id",
        "row_index",
        "customer_id",
        "avg_amount",
        "recency_days",
        "prediction",
        "model_version",
        "label",
    ).rows() == [
        ("a", 0, "c1", 2.5, 3.0, 0.1, "1", None),
        ("a", 1, "2", 9.0, 3.0, 0.2, "1", None),
        ("c", 0, None, 2.0, 3.0, 0.9, "2", None),
    ]
    assert out["client_request_id"].to_list() == ["c-a", "c-a", "c-c"]
    assert out["total_spend"].null_count() == 3  # a feature the requests did not carry
    assert table.run().nothing_new and inference().height == 3  # exactly once

    # labels judge the predictions made before them (the first label at or after each one)
    write_labels([("c1", "1", "2099-01-01T00:00:00"), ("2", "0", "2099-01-01T00:00:00")], 1)
    log_requests([request_row("d", {"inputs": [{"customer_id": "c1", **FEATURES}]}, [0.4])])
    run = table.run()
    assert (run.start_version, run.end_version, run.batch_id) == (1, 2, 3)
    assert run.rows_appended == 1 and run.labels_filled == 2  # the two earlier rows
    out = inference()
    assert out.select("request_id", "customer_id", "label").rows() == [
        ("a", "c1", 1),
        ("a", "2", 0),
        ("c", None, None),
        ("d", "c1", 1),
    ]
    assert out["label_timestamp"][0] == datetime(2099, 1, 1, tzinfo=UTC)

    write_labels([("c1", "0", "2098-02-01T00:00:00"), ("c1", "1", "2025-12-01T00:00:00")], 2)
    run = table.run()
    assert run.nothing_new and run.labels_filled == 2
    assert inference().select("request_id", "label").rows() == [
        ("a", 0),
        ("a", 0),
        ("c", None),
        ("d", 0),
    ]  # the first label at or after each prediction (not the one before them)
    assert table.run().labels_filled == 0


def test_a_crash_before_the_commit_redoes_the_same_versions(home, monkeypatch):
    log_requests([request_row("a", {"inputs": [FEATURES]}, [0.5])])
    table = InferenceTable(get_settings(), SERVED)

    def crash(*args, **kwargs):
        raise OSError("killed")

    with monkeypatch.context() as patched:
        patched.setattr(DeltaStore, "write", crash)
        with pytest.raises(OSError):
            table.run()
    log_requests([request_row("b", {"inputs": [FEATURES, FEATURES]}, [0.1, 0.2])])
    run = InferenceTable(get_settings(), SERVED).run()
    assert (run.start_version, run.end_version) == (None, 2)
    assert inference()["request_id"].to_list() == ["a", "b", "b"]


def test_the_asset_materializes_with_metadata(home):
    log_requests([request_row("a", {"inputs": [FEATURES]}, [0.5])])
    result = dg.materialize([churn_predictor_inference], resources=platform_resources())
    assert result.success
    meta = result.asset_materializations_for_node("serving__churn_predictor_inference")[0].metadata
    assert meta["dagster/row_count"].value == 1
    assert meta["rows_appended"].value == 1
    assert meta["payload_versions"].value == {"start_exclusive": None, "end": 1}


def test_a_lone_surrogate_logged_by_an_older_server_holds_back_no_row(home):
    # servers before the surrogate check answered 200 and logged it; the asset must go on
    poisoned = request_row("a", None, [0.5])._replace(
        request='{"inputs": [{"customer_id": "\\ud800", "total_events": 1}]}'
    )
    rows = [poisoned] + [
        request_row(f"r{i}", {"inputs": [{"customer_id": f"c{i}", **FEATURES}]}, [0.1])
        for i in range(5)
    ]
    log_requests(rows)
    result = dg.materialize([churn_predictor_inference], resources=platform_resources())
    assert result.success
    meta = result.asset_materializations_for_node("serving__churn_predictor_inference")[0].metadata
    assert meta["rows_appended"].value == 6
    table = inference()
    assert table["customer_id"].to_list() == ["\\ud800", "c0", "c1", "c2", "c3", "c4"]
    assert table["total_events"].to_list() == [1.0] + [10.0] * 5
