"""The HTTP API with a stand-in model: answers, refusals, auth, version switch, logged rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import polars as pl
import pytest
from fastapi.testclient import TestClient

from mlplatform.serving.app import ServingOptions, create_app
from mlplatform.serving.logger import InferenceLogger
from mlplatform.serving.model_holder import LoadedModel
from mlplatform.serving.payloads import InputSpec

SPEC = InputSpec(("a", "b"), {"a": "double", "b": "double"}, frozenset({"a", "b"}))


def model(version: str, scale: float = 1.0, fail: bool = False) -> LoadedModel:
    def predict(frame):
        if fail:
            raise RuntimeError("boom")
        return (frame["a"] * scale + frame["b"]).to_numpy()

    return LoadedModel("churn_predictor", version, "champion", SPEC, predict, datetime.now(UTC))


class Holder:
    """A ModelHolder stand-in: `current` is set by the test."""

    name, alias = "churn_predictor", "champion"

    def __init__(self, current=None):
        self.current = current
        self.last_error = None


@pytest.fixture
def served(tmp_path):
    holder = Holder(model("1"))
    logger = InferenceLogger(tmp_path / "payload", flush_rows=1000, flush_seconds=60)
    logger.start()
    client = TestClient(
        create_app(
            holder,
            logger,
            ServingOptions(max_batch_rows=3, max_body_bytes=2000, id_columns=("customer_id",)),
        )
    )
    yield holder, logger, client
    logger.close()


def rows_of(logger: InferenceLogger) -> pl.DataFrame:
    assert logger.close() == 0
    return pl.read_delta(str(logger.path)).sort("timestamp")


def test_predictions_version_and_health(served):
    holder, logger, client = served
    r = client.post(
        "/invocations",
        json={"dataframe_records": [{"a": 1, "b": 2}]},
        headers={"X-Client-Request-Id": "abc"},
    )
    assert r.status_code == 200 and r.json() == {"predictions": [3.0]}
    assert len(r.headers["x-request-id"]) == 32
    assert client.get("/version").json()["model_version"] == "1"
    health = client.get("/health").json()
    assert health["status"] == "up" and health["ready"] is True
    assert health["logging"]["pending"] == 1
    holder.current = model("2", scale=10)  # what the poller does when the alias moves
    assert client.post("/invocations", json={"inputs": {"a": [1], "b": [2]}}).json() == {
        "predictions": [12.0]
    }
    assert client.get("/version").json() | {"loaded_at": None} == {
        "model_name": "churn_predictor",
        "model_version": "2",
        "alias": "champion",
        "model_uri": "models:/churn_predictor/2",
        "loaded_at": None,
    }
    table = rows_of(logger)
    assert table["model_version"].to_list() == ["1", "2"]
    assert table["client_request_id"].to_list() == ["abc", None]
    assert table["request_id"][0] == r.headers["x-request-id"]
    assert json.loads(table["request"][0]) == {"dataframe_records": [{"a": 1, "b": 2}]}
    assert json.loads(table["response"][0]) == {"predictions": [3.0]}
    assert table["status_code"].to_list() == [200, 200]
    assert (table["execution_time_ms"] > 0).all()


@pytest.mark.parametrize(
    ("kwargs", "status", "message"),
    [
        ({"content": b"not json"}, 400, "request body is not valid JSON"),
        ({"json": {"records": []}}, 400, "unexpected key(s) ['records']"),
        ({"json": {"inputs": [{"a": 1}]}}, 400, "missing feature(s) ['b']"),
        ({"json": {"inputs": [{"a": 1, "b": 1, "z": 1}]}}, 400, "unknown column(s) ['z']"),
        ({"json": {"inputs": [{"a": 1, "b": "x"}]}}, 400, "column 'b' must be double"),
        ({"json": {"inputs": []}}, 400, "empty batch"),
        (
            {"json": {"inputs": {"a": [1] * 4, "b": [1] * 4}}},
            413,
            "batch of 4 rows is over the limit of 3 rows",
        ),
        ({"content": b"[" + b"1," * 1500 + b"1]"}, 413, "request body of 3003 bytes is over"),
        (
            {"content": iter([b"[" + b"1," * 900, b"1," * 900 + b"1]"])},
            413,
            "request body is over the limit of 2000 bytes",
        ),
        (
            {"content": b"a,b\n1,2", "headers": {"content-type": "text/csv"}},
            415,
            "content type 'text/csv' is not supported",
        ),
    ],
)
def test_bad_requests_get_a_json_4xx_and_are_logged(served, kwargs, status, message):
    _, logger, client = served
    r = client.post("/invocations", **kwargs)
    assert r.status_code == status
    body = r.json()
    assert message in body["message"]
    assert body["request_id"] == r.headers["x-request-id"]
    assert client.post("/invocations", json={"inputs": [{"a": 0, "b": 1}]}).status_code == 200
    table = rows_of(logger)
    assert table["status_code"].to_list() == [status, 200]
    assert json.loads(table["response"][0]) == body


def test_a_failing_model_is_a_503_and_the_server_goes_on(served):
    holder, logger, client = served
    holder.current = model("3", fail=True)
    r = client.post("/invocations", json={"inputs": [{"a": 1, "b": 2}]})
    assert r.status_code == 503
    assert r.json()["message"] == (
        "model churn_predictor version 3 failed to score the batch: RuntimeError: boom"
    )
    holder.current = model("4")
    assert client.post("/invocations", json={"inputs": [{"a": 1, "b": 2}]}).status_code == 200
    assert rows_of(logger)["status_code"].to_list() == [503, 200]


def test_no_champion_yet_is_503_and_not_ready(tmp_path):
    holder = Holder(None)
    client = TestClient(create_app(holder, None))
    r = client.post("/invocations", json={"inputs": [{"a": 1, "b": 2}]})
    assert r.status_code == 503
    assert r.json()["message"] == "no model to serve yet: churn_predictor has no 'champion' alias"
    assert client.get("/health").json()["ready"] is False
    assert client.get("/ready").status_code == 503
    assert client.get("/version").json() == {
        "model_name": "churn_predictor",
        "model_version": None,
        "alias": "champion",
    }
    holder.current = model("1")
    assert client.get("/ready").status_code == 200


def test_bearer_token(tmp_path):
    client = TestClient(create_app(Holder(model("1")), None, ServingOptions(token="s3cret")))
    payload = {"inputs": [{"a": 1, "b": 2}]}
    assert client.post("/invocations", json=payload).status_code == 401
    wrong = client.post("/invocations", json=payload, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.json()["error_code"] == "UNAUTHENTICATED"
    ok = client.post("/invocations", json=payload, headers={"Authorization": "Bearer s3cret"})
    assert ok.json() == {"predictions": [3.0]}
    assert client.get("/version").status_code == 401
    assert client.get("/health").status_code == 200  # probes need no token


def test_nan_predictions_become_null(tmp_path):
    m = model("1")
    nan_model = LoadedModel(
        m.name, m.version, m.alias, SPEC, lambda f: np.array([np.nan, 1.0]), m.loaded_at
    )
    client = TestClient(create_app(Holder(nan_model), None))
    r = client.post("/invocations", json={"inputs": {"a": [1, 2], "b": [1, 2]}})
    assert r.json() == {"predictions": [None, 1.0]}


def test_numpy_scalars_in_predictions_are_plain_json(tmp_path):
    m = model("1")
    odd = LoadedModel(
        m.name, m.version, m.alias, SPEC, lambda f: [np.float32(0.5), np.int64(2)], m.loaded_at
    )
    client = TestClient(create_app(Holder(odd), None))
    r = client.post("/invocations", json={"inputs": {"a": [1, 2], "b": [1, 2]}})
    assert r.status_code == 200 and r.json() == {"predictions": [0.5, 2]}
