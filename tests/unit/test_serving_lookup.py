"""Key-only scoring: features looked up in the online store (a real SQLite store and a real
registered model version with a feature spec), equal to scoring with the same features sent."""

import json
import time
from datetime import UTC, datetime

import polars as pl
import pytest
from customer_churn.tables import FEATURES, GOLD_NUMERIC_FEATURES, ONLINE_CUSTOMER_ML_FEATURES
from fastapi.testclient import TestClient
from mlflow import MlflowClient

from mlplatform.catalog import payload_table
from mlplatform.feature_store.online import OnlineStore
from mlplatform.feature_store.spec import FeatureSpec
from mlplatform.serving.app import ServingOptions, create_app
from mlplatform.serving.inference import InferenceTable
from mlplatform.serving.logger import InferenceLogger
from mlplatform.serving.lookup import OnlineFeatures
from mlplatform.serving.model_holder import ModelHolder
from mlplatform.settings import get_settings
from mlplatform.training.store import ensure_embedded_store
from tests.feature_store_data import append_silver, events
from tests.serving_models import MODEL_NAME, register_version, served_model, set_champion
from tests.unit.test_online_store import publish, refresh

ONLINE_TABLE = ONLINE_CUSTOMER_ML_FEATURES.name
payload_path = payload_table("churn_predictor").path

SILVER = events(
    ("c1", "purchase", 10.0, "2026-10-01T10:00:00"),
    ("c1", "support_ticket", 30.0, "2026-10-03T05:00:00"),
    ("c2", "page_view", 4.0, "2026-10-02T09:00:00"),
)
SPEC = FeatureSpec(
    table="gold/customer_ml_features_history",
    lookup_key="customer_id",
    timestamp_lookup_key="label_timestamp",
    feature_names=[*GOLD_NUMERIC_FEATURES, "last_event_at"],
    table_version=0,
    derived={"recency_days": "last_event_at"},
)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("lookup")
    mp = pytest.MonkeyPatch()
    mp.setenv("MLPLATFORM_HOME", str(home))
    mp.delenv("MLFLOW_TRACKING_URI", raising=False)
    mp.delenv("MLPLATFORM_ONLINE_STORE_URI", raising=False)
    settings = get_settings()
    append_silver(settings, SILVER)
    refresh(settings)
    publish(settings)
    ensure_embedded_store(settings)
    with_spec = register_version(settings.tracking_uri)
    without_spec = register_version(settings.tracking_uri, seed=1)
    client = MlflowClient(tracking_uri=settings.tracking_uri, registry_uri=settings.tracking_uri)
    for key, value in SPEC.tags().items():
        client.set_model_version_tag(MODEL_NAME, str(with_spec), key, value)
    set_champion(settings.tracking_uri, with_spec)
    holder = ModelHolder(settings, poll_seconds=3600, name=MODEL_NAME)
    assert holder.refresh() and holder.current.feature_spec == SPEC
    logger = InferenceLogger(payload_path(settings), flush_rows=1, flush_seconds=0.05)
    logger.start()
    store = OnlineStore.from_settings(settings)
    opts = ServingOptions(id_columns=("customer_id",))
    app = create_app(holder, logger, opts, features=OnlineFeatures(store, ONLINE_TABLE))
    yield settings, TestClient(app), holder, logger, (with_spec, without_spec, client)
    logger.close()
    store.close()
    mp.undo()


def score(client, records):
    return client.post("/invocations", json={"dataframe_records": records})


def logged(logger) -> pl.DataFrame:
    """The payload table once the logger has committed every request so far."""
    deadline = time.monotonic() + 30
    while logger.pending or logger.stats.written < logger.stats.logged:
        assert time.monotonic() < deadline, "the inference logger did not commit"
        time.sleep(0.02)
    return pl.read_delta(str(logger.path)).sort("timestamp")


def test_key_only_scoring_equals_scoring_with_the_same_features_sent(server):
    settings, client, _, logger, _ = server
    before = datetime.now(UTC).replace(tzinfo=None)
    r = score(client, [{"customer_id": "c1"}, {"customer_id": "c2"}])
    assert r.status_code == 200, r.text
    key_only = r.json()["predictions"]
    served = json.loads(logged(logger)["served_features"].drop_nulls()[-1])
    assert served["features_from"] == ["online", "online"]
    sent = served["columns"]
    assert list(sent) == FEATURES
    assert sent["total_events"] == [2, 1] and sent["total_spend"] == [40.0, 4.0]
    assert sent["share_support_ticket"] == [0.5, 0.0]
    expected_recency = (before - datetime(2026, 10, 3, 5)).total_seconds() / 86400
    assert sent["recency_days"][0] == pytest.approx(expected_recency, abs=0.01)
    records = [
        {"customer_id": c, **{f: sent[f][i] for f in FEATURES}} for i, c in enumerate(["c1", "c2"])
    ]
    full = score(client, records)
    assert full.status_code == 200 and full.json()["predictions"] == key_only


def test_payload_features_win_and_the_row_is_mixed(server):
    _, client, _, logger, _ = server
    r = score(client, [{"customer_id": "c1", "total_events": 500}, {"customer_id": "c2"}])
    assert r.status_code == 200
    served = json.loads(logged(logger)["served_features"].drop_nulls()[-1])
    assert served["features_from"] == ["mixed", "online"]
    assert served["columns"]["total_events"] == [500, 1]


def test_unknown_keys_fail_the_request_with_features_not_found(server):
    _, client, _, _, _ = server
    r = score(client, [{"customer_id": "c1"}, {"customer_id": "nope"}, {"customer_id": 42}])
    assert r.status_code == 400
    body = r.json()
    assert body["error_code"] == "FEATURES_NOT_FOUND"
    assert body["missing_keys"] == ["42", "nope"]
    assert "customer_id 42, nope" in body["message"]
    # a row that carries every feature needs no lookup, known key or not
    full = {f: 1.0 for f in FEATURES}
    assert score(client, [{"customer_id": "nope", **full}]).status_code == 200
    # no key and no features: the usual missing-feature answer
    r = score(client, [{"total_events": 1.0}])
    assert r.status_code == 400 and r.json()["error_code"] == "BAD_REQUEST"
    assert "missing feature" in r.json()["message"]


def test_a_version_without_a_feature_spec_keeps_the_missing_feature_answer(server):
    settings, client, holder, _, (_, without_spec, mlflow_client) = server
    set_champion(settings.tracking_uri, without_spec)
    try:
        assert holder.refresh() and holder.current.feature_spec is None
        r = score(client, [{"customer_id": "c1"}])
        assert r.status_code == 400 and "missing feature" in r.json()["message"]
    finally:
        set_champion(settings.tracking_uri, 1)
        holder.refresh()


def test_the_inference_table_records_the_scored_features_and_their_source(server):
    settings, client, _, logger, _ = server
    assert score(client, [{"customer_id": "c2"}]).status_code == 200
    full = {f: 2.0 for f in FEATURES}
    assert score(client, [{"customer_id": "c1", **full}]).status_code == 200
    logged(logger)
    InferenceTable(settings, served_model()).run()
    rows = pl.read_delta(str(settings.table_path("serving", "churn_predictor_inference")))
    last = rows.sort("timestamp").tail(2)
    assert last["features_from"].to_list() == ["online", "request"]
    assert last["total_spend"].to_list() == [4.0, 2.0]
    assert last["recency_days"][0] > 50  # measured at the request time, from 2026-10-02
    assert set(rows["features_from"]) <= {"online", "mixed", "request"}
