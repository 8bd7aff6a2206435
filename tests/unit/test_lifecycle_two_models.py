"""The generic model lifecycle with two declared models side by side: a classifier and a
regressor trained, evaluated and promoted on a real MLflow sqlite store and a real Dagster
instance. Promoting one never touches the other's aliases; names never collide."""

import dagster as dg
import numpy as np
import polars as pl
import pytest

from mlplatform.catalog import PROMOTE, SKIP, Table
from mlplatform.settings import get_settings
from mlplatform.training import registry
from mlplatform.training.definitions import lifecycle_definitions
from mlplatform.training.evaluate import Thresholds, decide
from mlplatform.training.lifecycle import RMSE, Gate, ModelLifecycle
from tests.platform_resources import platform_resources

FEATURES = ("x1", "x2")
CLASSIFIER = ModelLifecycle(
    registered_model="buyer_predictor",
    asset_name="buyer_model",
    training_set=Table("ml", "buyer_training_set"),
    label="bought",
    features=FEATURES,
    entity_key="user_id",
    problem_type="classification",
    gate=Gate(threshold=0.6, min_improvement=None, floor=0.55),
)
REGRESSOR = ModelLifecycle(
    registered_model="basket_predictor",
    asset_name="basket_model",
    training_set=Table("ml", "basket_training_set"),
    label="basket",
    features=FEATURES,
    entity_key="user_id",
    problem_type="regression",
    gate=Gate(threshold=5.0, min_improvement=None, floor=8.0),
)


