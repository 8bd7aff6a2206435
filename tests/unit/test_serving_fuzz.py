"""Property-based: hostile and careless requests against the real app with a real registered
model and a real inference logger. Never a 5xx (the model is loaded), and exactly one payload row
per request and one inference row per prediction of a 200, all read back from Delta."""

from __future__ import annotations

import json
from collections import Counter

import polars as pl
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mlplatform.serving.app import ServingOptions, create_app
from mlplatform.serving.inference import unpack
from mlplatform.serving.logger import InferenceLogger
from mlplatform.serving.model_holder import load_version
from tests.serving_models import FEATURES, MODEL_NAME, register_version, served_model

TOKEN = "s3cret"
SEEN: Counter = Counter()
SENT: list[int] = []


class Holder:
    name, alias, last_error = MODEL_NAME, "champion", None

    def __init__(self, current):
        self.current = current


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    import mlflow

    root = tmp_path_factory.mktemp("fuzz")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    version = register_version(uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    holder = Holder(load_version(MODEL_NAME, str(version), "champion"))
    logger = InferenceLogger(root / "payload", flush_rows=100_000, flush_seconds=3600)
    logger.start()
    opts = ServingOptions(
        max_batch_rows=20, max_body_bytes=20_000, token=TOKEN, id_columns=("customer_id",)
    )
    yield TestClient(create_app(holder, logger, opts)), logger
    logger.close()
    mlflow.set_tracking_uri(None)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)
# numbers as raw JSON text: what json.dumps cannot write (non-finite, beyond double, odd forms)
odd_numbers = st.sampled_from(
    [
        "Infinity",
        "-Infinity",
        "NaN",
        "1e400",
        "-1e999",
        "1e-400",
        "0",
        "-0.0",
        "12",
        "3.5e2",
        "null",
    ]
)
cells = st.one_of(
    odd_numbers,
    st.floats(allow_nan=False, allow_infinity=False).map(json.dumps),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    json_values.map(json.dumps),
    st.sampled_from(['"\\ud800"', '"\\udfff"', '"\\ud83d\\ude00"', "[" * 3000 + "]" * 3000]),
)
ids = st.sampled_from(range(10)).flatmap(
    lambda k: (
        (st.text(max_size=10) | st.integers() | st.none())
        if k < 9
        else st.sampled_from(['"\\ud800"', '"a\\udc00b"', "[[1]]", '{"k": 1}'])
    )
)


@st.composite
def records(draw) -> str:
    """A dataframe_records/inputs/dataframe_split body over the model's columns, cells odd."""
    n = draw(st.integers(min_value=1, max_value=4))  # 0 rows: among the arbitrary JSON
    columns = list(FEATURES)
    if draw(st.booleans()):
        columns.append("customer_id")
    if draw(st.integers(0, 19)) == 0:
        columns.pop(draw(st.integers(0, len(columns) - 1)))
    rows = []
    for _ in range(n):
        row = {}
        for c in columns:
            if c == "customer_id":
                value = draw(ids)
                row[c] = (
                    value if isinstance(value, str) and value[:1] in '"[{' else json.dumps(value)
                )
            else:
                row[c] = (
                    draw(cells)
                    if draw(st.integers(0, 5)) == 0
                    else json.dumps(draw(st.floats(0, 100)))
                )
        rows.append(row)
    form = draw(st.sampled_from(["dataframe_records", "inputs", "dataframe_split"]))
    if form == "dataframe_split":
        data = ",".join("[" + ",".join(r[c] for c in columns) + "]" for r in rows)
        return f'{{"dataframe_split": {{"columns": {json.dumps(columns)}, "data": [{data}]}}}}'
    objs = ",".join("{" + ",".join(f"{json.dumps(c)}: {r[c]}" for c in columns) + "}" for r in rows)
    return f'{{"{form}": [{objs}]}}'


bodies = st.one_of(
    records().flatmap(
        lambda text: st.sampled_from(
            ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-be"]
        ).map(lambda enc: text.encode(enc))
    ),
    records().map(str.encode),
    records().map(str.encode),
    records().map(str.encode),
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    json_values.map(lambda v: json.dumps({"inputs": v}).encode()),
    st.integers(1, 6000).map(lambda d: ("[" * d + "]" * d).encode()),
    st.integers(1, 6000).map(
        lambda d: ('{"inputs": [{"avg_amount": ' + "[" * d + "]" * d + "}]}").encode()
    ),
)
header_bytes = st.binary(max_size=20).filter(lambda b: not set(b) & set(b"\r\n\x00"))
GOOD_AUTH = [f"Bearer {TOKEN}".encode(), f"bearer  {TOKEN} ".encode()]
# mostly the right token and a JSON content type, so that most bodies reach the parser
BAD_AUTH = header_bytes.map(lambda b: b"Bearer " + b) | header_bytes
BAD_CTYPE = st.sampled_from(
    ["application/json; charset=latin-1", "text/plain", "application/json; a=\xe9"]
)
# mostly the right token and a JSON content type (sampled_from shrinks towards its first
# elements), so that most bodies reach the parser
auth = st.sampled_from([*GOOD_AUTH * 4, None]).flatmap(
    lambda good: st.just(good) if good is not None else BAD_AUTH
)
content_types = st.sampled_from(
    [None, "application/json", "application/json; charset=utf-8"] * 3 + ["bad"]
).flatmap(lambda c: BAD_CTYPE if c == "bad" else st.just(c))


# found by this test: finite values the model's scaler overflows on are the client's (a 400)
OVERFLOWING = json.dumps(
    {"dataframe_records": [{**dict.fromkeys(FEATURES, 0.0), "share_purchase": 2.9235e307}]}
).encode()


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@example(body=OVERFLOWING, authorization=b"Bearer s3cret", ctype=None, client_id=None)
@given(body=bodies, authorization=auth, ctype=content_types, client_id=st.none() | header_bytes)
def test_never_a_5xx_and_every_200_is_one_row_per_prediction(
    served, body, authorization, ctype, client_id
):
    client, _ = served
    headers = {"Authorization": authorization}
    if ctype is not None:
        headers["Content-Type"] = ctype.encode("latin-1")
    if client_id is not None:
        headers["X-Client-Request-Id"] = client_id
    r = client.post("/invocations", content=body, headers=headers)
    version = client.get("/version", headers={"Authorization": authorization})
    scheme, _, value = authorization.partition(b" ")
    right = scheme.lower() == b"bearer" and value.strip(b" \t") == TOKEN.encode()
    assert version.status_code == (200 if right else 401)
    if not right:
        assert r.status_code == 401
    assert r.status_code < 500, (body[:300], r.text[:500])
    answer = r.json()
    if r.status_code == 200:
        assert all(p is None or 0 <= p <= 1 for p in answer["predictions"])  # probabilities
        SENT.append(len(answer["predictions"]))
    else:
        assert answer["error_code"] and answer["message"] and answer["request_id"]
        SENT.append(-1)
    SEEN[r.status_code] += 1


def test_the_log_holds_every_request_and_unpacks_every_200(served):
    _, logger = served
    assert len(SENT) >= 200, "runs after the property test"
    assert logger.close() == 0
    table = pl.read_delta(str(logger.path))
    assert table.height == len(SENT)
    assert Counter(table["status_code"].to_list()) == SEEN
    frame, counts = unpack(table, served_model())
    assert counts["unreadable_requests"] == 0
    assert counts["unpacked_requests"] == SEEN[200]
    assert frame.height == sum(n for n in SENT if n >= 0)
    print(
        f"\nfuzzed /invocations: {len(SENT)} requests, status counts {dict(sorted(SEEN.items()))}"
    )
