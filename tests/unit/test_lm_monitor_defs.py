"""A QualityMonitor as Dagster definitions, its CreateMonitor fields and Quartz schedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import numpy as np
import polars as pl
import pytest

from mlplatform.lakehouse.delta import DeltaStore
from mlplatform.lakehouse.resource import LakehouseResource
from mlplatform.monitoring.api import monitor_from_fields
from mlplatform.monitoring.config import MonitoringConfigError
from mlplatform.monitoring.monitor_defs import RetrainBinding, monitor_definitions
from mlplatform.monitoring.monitor_info import monitor_info
from mlplatform.monitoring.names import table_location
from mlplatform.monitoring.refresh import refresh
from mlplatform.monitoring.schedule import unix_cron
from mlplatform.project.model import Position
from mlplatform.settings import get_settings

FIELDS = {
    "output_schema_name": "dev.monitoring",
    "assets_dir": "/monitors",
    "inference_log": {
        "problem_type": "PROBLEM_TYPE_REGRESSION",
        "prediction_col": "prediction",
        "label_col": "label",
        "timestamp_col": "timestamp",
        "model_id_col": "model_version",
        "granularities": ["1 hour", "1 day"],
    },
    "schedule": {"quartz_cron_expression": "0 30 * * * ?", "timezone_id": "UTC"},
}


def test_create_monitor_fields_make_a_quality_monitor_and_its_info():
    monitor, warnings = monitor_from_fields("dev.serving.spend_inference", FIELDS, key="spend")
    assert warnings == []
    assert monitor.inference_log.granularities == ("1 hour", "1 day")
    info = monitor_info(monitor)
    assert info["profile_metrics_table_name"] == "dev.monitoring.spend_inference_profile_metrics"
    assert info["drift_metrics_table_name"] == "dev.monitoring.spend_inference_drift_metrics"
    assert info["inference_log"]["problem_type"] == "PROBLEM_TYPE_REGRESSION"
    assert info["status"] == "MONITOR_STATUS_ACTIVE"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"output_schema_name": None}, "output_schema_name: is required"),
        (
            {"inference_log": None},
            "inference_log: exactly one of inference_log, time_series, snapshot",
        ),
        (
            {"snapshot": {}},
            "inference_log: exactly one of inference_log, time_series, snapshot must be set (got",
        ),
        (
            {"inference_log": {**FIELDS["inference_log"], "problem_type": "BINARY"}},
            'inference_log.problem_type: "BINARY" is not one of PROBLEM_TYPE_CLASSIFICATION',
        ),
        (
            {"inference_log": {**FIELDS["inference_log"], "granularities": ["1 fortnight"]}},
            "inference_log.granularities: granularity '1 fortnight' is not",
        ),
        (
            {"schedule": {"quartz_cron_expression": "30 0 * * * ?"}},
            "schedule.quartz_cron_expression: '30 0 * * * ?': seconds must be 0",
        ),
        (
            {"custom_metrics": [{"type": "CUSTOM_METRIC_TYPE_AGGREGATE", "name": "m"}]},
            "custom_metrics[0]: custom metric 'm': missing ['definition', 'input_columns']",
        ),
        ({"baseline_table_name": "justone"}, "baseline_table_name: 'justone' is not"),
    ],
)
def test_a_wrong_field_is_named(change, message):
    fields = {k: v for k, v in (FIELDS | change).items() if v is not None}
    with pytest.raises(MonitoringConfigError) as err:
        monitor_from_fields("serving.spend_inference", fields)
    assert str(err.value).startswith(message)


def test_errors_name_the_file_line_and_key_when_known():
    where = Position(Path("resources/monitors.yml"), 12, "resources.quality_monitors.spend")
    fields = FIELDS | {"inference_log": {**FIELDS["inference_log"], "prediction_col": ""}}
    with pytest.raises(MonitoringConfigError) as err:
        monitor_from_fields("serving.spend_inference", fields, position=where)
    assert str(err.value) == (
        "resources/monitors.yml:12: resources.quality_monitors.spend.inference_log."
        'prediction_col: must be a non-empty string, got ""'
    )


def test_unknown_and_inert_fields_warn():
    _, warnings = monitor_from_fields("a.b", FIELDS | {"warehouse_id": "w", "colour": 1})
    assert warnings == [
        "warehouse_id: accepted, has no effect here",
        "colour: unknown field, ignored",
    ]


@pytest.mark.parametrize(
    ("quartz", "cron"),
    [
        ("0 0 * * * ?", "0 * * * *"),
        ("0 15 6 ? * MON-FRI", "15 6 * * MON-FRI"),
        ("0 0 12 ? * 1,7", "0 12 * * 0,6"),
        ("0 0/5 * * * ? *", "0/5 * * * *"),
    ],
)
def test_quartz_cron_becomes_a_unix_cron(quartz, cron):
    assert unix_cron(quartz) == cron


def test_monitor_definitions_names_everything_from_the_monitor():
    monitor, _ = monitor_from_fields("dev.serving.spend_inference", FIELDS, key="spend")
    job = dg.define_asset_job("spend_training_job", selection=dg.AssetSelection.groups("ml"))
    defs = dg.Definitions.merge(
        monitor_definitions(monitor, RetrainBinding("dev.ml.spend_predictor", job)),
        dg.Definitions(jobs=[job], resources={"lakehouse": LakehouseResource()}),
    )
    graph = defs.resolve_asset_graph()
    # keys are the tables' paths under the lakehouse root (the catalog included)
    profile = dg.AssetKey(["dev", "monitoring", "spend_inference_profile_metrics"])
    drift = dg.AssetKey(["dev", "monitoring", "spend_inference_drift_metrics"])
    for key in (profile, drift):
        assert graph.get(key).parent_keys == {dg.AssetKey(["dev", "serving", "spend_inference"])}
        assert graph.get(key).group_name == "monitoring"
    checks = sorted(k.name for k in graph.asset_check_keys if k.asset_key == drift)
    assert checks == ["baseline_drift_within_thresholds", "consecutive_drift_within_thresholds"]
    repo = defs.get_repository_def()
    schedule = repo.get_schedule_def("spend_refresh_schedule")
    assert (schedule.job_name, schedule.cron_schedule) == ("spend_refresh_job", "30 * * * *")
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert repo.get_sensor_def("spend_drift_retrain_sensor").job_name == "spend_training_job"


def test_two_monitors_side_by_side_do_not_collide(home):
    a, _ = monitor_from_fields("serving.a_inference", FIELDS, key="a")
    b, _ = monitor_from_fields("serving.b_inference", FIELDS | {"schedule": None}, key="b")
    defs = dg.Definitions.merge(
        monitor_definitions(a),
        monitor_definitions(b),
        dg.Definitions(resources={"lakehouse": LakehouseResource()}),
    )
    repo = defs.get_repository_def()
    assert {j.name for j in repo.get_all_jobs()} >= {"a_refresh_job", "b_refresh_job"}
    assert [s.name for s in repo.schedule_defs] == ["a_refresh_schedule"]


def test_materializing_the_monitor_writes_both_tables_and_runs_the_checks(home):
    settings = get_settings()
    at = datetime(2026, 3, 1, tzinfo=UTC)
    rows = pl.DataFrame(
        {
            "timestamp": [at, at, at],
            "model_version": ["1", "1", "2"],
            "prediction": [1.0, 2.0, 3.0],
            "label": [1.0, 3.0, 3.0],
        }
    )
    DeltaStore(table_location(settings, "serving.spend_inference"), "x").write(rows, 1)
    monitor, _ = monitor_from_fields("serving.spend_inference", FIELDS | {"schedule": None})
    defs = monitor_definitions(monitor)
    result = dg.materialize(
        [*defs.assets, *defs.asset_checks],
        resources={"lakehouse": LakehouseResource()},
    )
    assert result.success
    checks = result.get_asset_check_evaluations()
    assert {c.check_name: c.passed for c in checks} == {
        "baseline_drift_within_thresholds": True,
        "consecutive_drift_within_thresholds": True,
    }
    profile = pl.read_delta(
        str(table_location(settings, "dev.monitoring.spend_inference_profile_metrics"))
    )
    row = profile.filter((pl.col("column_name") == ":table") & (pl.col("model_id") == "*"))
    assert row["count"].to_list() == [3, 3]  # 1 hour and 1 day
    assert row["mean_absolute_error"].to_list() == [pytest.approx(1 / 3)] * 2


def test_the_retrain_sensor_requests_the_job_once_drift_persists(home):
    rng = np.random.default_rng(3)
    settings = get_settings()
    start = datetime(2026, 3, 1, tzinfo=UTC)
    hours = [start + timedelta(hours=h, seconds=s) for h in range(3) for s in range(600)]
    drifted = pl.DataFrame({"ts": hours, "x": rng.normal(5.0, 1.0, len(hours))})
    baseline = pl.DataFrame({"x": rng.normal(0.0, 1.0, 2000)})
    DeltaStore(table_location(settings, "sales.events"), "e").write(drifted, 1)
    DeltaStore(table_location(settings, "sales.events_base"), "b").write(baseline, 1)
    monitor, _ = monitor_from_fields(
        "sales.events",
        {
            "output_schema_name": "mon",
            "time_series": {"timestamp_col": "ts", "granularities": ["1 hour"]},
            "baseline_table_name": "sales.events_base",
        },
        key="events",
    )
    job = dg.define_asset_job("events_training_job", selection=dg.AssetSelection.groups("ml"))
    sensor = monitor_definitions(monitor, RetrainBinding("ml.events_model", job)).sensors[0]
    lakehouse = LakehouseResource()
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, resources={"lakehouse": lakehouse})
        skipped = sensor(context)
        assert isinstance(skipped, dg.SkipReason) and skipped.skip_message == "no drift table yet"
        refresh(settings, monitor)
        request = sensor(context)
        assert isinstance(request, dg.RunRequest)
        assert request.tags["mlplatform/model"] == "ml.events_model"
        assert request.run_key == "events-drift-2026-03-01T02:00:00+00:00"
        again = sensor(
            dg.build_sensor_context(
                instance=instance, cursor=context.cursor, resources={"lakehouse": lakehouse}
            )
        )
        assert "already requested" in again.skip_message


def test_a_bundles_quality_monitors_become_definitions_and_refresh(home):
    """The bundle reader's QualityMonitors (tests/data/bundles/good, two monitors from one YAML
    anchor) side by side, and one refreshed on a Delta table of its three-level name."""
    from tests.bundles import load

    project = load(target="prod")
    monitors = project.quality_monitors
    assert sorted(monitors) == ["returns_monitor", "sales_monitor"]
    defs = dg.Definitions.merge(
        *(monitor_definitions(m) for m in monitors.values()),
        dg.Definitions(resources={"lakehouse": LakehouseResource()}),
    )
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    sales = monitors["sales_monitor"]
    catalog = sales.output_schema_name.split(".")[0]
    schema = sales.table_name.split(".")[1]
    assert {k for k in keys if "metrics" in k} == {
        f"{catalog}/monitoring/{t}_predictions_{m}_metrics"
        for t in ("sales", "returns")
        for m in ("profile", "drift")
    }
    assert f"{catalog}/{schema}/sales_predictions" in keys  # the monitored table, upstream
    at = datetime(2026, 3, 1, tzinfo=UTC)
    rows = pl.DataFrame(
        {"ts": [at, at], "model_version": ["1", "1"], "prediction": [2.0, 4.0], "label": [1.0, 4.0]}
    )
    DeltaStore(table_location(get_settings(), sales.table_name), "s").write(rows, 1)
    result = refresh(get_settings(), sales)
    assert result.state == "SUCCESS", result.message
    row = result.profile.filter((pl.col("column_name") == ":table") & (pl.col("model_id") == "*"))
    assert row["root_mean_squared_error"].to_list() == [pytest.approx((0.5) ** 0.5)]
