"""End to end: serve a champion, send shifted traffic, materialize monitoring with the real
`dagster` CLI, see the drift check fail naming the column, and the sensor request retraining."""

from pathlib import Path

import dagster as dg
import httpx
import polars as pl
import pytest
from dagster._core.instance.ref import InstanceRef

from mlplatform.definitions import drift_retrain_sensor
from tests.integration._cli import materialize
from tests.integration.test_serving_endpoint import Server
from tests.platform_resources import sensor_resources
from tests.serving_models import feature_frame, register_version, set_champion
from tests.unit.test_monitoring_checks import Receiver
from tests.unit.test_monitoring_windows import AS_OF, write_gold

pytestmark = pytest.mark.integration
ROWS = 1200  # split over two hours (traffic at the turn of an hour), one still has >= 600
DRIFT = dg.AssetKey(["monitoring", "churn_predictor_inference_drift_metrics"])
SELECT = (
    "serving/churn_predictor_inference,monitoring/churn_predictor_inference_profile_metrics,"
    "monitoring/churn_predictor_inference_drift_metrics"
)


def test_shifted_traffic_fails_the_drift_check_and_requests_retraining(home, monkeypatch):
    (home / "mlflow").mkdir()
    uri = f"sqlite:///{home / 'mlflow' / 'mlflow.db'}"
    gold_version = write_gold(5000)  # the champion's training data
    version = register_version(uri)
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    tags = {
        "delta_version.gold/customer_ml_features": str(gold_version),
        "as_of": AS_OF.isoformat(),
    }
    for key, value in tags.items():
        client.set_model_version_tag("churn_predictor", str(version), key, value)
    set_champion(uri, version)

    server = Server(home, uri)
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            assert http.get("/health").json()["ready"] is True
            traffic = feature_frame(ROWS, seed=11)
            traffic["avg_amount"] = traffic["avg_amount"] * 2  # customers spend twice as much
            traffic.insert(0, "customer_id", [f"c{i}" for i in range(ROWS)])
            records = traffic.to_dict("records")
            for start in range(0, ROWS, 100):
                r = http.post(
                    "/invocations", json={"dataframe_records": records[start : start + 100]}
                )
                assert r.status_code == 200
    finally:
        code = server.stop()
    assert code == 0, server.err.read_text()[-3000:]

    receiver = Receiver()
    try:
        materialize(home, SELECT, MLPLATFORM_ALERT_WEBHOOK=receiver.url)
    finally:
        receiver.close()

    drift = pl.read_delta(
        str(home / "lakehouse/monitoring/churn_predictor_inference_drift_metrics")
    )
    base = drift.filter((pl.col("drift_type") == "BASELINE") & (pl.col("granularity") == "1 hour"))
    assert set(base["model_version"]) == {str(version)}
    assert set(base["baseline_gold_version"]) == {gold_version}
    per_column = base.group_by("column_name").agg(pl.col("count").sum())
    assert set(per_column["count"]) == {ROWS} and set(base["count_cmp"]) == {5000}
    profile = pl.read_delta(
        str(home / "lakehouse/monitoring/churn_predictor_inference_profile_metrics")
    )
    table_rows = profile.filter(
        (pl.col("column_name") == ":table") & (pl.col("model_version") == ":all")
    )
    counts = table_rows.group_by("granularity").agg(pl.col("count").sum()).sort("granularity")
    assert counts.rows() == [("1 day", ROWS), ("1 hour", ROWS)]

    instance = dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home / "dagster")))
    key = dg.AssetCheckKey(DRIFT, "baseline_drift_within_thresholds")
    record = instance.event_log_storage.get_latest_asset_check_execution_by_key([key])[key]
    evaluation = record.event.dagster_event.event_specific_data
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert evaluation.description.startswith(
        "1 column(s) drifted from the training data (ERROR): avg_amount ("
    )
    assert "avg_amount (1 hour window " in evaluation.description
    assert evaluation.metadata["drifted_columns"].value == ["avg_amount"]
    alerts = [b for b in receiver.bodies if b["check"] == key.name]
    assert alerts and alerts[0]["columns"] == ["avg_amount"]
    materialization = instance.get_latest_materialization_event(DRIFT).asset_materialization
    plot = materialization.metadata["plot_1_hour_v1_baseline_avg_amount"].value
    assert plot.endswith(".png") and Path(plot).stat().st_size > 5000

    # one drifted hour is enough here (the default asks for 2 of the last 5)
    monkeypatch.setenv("MLPLATFORM_RETRAIN_VIOLATION_WINDOWS", "1")
    context = dg.build_sensor_context(instance=instance, resources=sensor_resources())
    tick = drift_retrain_sensor.evaluate_tick(context)
    [request] = tick.run_requests
    assert drift_retrain_sensor.job_name == "ml_training_job"
    assert request.tags["mlplatform/drifted_columns"] == "avg_amount"
    assert request.run_key.startswith("drift-retrain-1hour-")
