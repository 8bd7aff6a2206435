"""The drift-retrain sensor: N of the last M windows, cool-down in the cursor, alerts."""

from datetime import timedelta

import dagster as dg
import polars as pl
import pytest

from mlplatform.catalog.schemas import DRIFT_SCHEMA
from mlplatform.definitions import drift_retrain_sensor
from mlplatform.monitoring.config import (
    DriftRules,
    MonitoringConfigError,
    RetrainPolicy,
    Threshold,
)
from mlplatform.monitoring.loader import drift_rules, retrain_policy
from mlplatform.monitoring.sensors import persistent_drift
from mlplatform.monitoring.tables import drift_store, replace_windows
from mlplatform.settings import get_settings
from tests.platform_resources import sensor_resources
from tests.unit.test_monitoring_checks import Receiver
from tests.unit.test_monitoring_windows import hour


def drift_rows(psi_by_hour: dict[int, float], count: int = 1000) -> pl.DataFrame:
    """BASELINE rows of `avg_amount`, one per hourly window, with the given PSI."""
    rows = [
        {
            "window_start": hour(h),
            "window_end": hour(h + 1),
            "granularity": "1 hour",
            "model_version": "1",
            "column_name": "avg_amount",
            "data_type": "Float64",
            "kind": "numeric",
            "drift_type": "BASELINE",
            "count": count,
            "count_cmp": 5000,
            "ks_test": {"statistic": 0.3, "pvalue": 1e-20},
            "population_stability_index": psi,
            "js_distance": 0.0,
            "batch_id": 1,
        }
        for h, psi in psi_by_hour.items()
    ]
    return pl.DataFrame(rows, schema=DRIFT_SCHEMA)


def write_drift(psi_by_hour: dict[int, float], batch_id: int, count: int = 1000) -> None:
    frame = drift_rows(psi_by_hour, count)
    windows = {"1 hour": [hour(h) for h in psi_by_hour]}
    replace_windows(drift_store(get_settings()), frame, batch_id, windows, comment="test")


POLICY = RetrainPolicy(evaluation_windows=5, violation_windows=2)
RULES = DriftRules()


def test_n_of_the_last_m_windows():
    calm = {h: 0.01 for h in range(8)}
    assert not persistent_drift(drift_rows(calm), POLICY, RULES).retrain
    one = persistent_drift(drift_rows(calm | {7: 0.9}), POLICY, RULES)
    assert (one.retrain, one.drifted, one.columns) == (False, [hour(7)], ["avg_amount"])
    assert one.evaluated == [hour(h) for h in range(7, 2, -1)]
    two = persistent_drift(drift_rows(calm | {7: 0.9, 4: 0.3}), POLICY, RULES)
    assert two.retrain and two.drifted == [hour(7), hour(4)]
    # a drifted window older than the last five does not count; WARN level does not count
    assert not persistent_drift(drift_rows(calm | {7: 0.9, 1: 0.9}), POLICY, RULES).retrain
    assert not persistent_drift(drift_rows(calm | {7: 0.9, 6: 0.2}), POLICY, RULES).retrain
    assert two.summary(POLICY) == (
        "2 of the last 5 judged 1 hour windows drifted from the training data at ERROR level "
        "(retraining needs 2 of 5): avg_amount"
    )


def test_small_windows_are_not_judged():
    small = drift_rows({0: 0.9, 1: 0.9}, count=100)
    verdict = persistent_drift(small, POLICY, RULES)
    assert (verdict.evaluated, verdict.retrain) == ([], False)


def _tick(instance, cursor=None):
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, resources=sensor_resources()
    )
    return drift_retrain_sensor.evaluate_tick(context)


def test_sensor_requests_training_then_cools_down(home, monkeypatch):
    receiver = Receiver()
    monkeypatch.setenv("MLPLATFORM_ALERT_WEBHOOK", receiver.url)
    try:
        with dg.DagsterInstance.ephemeral() as instance:
            first = _tick(instance)
            assert first.skip_message == "no drift table yet" and not first.run_requests

            write_drift({0: 0.01, 1: 0.01, 2: 0.6, 3: 0.01}, batch_id=1)
            calm = _tick(instance)
            assert calm.skip_message.startswith("1 of the last 4 judged 1 hour windows drifted")

            write_drift({4: 0.7}, batch_id=2)
            fired = _tick(instance)
            [request] = fired.run_requests
            assert drift_retrain_sensor.job_name == "ml_training_job"
            assert request.run_key == "drift-retrain-1hour-2026-03-01T04:00:00+00:00"
            assert request.tags["mlplatform/trigger"] == "drift"
            assert request.tags["mlplatform/drifted_columns"] == "avg_amount"
            assert "last_request_at" in fired.cursor

            same = _tick(instance, fired.cursor)
            assert same.skip_message == (
                "retraining already requested for the window 2026-03-01T04:00:00+00:00"
            )
            write_drift({5: 0.8}, batch_id=3)
            cooling = _tick(instance, fired.cursor)
            assert not cooling.run_requests and "cool-down until" in cooling.skip_message

            monkeypatch.setenv("MLPLATFORM_RETRAIN_COOLDOWN_HOURS", "0")
            again = _tick(instance, fired.cursor)
            assert again.run_requests[0].run_key.endswith("2026-03-01T05:00:00+00:00")
    finally:
        receiver.close()
    events = [b["event"] for b in receiver.bodies]
    assert events == ["retraining_requested", "retraining_requested"]
    assert receiver.bodies[0]["columns"] == ["avg_amount"]
    assert receiver.bodies[0]["summary"].startswith("retraining requested: 2 of the last 5")


def test_settings_from_the_environment(monkeypatch):
    monkeypatch.setenv("MLPLATFORM_RETRAIN_EVALUATION_WINDOWS", "3")
    monkeypatch.setenv("MLPLATFORM_RETRAIN_VIOLATION_WINDOWS", "1")
    monkeypatch.setenv("MLPLATFORM_RETRAIN_COOLDOWN_HOURS", "1.5")
    monkeypatch.setenv("MLPLATFORM_RETRAIN_GRANULARITY", "1 days")
    policy = retrain_policy()
    assert (policy.evaluation_windows, policy.violation_windows) == (3, 1)
    assert (policy.cooldown, policy.granularity) == (timedelta(hours=1.5), "1 day")
    monkeypatch.setenv("MLPLATFORM_RETRAIN_VIOLATION_WINDOWS", "4")
    with pytest.raises(MonitoringConfigError, match=r"got 4 of 3"):
        retrain_policy()

    monkeypatch.setenv(
        "MLPLATFORM_DRIFT_THRESHOLDS",
        '{"js_distance": null, "ks_test.pvalue": {"error": 1e-6}, "tv_distance": {"warn": 0.3}}',
    )
    monkeypatch.setenv("MLPLATFORM_DRIFT_MIN_ROWS", "50")
    monkeypatch.setenv("MLPLATFORM_DRIFT_ALPHA", "none")
    rules = drift_rules()
    assert rules.thresholds == {
        "population_stability_index": Threshold(0.1, 0.25),
        "ks_test.pvalue": Threshold(None, 1e-6, lower_is_worse=True),
        "tv_distance": Threshold(0.3, None),
    }
    assert (rules.min_rows, rules.alpha) == (50, None)
    monkeypatch.setenv("MLPLATFORM_DRIFT_THRESHOLDS", "[1]")
    with pytest.raises(MonitoringConfigError, match="MLPLATFORM_DRIFT_THRESHOLDS"):
        drift_rules()
