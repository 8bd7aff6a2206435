"""A snapshot of the asset graph: a change to keys, groups, checks, jobs, schedules or sensors is
visible in review (update this file together with the change)."""

from mlplatform.definitions import defs

# the medallion tables run on the lakehouse resource's engine, polars or spark
TABLE_KINDS = {"deltalake", "polars", "pyspark"}

ASSETS = {
    "bronze/raw_customer_events": ("bronze", TABLE_KINDS, set()),
    "bronze/raw_customer_labels": ("bronze", TABLE_KINDS, set()),
    "silver/cleaned_customer_events": (
        "silver",
        TABLE_KINDS,
        {"bronze/raw_customer_events"},
    ),
    "silver/cleaned_customer_events_quarantine": (
        "silver",
        TABLE_KINDS,
        {"bronze/raw_customer_events"},
    ),
    "gold/customer_ml_features": (
        "gold",
        TABLE_KINDS,
        {"silver/cleaned_customer_events"},
    ),
    "gold/customer_ml_features_history": (
        "gold",
        {"deltalake", "polars"},
        {"silver/cleaned_customer_events"},
    ),
    "ml/churn_training_set": (
        "ml",
        {"deltalake", "polars"},
        {"gold/customer_ml_features_history", "bronze/raw_customer_labels"},
    ),
    "online/customer_ml_features": (
        "online",
        {"sqlite", "postgres"},
        {"gold/customer_ml_features_history"},
    ),
    "ml/churn_model": ("ml", {"mlflow", "scikitlearn"}, {"ml/churn_training_set"}),
    "ml/churn_model_evaluation": ("ml", {"mlflow"}, {"ml/churn_model"}),
    "serving/churn_predictor_payload": ("serving", {"deltalake", "fastapi"}, set()),
    "serving/churn_predictor_inference": (
        "serving",
        {"deltalake", "polars"},
        {"serving/churn_predictor_payload", "bronze/raw_customer_labels"},
    ),
    "monitoring/churn_predictor_inference_profile_metrics": (
        "monitoring",
        {"deltalake", "polars"},
        {"serving/churn_predictor_inference"},
    ),
    "monitoring/churn_predictor_inference_drift_metrics": (
        "monitoring",
        {"deltalake", "polars"},
        {"serving/churn_predictor_inference"},
    ),
    "monitoring/table_quality": ("data_quality", {"deltalake", "polars"}, set()),
}
OBSERVED = {"serving/churn_predictor_payload"}  # a source: no checks in the UI
DELTA_TABLES = [
    name for name, (_, kinds, _) in ASSETS.items() if "deltalake" in kinds and name not in OBSERVED
]
CHECKS = {
    ("silver/cleaned_customer_events", "valid_customer_id"),
    ("silver/cleaned_customer_events", "valid_amount"),
    ("gold/customer_ml_features", "has_customer_id"),
    ("online/customer_ml_features", "online_store_in_sync"),
    ("ml/churn_model", "no_nan_predictions"),
    ("ml/churn_model", "roc_auc_above_floor"),
    ("ml/churn_model", "signature_matches_gold_schema"),
    ("monitoring/churn_predictor_inference_drift_metrics", "baseline_drift_within_thresholds"),
    ("monitoring/churn_predictor_inference_drift_metrics", "consecutive_drift_within_thresholds"),
    *((t, check) for t in DELTA_TABLES for check in ("freshness", "completeness")),
}


def test_assets_groups_kinds_and_dependencies():
    graph = defs.resolve_asset_graph()
    found = {}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        parents = {p.to_user_string() for p in node.parent_keys}
        found[key.to_user_string()] = (node.group_name, set(node.kinds), parents)
    assert found.keys() == ASSETS.keys()
    for name, (group, kinds, parents) in ASSETS.items():
        assert found[name][0] == group, name
        assert found[name][1] == kinds, name
        assert found[name][2] == parents, name  # exactly: a new or lost edge shows here


def test_checks_jobs_schedules_and_sensors():
    graph = defs.resolve_asset_graph()
    checks = {(c.asset_key.to_user_string(), c.name) for c in graph.asset_check_keys}
    assert checks == CHECKS
    jobs = {j.name for j in defs.resolve_all_job_defs()} - {"__ASSET_JOB"}
    assert jobs == {"feature_pipeline_job", "ml_training_job", "monitoring_job", "promote_model"}
    assert {s.name for s in defs.schedules} == {"ml_training_daily", "monitoring_hourly"}
    assert {s.name for s in defs.sensors} == {
        "landing_file_arrival_sensor",
        "promote_model_sensor",
        "drift_retrain_sensor",
        "automation_condition_sensor",
    }
    assert {s.cron_schedule for s in defs.schedules} == {"0 3 * * *", "0 * * * *"}