def write_training_sets(settings, seed: int) -> None:
    """400 users with two non-negative features (counts, amounts: what the default estimators'
    log1p expects); `bought` and `basket` depend on them (learnable)."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.exponential(size=(2, 400))
    bought = (np.log1p(x1) + 0.3 * rng.normal(size=400) > 0.6).astype(np.int64)
    basket = 10 + 3 * np.log1p(x1) - 2 * np.log1p(x2) + rng.normal(scale=0.5, size=400)
    users = [f"u{i}" for i in range(400)]
    common = {"user_id": users, "x1": x1, "x2": x2}
    for table, label, values in (
        (CLASSIFIER.training_set, "bought", bought),
        (REGRESSOR.training_set, "basket", basket),
    ):
        store = table.store(settings)
        store.write(
            pl.DataFrame({**common, label: values}), store.committed_batch() + 1, "overwrite"
        )


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("MLPLATFORM_HOME", str(tmp_path))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return get_settings()


def defs_of(*lifecycles) -> dg.Definitions:
    parts = [lifecycle_definitions(lc).definitions() for lc in lifecycles]
    sources = [dg.AssetSpec(lc.training_set.asset_key) for lc in lifecycles]
    base = dg.Definitions(assets=sources, resources=platform_resources())
    return dg.Definitions.merge(base, *parts)


def test_every_name_comes_from_the_declaration_and_none_collides():
    repo = defs_of(CLASSIFIER, REGRESSOR).get_repository_def()
    jobs = {j.name for j in repo.get_all_jobs()} - {"__ASSET_JOB"}
    assert jobs == {
        "buyer_model_training_job",
        "promote_buyer_model",
        "basket_model_training_job",
        "promote_basket_model",
    }
    assert {s.name for s in repo.sensor_defs} == {
        "promote_buyer_model_sensor",
        "promote_basket_model_sensor",
    }
    assert {s.name for s in repo.schedule_defs} == {
        "buyer_model_training_daily",
        "basket_model_training_daily",
    }
    graph = repo.asset_graph
    checks = {k.to_user_string() for k in graph.asset_check_keys}
    assert "ml/buyer_model:roc_auc_above_floor" in checks
    assert "ml/basket_model:rmse_below_ceiling" in checks
    training = repo.get_job("basket_model_training_job")
    selected = {k.to_user_string() for k in training.asset_layer.selected_asset_keys}
    assert selected == {"ml/basket_model", "ml/basket_model_evaluation"}  # the set: a source
    assert training.tags["mlplatform/model"] == "basket_predictor"


def test_the_regression_gate_is_a_maximum_and_improvement_means_lower():
    bar = Thresholds(threshold=5.0, min_improvement=0.5, metric="rmse", greater_is_better=False)
    first = decide(1, 4.0, None, None, bar)
    assert first.decision == PROMOTE
    assert first.reasons == ["no champion yet; rmse 4.0000 <= maximum 5.0"]
    assert decide(1, 6.0, None, None, bar).decision == SKIP
    better = decide(2, 3.0, 1, 4.0, bar)
    assert better.decision == PROMOTE and better.improvement == pytest.approx(1.0)
    assert decide(2, 3.8, 1, 4.0, bar).decision == SKIP  # better, but by less than 0.5
    assert decide(2, 4.5, 1, 4.0, bar).decision == SKIP  # worse
    assert Thresholds(5.0, None, "rmse", False).as_dict() == {
        "max_rmse": 5.0,
        "min_improvement": None,
    }


def test_rmse_metric_is_root_mean_squared_error():
    assert RMSE.score(np.array([1.0, 3.0]), np.array([2.0, 1.0])) == pytest.approx(np.sqrt(2.5))
    assert RMSE.greater_is_better is False


def promote_via_sensor(defs, lc, instance) -> dg.RunRequest | str:
    sensor = defs.get_repository_def().get_sensor_def(lc.sensor_name)
    tick = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, definitions=defs))
    if not tick.run_requests:
        return tick.skip_message
    (request,) = tick.run_requests
    result = defs.resolve_job_def(lc.promote_job_name).execute_in_process(
        run_config=request.run_config, instance=instance, tags=request.tags
    )
    assert result.success
    return request


def aliases(client, lc) -> dict[str, int | None]:
    name = lc.registered_model
    return {
        a: registry.alias_version(client, a, name)
        for a in (registry.CHALLENGER, registry.CHAMPION, registry.PREVIOUS_CHAMPION)
    }


def runnable(*lifecycles) -> list:
    """The model and evaluation assets and the checks of `lifecycles`."""
    built = [lifecycle_definitions(lc) for lc in lifecycles]
    return [x for b in built for x in (*b.assets, b.checks)]


def test_two_models_train_evaluate_and_promote_apart(home):
    defs = defs_of(CLASSIFIER, REGRESSOR)
    client = registry.client(home)
    write_training_sets(home, seed=0)
    with dg.instance_for_test() as instance:
        # the regressor alone first: the classifier's registry entry does not even exist
        result = dg.materialize(
            runnable(REGRESSOR), instance=instance, resources=platform_resources()
        )
        assert result.success
        meta = result.asset_materializations_for_node("ml__basket_model")[0].metadata
        assert meta["model_name"].value == "basket_predictor"
        assert meta["holdout_rmse"].value < 1.5  # noise 0.5: the linear signal is learnt
        evaluation = result.asset_materializations_for_node("ml__basket_model_evaluation")[0]
        assert evaluation.metadata["decision"].value == PROMOTE
        assert evaluation.metadata["thresholds"].value == {"max_rmse": 5.0, "min_improvement": None}
        checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
        assert checks == {
            "rmse_below_ceiling": True,
            "no_nan_predictions": True,
            "signature_matches_gold_schema": True,
        }
        request = promote_via_sensor(defs, REGRESSOR, instance)
        assert request.run_config["ops"]["promote_basket_model_champion"]["config"]["version"] == 1
        assert aliases(client, REGRESSOR) == {
            "challenger": 1,
            "champion": 1,
            "previous_champion": None,
        }
        assert registry.version_numbers(client, CLASSIFIER.registered_model) == []

        # both models, twice: the classifier's promotions move only its own aliases
        for _ in (1, 2):
            result = dg.materialize(
                runnable(CLASSIFIER, REGRESSOR), instance=instance, resources=platform_resources()
            )
            assert result.success
            assert not isinstance(promote_via_sensor(defs, CLASSIFIER, instance), str)
        assert aliases(client, CLASSIFIER) == {
            "challenger": 2,
            "champion": 2,
            "previous_champion": 1,
        }
        # the regressor trained twice more (versions 2, 3): its champion stays until its sensor
        assert aliases(client, REGRESSOR)["champion"] == 1
        assert aliases(client, REGRESSOR)["challenger"] == 3
        registry.rollback(client, "test", "back", CLASSIFIER.registered_model)
        assert aliases(client, CLASSIFIER)["champion"] == 1
        assert aliases(client, REGRESSOR) == {
            "challenger": 3,
            "champion": 1,
            "previous_champion": None,
        }
