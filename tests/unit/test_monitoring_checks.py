"""The monitoring assets and drift checks through Dagster, with alerts to a local webhook."""

import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import dagster as dg
import polars as pl
import pytest

from mlplatform.catalog import DRIFT_METRICS
from mlplatform.definitions import monitoring_assets
from mlplatform.monitoring import drift
from mlplatform.monitoring.alerts import send_alert
from mlplatform.monitoring.checks import drift_checks
from mlplatform.settings import get_settings
from tests.platform_resources import platform_resources
from tests.unit.test_monitoring_windows import (
    HOURLY_DAILY,
    append_inference,
    fake_baselines,
    hour,
    inference_rows,
    training_tags,
    write_gold,
)

DRIFT_KEY = DRIFT_METRICS.asset_key


class Receiver:
    """A local HTTP server that records the JSON bodies POSTed to it."""

    def __init__(self, status: int = 200):
        self.bodies: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                length = int(self.headers["Content-Length"])
                outer.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


def _double_avg_amount(frame):
    frame["avg_amount"] = frame["avg_amount"] * 2
    return frame


def _drift_table(shifted: bool) -> None:
    write_gold(5000)
    transform = _double_avg_amount if shifted else None
    append_inference(
        pl.concat(
            [
                inference_rows(1000, hour(0), seed=1),
                inference_rows(1000, hour(1), seed=2, transform=transform),
            ]
        )
    )
    drift.update(get_settings(), HOURLY_DAILY, baselines=fake_baselines({"1": training_tags(0)}))


def _run_checks(run_config=None):
    result = dg.materialize(
        [*monitoring_assets, *drift_checks],
        run_config=run_config,
        raise_on_error=False,
        resources=platform_resources(),
    )
    assert result.success
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_checks_fail_naming_columns_and_windows_and_alert(home, receiver, monkeypatch):
    monkeypatch.setenv("MLPLATFORM_ALERT_WEBHOOK", receiver.url)
    _drift_table(shifted=True)
    checks = _run_checks()
    baseline = checks["baseline_drift_within_thresholds"]
    assert not baseline.passed and baseline.severity == dg.AssetCheckSeverity.ERROR
    assert baseline.asset_key == DRIFT_KEY
    assert baseline.description.startswith(
        "1 column(s) drifted from the training data (ERROR): avg_amount (1 hour window "
        "2026-03-01T01:00Z, version 1: population_stability_index "
    )
    meta = {k: v.value for k, v in baseline.metadata.items()}
    assert meta["drifted_columns"] == ["avg_amount"]
    assert meta["drifted_windows"] == ["1 day 2026-03-01T00:00Z", "1 hour 2026-03-01T01:00Z"]
    assert (
        "| ERROR | 1 hour | 2026-03-01 01:00 UTC | 1 | BASELINE | `avg_amount` |"
        in (meta["breaches"])
    )
    consecutive = checks["consecutive_drift_within_thresholds"]
    assert not consecutive.passed and "from the previous window" in consecutive.description
    events = {b["check"]: b for b in receiver.bodies}
    assert sorted(events) == sorted(checks)
    alert = events["baseline_drift_within_thresholds"]
    assert (alert["event"], alert["severity"], alert["columns"]) == (
        "drift_check_failed",
        "ERROR",
        ["avg_amount"],
    )
    assert alert["summary"] == baseline.description and alert["source"] == "mlplatform"


def test_thresholds_from_run_config_give_warn_or_pass(home):
    _drift_table(shifted=True)
    lenient = {"warn": 0.1, "error": 50.0}
    config = {"thresholds": {"population_stability_index": lenient, "js_distance": lenient}}
    run_config = {
        "ops": {
            f"monitoring__churn_predictor_inference_drift_metrics_{name}": {"config": config}
            for name in ("baseline_drift_within_thresholds", "consecutive_drift_within_thresholds")
        }
    }
    warn = _run_checks(run_config)["baseline_drift_within_thresholds"]
    assert not warn.passed and warn.severity == dg.AssetCheckSeverity.WARN
    off = {"warn": None, "error": None}
    config["thresholds"] = {"population_stability_index": off, "js_distance": off}
    assert _run_checks(run_config)["baseline_drift_within_thresholds"].passed


def test_checks_pass_without_drift(home, monkeypatch):
    monkeypatch.setenv("MLPLATFORM_ALERT_WEBHOOK", _closed_port_url())
    _drift_table(shifted=False)
    checks = _run_checks()
    assert all(c.passed for c in checks.values())
    meta = checks["baseline_drift_within_thresholds"].metadata
    assert meta["windows_judged"].value == 3 and meta["min_rows"].value == 500


def test_drift_asset_reports_plots_and_markdown(home):
    # a version that is not in any registry: no baseline, drift against the previous window
    append_inference(
        pl.concat(
            [
                inference_rows(800, hour(0), version="canary", seed=1),
                inference_rows(
                    800, hour(1), version="canary", seed=2, transform=_double_avg_amount
                ),
            ]
        )
    )
    result = dg.materialize(
        [*monitoring_assets, *drift_checks], raise_on_error=False, resources=platform_resources()
    )
    [event] = [e for e in result.get_asset_materialization_events() if e.asset_key == DRIFT_KEY]
    meta = {k: v.value for k, v in event.materialization.metadata.items()}
    assert meta["drifted_columns"] == ["avg_amount"]
    assert meta["baseline_problems"] == {
        "canary": "model version 'canary' is not a registry version"
    }
    assert "`avg_amount`" in meta["drift_report"] and "CONSECUTIVE" in meta["drift_report"]
    plot = meta["plot_1_hour_vcanary_consecutive_avg_amount"]
    assert plot.endswith("1-hour_20260301T0100_vcanary_consecutive_avg_amount.png")
    assert plot.startswith(str(home / "monitoring" / "reports" / "batch-1"))
    assert meta["windows_recomputed"] == 3 and meta["nothing_new"] is False


def test_alert_delivery_failures_are_logged_not_raised(receiver, caplog):
    log = logging.getLogger("alerts-test")
    alert = {"event": "x", "severity": "WARN", "summary": "something drifted"}
    with caplog.at_level(logging.WARNING):
        assert send_alert(alert, log, url=receiver.url) is True
        assert send_alert(alert, log, url=_closed_port_url()) is False
        assert send_alert(alert, log, url="") is False
    assert receiver.bodies[0]["summary"] == "something drifted"
    messages = [r.getMessage() for r in caplog.records]
    assert messages.count("ALERT: something drifted") == 3
    assert any(m.startswith("alert webhook http://127.0.0.1:") and "failed" in m for m in messages)
    failing = Receiver(status=500)
    try:
        assert send_alert(alert, log, url=failing.url) is False
    finally:
        failing.close()
