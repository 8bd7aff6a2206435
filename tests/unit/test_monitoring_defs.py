"""Snapshot of the monitoring part of the graph: assets, checks, job, schedule, sensor."""

import dagster as dg

from mlplatform.definitions import defs

INFERENCE = dg.AssetKey(["serving", "churn_predictor_inference"])
PROFILE = dg.AssetKey(["monitoring", "churn_predictor_inference_profile_metrics"])
DRIFT = dg.AssetKey(["monitoring", "churn_predictor_inference_drift_metrics"])


def test_monitoring_assets_and_checks():
    graph = defs.resolve_asset_graph()
    for key in (PROFILE, DRIFT):
        assert graph.get(key).group_name == "monitoring"
        assert graph.get(key).parent_keys == {INFERENCE}
    table_quality = ("freshness", "completeness")  # on every Delta table (test_table_quality)
    checks = sorted(
        k.name
        for k in graph.asset_check_keys
        if k.asset_key == DRIFT and k.name not in table_quality
    )
    assert checks == ["baseline_drift_within_thresholds", "consecutive_drift_within_thresholds"]
    assert not any(graph.get(k).blocking for k in graph.asset_check_keys if k.asset_key == DRIFT)


def test_monitoring_job_schedule_and_sensor():
    repo = defs.get_repository_def()
    job = repo.get_job("monitoring_job")
    assert job.asset_layer.selected_asset_keys == {INFERENCE, PROFILE, DRIFT}
    schedule = repo.get_schedule_def("monitoring_hourly")
    assert (schedule.job_name, schedule.cron_schedule, schedule.execution_timezone) == (
        "monitoring_job",
        "0 * * * *",
        "UTC",
    )
    sensor = repo.get_sensor_def("drift_retrain_sensor")
    assert sensor.job_name == "ml_training_job"
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
