"""Model lifecycle end to end: the real `dagster` and `mlplatform` CLIs on a small demo dataset.

Three training runs through `dagster job execute`: a first model becomes champion, a deliberately
worse one is evaluated `skip` (the sensor does not launch promotion), a better one is promoted.
The sensor runs with `build_sensor_context` on the runs' real instance; the run it requests is
executed on that instance with its run config and tags, as the daemon would launch it.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from customer_churn.assets import table_assets
from customer_churn.demo_data import generate
from customer_churn.feature_assets import feature_store_assets
from customer_churn.gold_source import truth_propensity
from customer_churn.models import CHURN
from dagster._core.instance.ref import InstanceRef

from mlplatform.settings import Settings, get_settings
from mlplatform.training import evaluate, registry
from mlplatform.training.data import load_model_data
from mlplatform.training.evaluate import roc_auc
from mlplatform.training.model import Hyperparameters, train
from tests.platform_resources import platform_resources

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
MEDIUM = ["total_events", "avg_amount", "share_support_ticket"]
WORSE = ["total_events"]


def cli_env(home: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("MLFLOW_TRACKING_URI", "MLPLATFORM_ENV", "MLPLATFORM_ENGINE")
    }
    dagster_home = home / "dagster"
    dagster_home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REPO / "dagster.yaml", dagster_home / "dagster.yaml")
    return env | {"MLPLATFORM_HOME": str(home), "DAGSTER_HOME": str(dagster_home)}


def run(args: list[str], env: dict, cwd: Path, check: bool = True):
    done = subprocess.run(
        [str(BIN / args[0]), *args[1:]],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"{args} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


def train_via_cli(home: Path, env: dict, features: list[str]) -> None:
    config = home / "train.json"
    config.write_text(json.dumps({"ops": {"ml__churn_model": {"config": {"features": features}}}}))
    run(
        [
            "dagster",
            "job",
            "execute",
            "-m",
            "mlplatform.definitions",
            "-j",
            "ml_training_job",
            "-c",
            str(config),
        ],
        env,
        home,
    )


def latest_metadata(instance: dg.DagsterInstance, key: list[str]) -> dict:
    event = instance.get_latest_materialization_event(dg.AssetKey(key))
    return {k: v.value for k, v in event.asset_materialization.metadata.items()}


def registry_state(client) -> dict:
    model = client.get_registered_model(CHURN.registered_model)
    return {
        "versions": registry.version_numbers(client, CHURN.registered_model),
        "aliases": {a: int(v) for a, v in model.aliases.items()},
    }


@pytest.fixture(scope="module")
def cycle(tmp_path_factory):
    """Train three times, evaluating the sensor after each run; record what happened."""
    home = tmp_path_factory.mktemp("lifecycle")
    env = cli_env(home)
    run(
        ["mlplatform", "demo-data", "--customers", "3000", "--events", "90000", "--files", "3"],
        env,
        home,
    )
    from mlplatform.definitions import defs

    promote_model_sensor = defs.get_repository_def().get_sensor_def("promote_model_sensor")
    mp = pytest.MonkeyPatch()
    mp.setenv("MLPLATFORM_HOME", str(home))
    mp.setenv("DAGSTER_HOME", env["DAGSTER_HOME"])
    mp.delenv("MLFLOW_TRACKING_URI", raising=False)
    client = registry.client()
    instance = dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home / "dagster")))
    steps, cursor = [], None
    for features in (MEDIUM, WORSE, []):
        train_via_cli(home, env, features)
        evaluation = latest_metadata(instance, ["ml", "churn_model_evaluation"])
        context = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs)
        tick = promote_model_sensor.evaluate_tick(context)
        cursor = tick.cursor
        for request in tick.run_requests:  # launched as the daemon would, on the same instance
            promoted = defs.resolve_job_def("promote_model").execute_in_process(
                run_config=request.run_config, instance=instance, tags=request.tags
            )
            assert promoted.success
        steps.append(
            {
                "evaluation": evaluation,
                "tick": tick,
                "registry": registry_state(client),
                "model": latest_metadata(instance, ["ml", "churn_model"]),
            }
        )
    yield {"home": home, "env": env, "client": client, "steps": steps}
    mp.undo()
    instance.dispose()


def test_first_model_becomes_champion(cycle):
    first = cycle["steps"][0]
    assert first["evaluation"]["decision"] == "promote"
    assert first["evaluation"]["challenger_version"] == 1
    assert first["evaluation"]["champion_version"] is None
    [request] = first["tick"].run_requests
    assert request.run_config["ops"]["promote_champion"]["config"]["version"] == 1
    assert first["registry"] == {"versions": [1], "aliases": {"champion": 1, "challenger": 1}}


def test_worse_model_is_skipped_and_not_promoted(cycle):
    second = cycle["steps"][1]
    evaluation = second["evaluation"]
    assert (
        evaluation["decision"],
        evaluation["challenger_version"],
        evaluation["champion_version"],
    ) == ("skip", 2, 1)
    assert evaluation["challenger_roc_auc"] < evaluation["champion_roc_auc"]
    assert second["tick"].run_requests == []
    assert second["tick"].skip_message.startswith("evaluation of version 2 decided 'skip'")
    assert second["registry"] == {"versions": [1, 2], "aliases": {"champion": 1, "challenger": 2}}
    tags = cycle["client"].get_model_version(CHURN.registered_model, "2").tags
    assert tags["evaluation.decision"] == "skip" and tags["evaluation.champion_version"] == "1"


def test_better_model_is_promoted_and_previous_champion_kept(cycle):
    third = cycle["steps"][2]
    evaluation = third["evaluation"]
    assert (
        evaluation["decision"],
        evaluation["challenger_version"],
        evaluation["champion_version"],
    ) == ("promote", 3, 1)
    assert evaluation["improvement"] >= 0.005
    assert third["registry"]["aliases"] == {"champion": 3, "challenger": 3, "previous_champion": 1}
    v3 = cycle["client"].get_model_version(CHURN.registered_model, "3").tags
    [request] = third["tick"].run_requests
    assert v3["audit.promoted_by"].startswith("dagster:")
    assert v3["audit.promoted_reason"] == (
        "evaluation decided promote over champion 1 (evaluation run "
        f"{request.tags['mlplatform/evaluation_run_id']})"
    )
    assert (
        cycle["client"].get_model_version(CHURN.registered_model, "1").tags["audit.demoted_by"]
        == v3["audit.promoted_by"]
    )


def test_version_tags_lead_to_the_exact_data(cycle):
    model = cycle["steps"][2]["model"]
    tags = cycle["client"].get_model_version(CHURN.registered_model, "3").tags
    assert tags["dagster_run_id"] and tags["git_commit"] and tags["as_of"] == model["as_of"]
    # the model trains on the point-in-time training set: its tags name that table's version
    # and the history version it was built from
    set_version = int(tags["delta_version.ml/churn_training_set"])
    assert set_version == model["delta_versions"]["ml/churn_training_set"]
    history_version = int(tags["delta_version.gold/customer_ml_features_history"])
    assert history_version == int(tags["feature_spec.table_version"])
    training_set = pl.read_delta(
        str(cycle["home"] / "lakehouse/ml/churn_training_set"), version=set_version
    )
    assert training_set.height == model["label_rows"]
    assert training_set["label_timestamp"].max().isoformat() == tags["as_of"]


def test_cli_promote_unknown_version_and_rollback(cycle):
    home, env, client = cycle["home"], cycle["env"], cycle["client"]
    before = registry_state(client)
    bad = run(["mlplatform", "promote", "--version", "99"], env, home, check=False)
    assert bad.returncode == 1
    assert "unknown version 99 of 'churn_predictor' (registered versions: 1, 2, 3)" in bad.stderr
    assert registry_state(client) == before
    done = run(["mlplatform", "rollback", "--reason", "v3 misbehaves"], env, home)
    assert "champion: version 1 (was version 3)" in done.stdout
    assert registry_state(client)["aliases"] == {"champion": 1, "challenger": 3}
    v3 = client.get_model_version(CHURN.registered_model, "3").tags
    assert v3["audit.rolled_back_reason"] == "v3 misbehaves"
    with pytest.raises(registry.RegistryError, match="nothing to roll back to"):
        registry.rollback(client, "test", "again", CHURN.registered_model)


def test_fresh_home_whole_graph_succeeds_without_a_model(tmp_path):
    env = cli_env(tmp_path)
    done = run(
        ["dagster", "asset", "materialize", "-m", "mlplatform.definitions", "--select", "*"],
        env,
        tmp_path,
    )
    output = done.stdout + done.stderr
    assert (
        "ml/churn_model not materialized: no labelled rows for churn_predictor in "
        "ml/churn_training_set" in output
    )
    assert 'Skipped execution of step "ml__churn_model_evaluation"' in output
    client = registry.client(Settings(home=tmp_path, env="dev", engine="polars"))
    assert registry.version_numbers(client, CHURN.registered_model) == []
    assert not (tmp_path / "mlruns").exists()


@pytest.fixture(scope="module")
def features_home(tmp_path_factory):
    """Demo data (10k customers, as an AUC test needs) pushed through bronze, silver, gold and
    the point-in-time training set (100 events a customer: the features at the first observation
    date see a third of them)."""
    home = tmp_path_factory.mktemp("auc")
    mp = pytest.MonkeyPatch()
    mp.setenv("MLPLATFORM_HOME", str(home))
    mp.delenv("MLFLOW_TRACKING_URI", raising=False)
    generate(home, customers=10_000, events=1_000_000, files=4, seed=7)
    with dg.instance_for_test() as instance:
        assets = [*table_assets, *feature_store_assets]
        assert dg.materialize(assets, instance=instance, resources=platform_resources()).success
        yield home, instance
    mp.undo()


def test_model_auc_is_within_003_of_the_generators_ceiling(features_home):
    settings = get_settings()
    data = load_model_data(settings, CHURN)
    assert data.counts["holdout_entities"] > 1_800
    hp = Hyperparameters.from_config({}, CHURN)  # the production defaults
    model = train(data, hp, list(hp.features))
    holdout = data.split(True)
    ceiling = roc_auc(
        holdout["churned"].to_numpy(), truth_propensity(settings, holdout["customer_id"])
    )
    auc = model.metrics["holdout_roc_auc"]
    print(f"holdout ROC AUC {auc:.4f}, ceiling {ceiling:.4f}, gap {ceiling - auc:.4f}")
    assert ceiling - auc <= 0.03


def test_failed_blocking_check_stops_evaluation_and_promotion(features_home, monkeypatch):
    import numpy as np

    from mlplatform.definitions import defs

    promote_model_sensor = defs.get_repository_def().get_sensor_def("promote_model_sensor")
    _, instance = features_home
    predict = evaluate.predict  # a version that cannot rank: ROC AUC 0.5, under the floor
    monkeypatch.setattr(evaluate, "predict", lambda m, d: np.full_like(predict(m, d), 0.5))
    result = defs.resolve_job_def("ml_training_job").execute_in_process(
        instance=instance, raise_on_error=False
    )
    assert not result.success
    failed = [e for e in result.get_asset_check_evaluations() if not e.passed]
    assert [e.check_name for e in failed] == ["roc_auc_above_floor"]
    assert (
        instance.get_latest_materialization_event(dg.AssetKey(["ml", "churn_model_evaluation"]))
        is None
    )
    tick = promote_model_sensor.evaluate_tick(
        dg.build_sensor_context(instance=instance, definitions=defs)
    )
    assert tick.run_requests == []
    client = registry.client()
    assert registry.alias_version(client, registry.CHALLENGER, CHURN.registered_model) == 1
    assert registry.alias_version(client, registry.CHAMPION, CHURN.registered_model) is None
