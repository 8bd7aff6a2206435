"""Promotion, rollback and their audit trail against a real (sqlite) MLflow registry."""

import json

import pytest
from mlflow import MlflowClient

from mlplatform.training import registry
from mlplatform.training.registry import (
    CHAMPION,
    PREVIOUS_CHAMPION,
    RegistryError,
    alias_version,
    promote,
    rollback,
)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> MlflowClient:
    uri = f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


@pytest.fixture
def model(store, request, tmp_path) -> str:
    """A registered model with versions 1..3 (no artifacts needed for alias moves)."""
    name = f"m_{request.node.name}"[:60]
    store.create_registered_model(name)
    for _ in range(3):
        store.create_model_version(name, source=tmp_path.as_uri())
    return name


def aliases(store: MlflowClient, name: str) -> dict[str, int]:
    return {a: int(v) for a, v in store.get_registered_model(name).aliases.items()}


def test_first_promotion_sets_champion_only(store, model):
    move = promote(store, 1, "ana", "first model", name=model)
    assert (move.champion, move.replaced, move.previous_champion) == (1, None, None)
    assert aliases(store, model) == {CHAMPION: 1}
    tags = store.get_model_version(model, "1").tags
    assert tags["audit.promoted_by"] == "ana"
    assert tags["audit.promoted_reason"] == "first model"
    assert tags["audit.promoted_at"].endswith("+00:00")
    assert tags[registry.REPLACED_TAG] == ""
    assert [e["action"] for e in json.loads(tags[registry.AUDIT_LOG_TAG])] == ["promoted"]


def test_promotion_keeps_previous_champion_and_audits_both(store, model):
    promote(store, 1, "ana", "first", name=model)
    move = promote(store, 2, "bob", "better auc", name=model)
    assert (move.champion, move.replaced, move.previous_champion) == (2, 1, 1)
    assert aliases(store, model) == {CHAMPION: 2, PREVIOUS_CHAMPION: 1}
    v1, v2 = (store.get_model_version(model, v).tags for v in ("1", "2"))
    assert v1["audit.demoted_by"] == "bob" and v1["audit.demoted_reason"] == "better auc"
    assert v2[registry.REPLACED_TAG] == "1"
    log = json.loads(v1[registry.AUDIT_LOG_TAG])
    assert [(e["action"], e["by"]) for e in log] == [("promoted", "ana"), ("demoted", "bob")]


def test_promoting_the_champion_again_changes_nothing(store, model):
    promote(store, 1, "ana", "first", name=model)
    move = promote(store, 1, "ana", "again", name=model)
    assert not move.changed
    assert aliases(store, model) == {CHAMPION: 1}
    assert store.get_model_version(model, "1").tags["audit.promoted_reason"] == "first"


def test_unknown_version_fails_clearly_and_changes_nothing(store, model):
    promote(store, 1, "ana", "first", name=model)
    before = store.get_model_version(model, "1").tags
    with pytest.raises(RegistryError, match=r"unknown version 7 .*registered versions: 1, 2, 3"):
        promote(store, 7, "ana", "typo", name=model)
    assert aliases(store, model) == {CHAMPION: 1}
    assert store.get_model_version(model, "1").tags == before


def test_rollback_restores_previous_champion_and_walks_back(store, model):
    promote(store, 1, "ana", "first", name=model)
    promote(store, 2, "ana", "second", name=model)
    promote(store, 3, "ana", "third", name=model)
    assert aliases(store, model) == {CHAMPION: 3, PREVIOUS_CHAMPION: 2}
    move = rollback(store, "cy", "v3 misbehaves", name=model)
    assert (move.champion, move.replaced, move.previous_champion) == (2, 3, 1)
    assert aliases(store, model) == {CHAMPION: 2, PREVIOUS_CHAMPION: 1}
    v3 = store.get_model_version(model, "3").tags
    assert v3["audit.rolled_back_by"] == "cy"
    assert v3["audit.rolled_back_reason"] == "v3 misbehaves"
    assert store.get_model_version(model, "2").tags["audit.restored_by"] == "cy"
    move = rollback(store, "cy", "v2 too", name=model)
    assert (move.champion, move.previous_champion) == (1, None)
    assert aliases(store, model) == {CHAMPION: 1}
    with pytest.raises(RegistryError, match="nothing to roll back to"):
        rollback(store, "cy", "again", name=model)
    assert aliases(store, model) == {CHAMPION: 1}


def test_rollback_without_champion_fails(store, model):
    with pytest.raises(RegistryError, match="has no champion"):
        rollback(store, "cy", "why not", name=model)
    assert aliases(store, model) == {}


def test_alias_version_of_missing_model_is_none(store):
    assert alias_version(store, CHAMPION, name="never_registered") is None
    assert registry.version_numbers(store, name="never_registered") == []


def test_audit_log_stays_under_the_tag_limit(store, model):
    for i in range(30):
        promote(store, 1 + i % 2, "ana", "x" * 200, name=model)
    log = json.loads(store.get_model_version(model, "1").tags[registry.AUDIT_LOG_TAG])
    assert 1 <= len(log) <= 20
    assert len(json.dumps(log)) <= 5000
