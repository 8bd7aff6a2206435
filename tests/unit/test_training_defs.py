"""Snapshot of the model lifecycle's part of the asset graph, jobs, schedules and sensors."""

import dagster as dg
from customer_churn.tables import DERIVED_FROM, FEATURES

from mlplatform.definitions import defs
from mlplatform.training import checks


def signature_problems(inputs, gold):
    return checks.signature_problems(inputs, gold, FEATURES, DERIVED_FROM)


ML = [dg.AssetKey(["ml", "churn_model"]), dg.AssetKey(["ml", "churn_model_evaluation"])]


def test_model_assets_groups_and_dependencies():
    graph = defs.resolve_asset_graph()
    for key in ML:
        assert graph.get(key).group_name == "ml"
    assert graph.get(ML[0]).parent_keys == {dg.AssetKey(["ml", "churn_training_set"])}
    assert graph.get(dg.AssetKey(["ml", "churn_training_set"])).parent_keys == {
        dg.AssetKey(["gold", "customer_ml_features_history"]),
        dg.AssetKey(["bronze", "raw_customer_labels"]),
    }
    assert graph.get(ML[1]).parent_keys == {ML[0]}


def test_blocking_model_checks():
    graph = defs.resolve_asset_graph()
    checks = {k.name: graph.get(k) for k in graph.asset_check_keys if k.asset_key == ML[0]}
    assert sorted(checks) == [
        "no_nan_predictions",
        "roc_auc_above_floor",
        "signature_matches_gold_schema",
    ]
    assert all(spec.blocking for spec in checks.values())


def test_jobs_schedules_sensors():
    repo = defs.get_repository_def()
    training = repo.get_job("ml_training_job")
    assert training.tags["dagster/max_retries"] == "2"
    assert training.tags["dagster/retry_on_asset_or_op_failure"] == "false"
    assert training.tags["mlplatform/pipeline"] == "training"
    selected = {k.to_user_string() for k in training.asset_layer.selected_asset_keys}
    assert {
        "gold/customer_ml_features",
        "bronze/raw_customer_labels",
        "gold/customer_ml_features_history",
        "ml/churn_training_set",
        "ml/churn_model",
        "ml/churn_model_evaluation",
    } <= selected
    assert repo.get_job("promote_model").tags["dagster/max_retries"] == "2"
    schedule = repo.get_schedule_def("ml_training_daily")
    assert (schedule.job_name, schedule.cron_schedule) == ("ml_training_job", "0 3 * * *")
    sensor = repo.get_sensor_def("promote_model_sensor")
    assert sensor.asset_key == ML[1] and sensor.job_name == "promote_model"
    assert "mlflow" in repo.get_top_level_resources()


def test_signature_problems_name_what_is_wrong():
    gold = {"total_events": "long", "avg_amount": "double", "last_event_at": "timestamp_ntz"}
    ok = [("total_events", "double"), ("recency_days", "double")]
    assert signature_problems(ok, gold) == []
    assert signature_problems([("age", "double")], gold) == ["input 'age' is not a known feature"]
    assert signature_problems([("total_events", "long")], gold) == [
        "input 'total_events' is long, expected double"
    ]
    assert signature_problems([("share_login", "double")], gold) == [
        "gold has no column 'share_login' (needed for 'share_login')"
    ]
    assert signature_problems([("recency_days", "double")], {"last_event_at": "string"}) == [
        "gold column 'last_event_at' is string, expected timestamp"
    ]
