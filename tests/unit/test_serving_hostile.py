"""Hostile and careless requests with a stand-in model: each is a 4xx naming the problem (never a
500 or a 503), is logged, and the logged rows unpack into the inference table."""

from __future__ import annotations

import jsonschema
import polars as pl
import pytest
from fastapi.testclient import TestClient

from mlplatform.serving.app import ServingOptions, create_app
from mlplatform.serving.body import LOGGED_ERROR_BYTES
from mlplatform.serving.inference import unpack
from mlplatform.serving.logger import InferenceLogger
from tests.serving_models import served_model
from tests.unit.test_serving_app import Holder, model

TOKEN = {"Authorization": "Bearer s3cret"}
RECORD = '{"dataframe_records": [{"customer_id": "c1", "a": 1, "b": 2}]}'


@pytest.fixture
def served(tmp_path):
    logger = InferenceLogger(tmp_path / "payload", flush_rows=1000, flush_seconds=60)
    logger.start()
    holder = Holder(model("1"))
    opts = ServingOptions(
        max_batch_rows=3, max_body_bytes=200_000, token="s3cret", id_columns=("customer_id",)
    )
    yield holder, logger, TestClient(create_app(holder, logger, opts), headers=TOKEN)
    logger.close()


def logged(logger: InferenceLogger) -> pl.DataFrame:
    assert logger.close() == 0
    return pl.read_delta(str(logger.path)).sort("timestamp")


def post(client: TestClient, body: bytes | str, **headers):
    content = body.encode() if isinstance(body, str) else body
    return client.post("/invocations", content=content, headers=headers)


def test_a_lone_surrogate_is_a_400_naming_where_and_the_log_still_unpacks(served):
    _, logger, client = served
    bad = {
        '{"dataframe_records": [{"customer_id": "\\ud800", "a": 1, "b": 2}]}': (
            "dataframe_records[0].customer_id"
        ),
        '{"inputs": {"a": [1], "b": [2], "customer_id": ["x\\uDFFFy"]}}': "inputs.customer_id[0]",
        '{"dataframe_split": {"columns": ["a", "b\\udc00"], "data": [[1, 2]]}}': (
            "dataframe_split.columns[1]"
        ),
        '{"inputs": [{"\\ud83d": 1}]}': "a key of inputs[0]",
    }
    for body, where in bad.items():
        r = post(client, body)
        assert r.status_code == 400, body
        assert r.json()["message"].startswith(f"{where} holds a lone UTF-16 surrogate escape")
    pair = post(client, '{"inputs": [{"customer_id": "\\ud83d\\ude00", "a": 1, "b": 2}]}')
    assert pair.json() == {"predictions": [3.0]}  # a surrogate pair is a character: fine
    table = logged(logger)
    assert table["status_code"].to_list() == [400] * 4 + [200]
    assert table["request"].to_list()[:4] == list(bad)  # logged as sent (escapes are ASCII)
    frame, counts = unpack(table, served_model())
    assert counts["unreadable_requests"] == 0 and frame["customer_id"].to_list() == ["\U0001f600"]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_utf16_utf32_and_bom_bodies_are_read_and_logged_readably(served, encoding):
    _, logger, client = served
    body = RECORD.replace("c1", "c\u00e9\u4e2d")
    r = post(client, body.encode(encoding))
    assert r.status_code == 200 and r.json() == {"predictions": [3.0]}
    assert post(client, RECORD.encode(encoding)[:-2]).status_code == 400  # cut: not text/JSON
    table = logged(logger)
    assert table["request"][0] == body  # decoded, without the byte order mark
    frame, counts = unpack(table, served_model())
    assert counts == {
        "unpacked_requests": 1,
        "unreadable_requests": 0,
        "failed_requests": 1,
        "ignored_columns": ["a", "b"],
    }
    assert frame["customer_id"].to_list() == ["c\u00e9\u4e2d"]


def test_a_charset_other_than_utf8_is_415_and_bytes_that_are_not_text_are_400(served):
    _, logger, client = served
    utf16 = post(
        client, RECORD.encode("utf-16"), **{"content-type": "application/json; charset=utf-16"}
    )
    assert utf16.status_code == 415
    assert utf16.json()["message"] == "charset 'utf-16' is not supported; send UTF-8 JSON"
    ok = post(client, RECORD, **{"content-type": 'application/json; charset="UTF-8"'})
    assert ok.status_code == 200
    latin = post(client, RECORD.replace("c1", "c\u00e9").encode("latin-1"))
    assert latin.status_code == 400
    assert "request body is not valid JSON: it is not UTF-8 text" in latin.json()["message"]
    table = logged(logger)
    assert (
        table["request"][2] == '{"dataframe_records": [{"customer_id": "c\\xe9", "a": 1, "b": 2}]}'
    )


