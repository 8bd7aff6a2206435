"""`mlplatform serve` as a real process: scoring, hot switch on promotion, refusals, SIGTERM flush,
then the inference asset through the real `dagster` CLI."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
import polars as pl
import pytest
from pytest import approx

from tests.integration._cli import BIN, ROOT, env_for, materialize
from tests.serving_models import FEATURES, feature_frame, register_version, set_champion

pytestmark = pytest.mark.integration
MAX_ROWS = 50


class Server:
    """`mlplatform serve --port 0` in its own session, output in files."""

    def __init__(self, home: Path, uri: str, *args: str):
        self.out, self.err = home / "serve.out", home / "serve.err"
        env = env_for(home, MLFLOW_TRACKING_URI=uri, MLPLATFORM_SERVING_POLL_S="0.3")
        with open(self.out, "w") as out, open(self.err, "w") as err:
            self.proc = subprocess.Popen(
                [str(BIN / "mlplatform"), "serve", "--port", "0", *args],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        self.url = self._wait_for_url()

    def _wait_for_url(self, timeout: float = 90) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for line in self.out.read_text().splitlines():
                if line.startswith("listening on "):
                    return line.removeprefix("listening on ").strip()
            if self.proc.poll() is not None:
                pytest.fail(f"server exited {self.proc.returncode}: {self.err.read_text()[-3000:]}")
            time.sleep(0.1)
        pytest.fail(f"server did not start: {self.err.read_text()[-3000:]}")

    def stop(self, timeout: float = 30) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
                return None
        return self.proc.returncode


def wait_version(client: httpx.Client, version: str | None, timeout: float = 30) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if client.get("/version").json()["model_version"] == version:
            return
        time.sleep(0.1)
    pytest.fail(f"/version did not become {version}")


def expected(uri: str, version: int, frame) -> list[float]:
    import mlflow

    mlflow.set_tracking_uri(uri)
    model = mlflow.pyfunc.load_model(f"models:/churn_predictor/{version}")
    return [float(p) for p in model.predict(frame[FEATURES])]


def test_serve_switch_refuse_flush_and_unpack(tmp_path):
    home = tmp_path / "home"
    (home / "mlflow").mkdir(parents=True)
    uri = f"sqlite:///{home / 'mlflow' / 'mlflow.db'}"
    from mlflow import MlflowClient

    MlflowClient(tracking_uri=uri).search_experiments()  # create the store before the server
    sent: list[dict] = []  # every POST: request id, status, client id

    def post(client, body=None, content=None, cid=None):
        headers = {"X-Client-Request-Id": cid} if cid else {}
        if content is not None:
            headers["content-type"] = "application/json"
        r = client.post("/invocations", json=body, content=content, headers=headers)
        sent.append(
            {
                "request_id": r.headers["x-request-id"],
                "status_code": r.status_code,
                "client_request_id": cid,
            }
        )
        return r

    server = Server(home, uri, "--max-batch-rows", str(MAX_ROWS))
    try:
        client = httpx.Client(base_url=server.url, timeout=30)
        assert server.url.startswith("http://127.0.0.1:")
        # no champion yet: up, not ready, 503 with a JSON error
        assert client.get("/health").json()["ready"] is False
        r = post(client, {"inputs": feature_frame(1).to_dict("records")})
        assert r.status_code == 503 and "no model to serve yet" in r.json()["message"]

        v1, v2 = register_version(uri), register_version(uri, invert=True, seed=1)
        set_champion(uri, v1)
        wait_version(client, str(v1))
        assert client.get("/health").json()["ready"] is True

        frame = feature_frame(20, seed=5)
        frame.insert(0, "customer_id", [f"c{i}" for i in range(20)])
        want1, want2 = expected(uri, v1, frame), expected(uri, v2, frame)
        records = frame.to_dict("records")
        r = post(client, {"dataframe_records": records[:1]}, cid="one")
        assert r.json()["predictions"] == approx(want1[:1])
        split = {"columns": list(frame.columns), "data": frame.iloc[1:11].values.tolist()}
        assert post(client, {"dataframe_split": split}).json()["predictions"] == approx(want1[1:11])
        assert post(client, {"inputs": records[11:15]}, cid="three").json()[
            "predictions"
        ] == approx(want1[11:15])

        # promote v2 while requests are in flight: none fails, versions only move forward
        seen, stop = [], threading.Event()

        def traffic():
            with httpx.Client(base_url=server.url, timeout=30) as c:
                while not stop.is_set():
                    r = post(c, {"inputs": records[15:16]})
                    seen.append((r.status_code, r.json()["predictions"][0]))

        worker = threading.Thread(target=traffic)
        worker.start()
        time.sleep(0.5)
        from mlplatform.settings import Settings
        from mlplatform.training import registry

        reg = registry.client(
            Settings(home=home, env="dev", engine="polars", tracking_uri_override=uri)
        )
        registry.promote(reg, v2, "test", "hot switch", "churn_predictor")
        wait_version(client, str(v2))
        time.sleep(0.5)
        stop.set()
        worker.join(30)
        assert {s for s, _ in seen} == {200}
        versions = [
            1 if p == approx(want1[15]) else 2 if p == approx(want2[15]) else 0 for _, p in seen
        ]
        assert versions == sorted(versions) and versions[0] == 1 and versions[-1] == 2
        r = post(client, {"inputs": records[16:20]}, cid="after")
        assert r.json()["predictions"] == approx(want2[16:20]) and want2[16:20] != approx(
            want1[16:20]
        )

        bad = [
            (dict(content=b"{oops"), 400, "request body is not valid JSON"),
            (dict(body={"instances": records[:1]}), 400, "unexpected key(s) ['instances']"),
            (dict(body={"dataframe_records": {"a": 1}}), 400, "must be a list of records"),
            (
                dict(body={"inputs": [{k: v for k, v in records[0].items() if k != "avg_amount"}]}),
                400,
                "missing feature(s) ['avg_amount']",
            ),
            (
                dict(body={"inputs": [records[0] | {"coupon": 1.0}]}),
                400,
                "unknown column(s) ['coupon']",
            ),
            (
                dict(body={"inputs": [records[0] | {"total_events": "ten"}]}),
                400,
                "column 'total_events' must be double: row 0 has \"ten\" (string)",
            ),
            (dict(body={"dataframe_records": []}), 400, "empty batch"),
            (
                dict(content=b'{"inputs": [{"customer_id": "\\ud800"}]}'),
                400,
                "inputs[0].customer_id holds a lone UTF-16 surrogate escape",
            ),
            (
                dict(content=json.dumps({"inputs": [records[0] | {"avg_amount": math.inf}]})),
                400,
                "column 'avg_amount' must be a finite double: row 0 has inf",
            ),
            (
                dict(
                    content=json.dumps({"inputs": [records[0] | {"avg_amount": 0.125}]}).replace(
                        "0.125", "1e400"
                    )
                ),
                400,
                "column 'avg_amount' must be a finite double: row 0 has inf",
            ),
            (dict(content=b"[" * 5000 + b"]" * 5000), 400, "nests JSON arrays or objects too deep"),
            (
                dict(body={"inputs": feature_frame(MAX_ROWS + 1).to_dict("records")}),
                413,
                f"batch of {MAX_ROWS + 1} rows is over the limit of {MAX_ROWS} rows",
            ),
        ]
        for kwargs, status, message in bad:
            r = post(client, **kwargs, cid=f"bad-{status}")
            assert (r.status_code, r.headers["content-type"]) == (status, "application/json")
            assert message in r.json()["message"]
        assert client.get("/health").json()["status"] == "up"

        registry.rollback(reg, "test", "back", "churn_predictor")
        wait_version(client, str(v1))
        assert post(client, {"inputs": records[:2]}).json()["predictions"] == approx(want1[:2])
        for encoding in ("utf-16", "utf-8-sig"):  # read as MLflow's server reads them, logged
            body = json.dumps({"inputs": records[2:4]}).encode(encoding)
            r = post(client, content=body, cid=encoding)
            assert r.json()["predictions"] == approx(want1[2:4])
    finally:
        code = server.stop()
    assert code == 0, server.err.read_text()[-3000:]
    assert "stopped; inference log flushed" in server.out.read_text()

    payload = pl.read_delta(str(home / "lakehouse/serving/churn_predictor_payload"))
    assert payload.height == len(sent)
    logged = payload.select("request_id", "status_code", "client_request_id").sort("request_id")
    assert logged.to_dicts() == sorted(sent, key=lambda s: s["request_id"])
    first = payload.sort("timestamp").row(0, named=True)
    assert (first["status_code"], first["model_version"]) == (503, None)
    assert payload.filter(pl.col("client_request_id") == "one")["model_version"].to_list() == [
        str(v1)
    ]
    assert payload.filter(pl.col("client_request_id") == "after")["model_version"].to_list() == [
        str(v2)
    ]

    # labels for half the customers arrive (dated after the predictions: the first label at or
    # after a prediction judges it); the inference asset unpacks every prediction
    labels = home / "landing" / "customer_labels"
    labels.mkdir(parents=True)
    (labels / "labels.json").write_text(
        "".join(
            json.dumps(
                {"customer_id": f"c{i}", "churned": i % 2, "label_timestamp": "2099-12-01T00:00:00"}
            )
            + "\n"
            for i in range(0, 20, 2)
        )
    )
    materialize(home, "bronze/raw_customer_labels,serving/churn_predictor_inference")
    rows = pl.read_delta(str(home / "lakehouse/serving/churn_predictor_inference"))
    ok = payload.filter(pl.col("status_code") == 200)
    assert rows.height == sum(len(json.loads(r)["predictions"]) for r in ok["response"])
    assert rows["request_id"].n_unique() == ok.height
    after = rows.filter(pl.col("client_request_id") == "after").sort("row_index")
    assert after["customer_id"].to_list() == ["c16", "c17", "c18", "c19"]
    assert after["prediction"].to_list() == approx(want2[16:20])
    assert after["avg_amount"].to_list() == frame["avg_amount"].iloc[16:20].tolist()
    assert after["label"].to_list() == [0, None, 0, None]
    assert after["model_version"].to_list() == [str(v2)] * 4
    for encoding in ("utf-16", "utf-8-sig"):
        decoded = rows.filter(pl.col("client_request_id") == encoding).sort("row_index")
        assert decoded["customer_id"].to_list() == ["c2", "c3"]
        assert decoded["prediction"].to_list() == approx(want1[2:4])
    labelled = rows.filter(pl.col("label").is_not_null())
    assert labelled["customer_id"].str.slice(1).cast(pl.Int64).to_list() == [
        int(c[1:]) for c in labelled["customer_id"]
    ]
    assert (labelled["customer_id"].str.slice(1).cast(pl.Int64) % 2 == 0).all()
    assert (labelled["label"] == labelled["customer_id"].str.slice(1).cast(pl.Int64) % 2).all()