def test_deep_nesting_is_a_400(served):
    _, logger, client = served
    deep = "[" * 5000 + "]" * 5000
    bodies = [
        deep,
        '{"dataframe_split": {"columns": ["a", "b"], "data": ' + deep + "}}",
        '{"inputs": [{"a": ' + deep + ', "b": 1}]}',
        '{"inputs": [{"customer_id": ' + deep + ', "a": 1, "b": 1}]}',
    ]
    for body in bodies:
        r = post(client, body)
        assert r.status_code == 400, r.text
        assert r.json()["message"].startswith("request body nests JSON arrays or objects too deep")
    under = "[" * 900 + "]" * 900  # the parser takes it: the checks must not recurse either
    cell = post(client, '{"inputs": [{"a": ' + under + ', "b": 1}]}')
    assert cell.status_code == 400
    assert cell.json()["message"] == f"column 'a' must be double: row 0 has {'[' * 80} (array)"
    key = post(client, '{"inputs": [{"customer_id": ' + under + ', "a": 1, "b": 1}]}')
    assert key.json()["message"] == (
        "column 'customer_id' must be a string or a number: row 0 has a JSON array"
    )
    assert logged(logger)["status_code"].to_list() == [400] * 6


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("Infinity", "inf"),
        ("-Infinity", "-inf"),
        ("NaN", "nan"),
        ("1e400", "inf"),
        ("-1e999", "-inf"),
    ],
)
def test_non_finite_numbers_are_a_400_naming_column_and_row(served, value, shown):
    _, _, client = served
    r = post(client, '{"inputs": [{"a": 1, "b": 2}, {"a": 1, "b": ' + value + "}]}")
    assert r.status_code == 400 and r.json()["error_code"] == "BAD_REQUEST"
    assert r.json()["message"] == (
        f"column 'b' must be a finite double: row 1 has {shown} (NaN, Infinity or a number "
        "beyond the range); send null for a missing value"
    )


def test_null_is_a_missing_value_for_the_model(served):
    holder, _, client = served
    holder.current = model("2")
    r = post(client, '{"inputs": [{"a": 1, "b": null}]}')
    assert r.status_code == 200 and r.json() == {"predictions": [None]}  # a + NaN: the stand-in


def test_a_non_ascii_authorization_header_is_401(served):
    _, _, client = served
    for value in (
        b"Bearer \xff\xfe",
        "Bearer s3cr\u00e9t".encode(),
        b"\xe9 s3cret",
        b"Bearer s3cret\xa0",  # a trailing no-break space byte is not whitespace of the header
    ):
        headers = {"Authorization": value}
        r = client.post("/invocations", content=RECORD.encode(), headers=headers)
        assert r.status_code == 401 and r.json()["error_code"] == "UNAUTHENTICATED"
        assert client.get("/version", headers=headers).status_code == 401
    unicode_token = TestClient(
        create_app(Holder(model("1")), None, ServingOptions(token="s3cr\u00e9t"))
    )
    right = {"Authorization": "Bearer s3cr\u00e9t".encode()}
    assert unicode_token.get("/version", headers=right).status_code == 200


def test_413_and_500_rows_keep_the_body_cut_to_the_documented_size(served, tmp_path):
    holder, logger, client = served
    small = '{"inputs": [' + ",".join(['{"a": 1, "b": 2}'] * 4) + "]}"  # 4 rows > 3
    big = '{"inputs": [' + ",".join(['{"a": 1, "b": 2}'] * 15_000) + "]}"  # over 200 kB
    streamed = iter([big.encode()[:150_000], big.encode()[150_000:]])  # no Content-Length
    assert post(client, small).status_code == 413
    assert post(client, big).status_code == 413
    assert client.post("/invocations", content=streamed).status_code == 413

    class Broken:  # a model object the server cannot use: its own error, a 500
        name, version, alias = "churn_predictor", "9", "champion"

        @property
        def spec(self):
            raise RuntimeError("broken spec")

    holder.current = Broken()
    failed = post(client, RECORD)
    assert failed.status_code == 500
    assert failed.json()["message"] == "RuntimeError: broken spec"
    table = logged(logger)
    assert table["status_code"].to_list() == [413, 413, 413, 500]
    assert table["request"][0] == small and table["request"][3] == RECORD
    assert table["request"][1] == big[:LOGGED_ERROR_BYTES]
    assert table["request"][2] == big[:LOGGED_ERROR_BYTES]
    assert table["request_bytes"].to_list()[:2] == [len(small), len(big)]
    assert table["request_bytes"][2] > 200_000  # what was read before the limit stopped it
    assert table["request_bytes"][3] == len(RECORD)
    assert table["request_truncated"].to_list() == [False, True, True, False]
    assert LOGGED_ERROR_BYTES == 64 * 1024  # the size the README documents


def test_openapi_document_has_the_request_and_answer_schemas(served):
    _, _, client = served
    doc = TestClient(client.app).get("/openapi.json").json()  # no token needed
    post_op = doc["paths"]["/invocations"]["post"]
    ref = post_op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/ScoringRequest"
    answers = {
        k: v["content"]["application/json"]["schema"]["$ref"]
        for k, v in post_op["responses"].items()
    }
    assert answers == {
        "200": "#/components/schemas/Predictions",
        **{
            s: "#/components/schemas/ErrorAnswer"
            for s in ("400", "401", "413", "415", "500", "503")
        },
    }
    schemas = doc["components"]["schemas"]
    assert schemas["ErrorAnswer"]["required"] == ["error_code", "message", "request_id"]

    def check(name: str, instance) -> None:
        jsonschema.validate(instance, {"$ref": f"#/components/schemas/{name}", **doc})

    for body in (
        {"dataframe_records": [{"a": 1, "b": 2}]},
        {"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2]]}},
        {"inputs": [{"a": 1, "b": 2}]},
        {"inputs": {"a": [1], "b": [2]}},
    ):
        check("ScoringRequest", body)
        r = client.post("/invocations", json=body)
        assert r.status_code == 200
        check("Predictions", r.json())
    for body in ({"records": []}, {"inputs": 3}, {"dataframe_split": {"columns": ["a"]}}):
        with pytest.raises(jsonschema.ValidationError):
            check("ScoringRequest", body)
        r = client.post("/invocations", json=body)
        assert r.status_code == 400
        check("ErrorAnswer", r.json())
