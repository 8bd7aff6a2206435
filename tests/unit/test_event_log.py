"""The event log: exactly once per update, never failing the update, hooks, and the native tables'
log with the same expectation counts as their asset checks."""

from __future__ import annotations

import json
import logging

import dagster as dg
import polars as pl

from mlplatform.lakehouse import event_log
from mlplatform.lakehouse.assets import build_table_asset
from mlplatform.lakehouse.event_log import EventHook, EventLogTarget
from mlplatform.lakehouse.table import expect, expect_or_drop, table
from tests.platform_resources import platform_resources


def test_an_update_writes_its_events_once_and_hooks_see_them(home):
    seen = []
    target = EventLogTarget("p", ("p", "event_log"), [EventHook(seen.append)])
    event_log.start_update(target, "run-1")
    event_log.start_update(target, "run-1")  # the same update again: nothing new
    event_log.finish_update(target, "run-1", RuntimeError("boom"))
    log = pl.read_delta(str(home / "lakehouse" / "p" / "event_log"))
    assert sorted(log["event_type"].to_list()) == ["create_update", *["update_progress"] * 2]
    failed = log.filter(pl.col("level") == "ERROR")
    assert failed["error"].to_list() == [
        {"fatal": True, "exceptions": [{"class_name": "RuntimeError", "message": "boom"}]}
    ]
    assert json.loads(failed["details"][0]) == {"update_progress": {"state": "FAILED"}}
    assert [e["event_type"] for e in seen] == [
        "create_update",
        "update_progress",
        "update_progress",
    ]


def test_a_failing_hook_is_logged_and_disabled_after_its_limit(home, caplog):
    calls = []

    def broken(event):
        calls.append(event["event_type"])
        raise ValueError("hook bug")

    target = EventLogTarget("p", ("p", "event_log"), [EventHook(broken, max_failures=1)])
    with caplog.at_level(logging.ERROR):
        event_log.start_update(target, "run-1")
    assert calls == ["create_update"]  # then no longer called
    assert "event hook broken failed" in caplog.text


def test_a_failure_to_log_is_logged_not_raised(home, caplog):
    (home / "lakehouse").mkdir()
    (home / "lakehouse" / "blocked").write_text("a file where the log's folder should be")
    target = EventLogTarget("p", ("blocked", "event_log"))
    with caplog.at_level(logging.ERROR):
        assert (
            event_log.append(target, "run-1", "x", [event_log.event(target, "run-1", "t", "m", {})])
            is False
        )
    assert "could not write 1 events to the event log blocked/event_log" in caplog.text


@table(layer="silver", name="amounts")
@expect("has_note", "note IS NOT NULL")
@expect_or_drop("positive", "amount > 0")
def amounts():
    return pl.DataFrame({"amount": [1.0, -2.0, 3.0], "note": ["a", None, None]})


def test_native_tables_log_flow_progress_equal_to_their_checks(home):
    result = dg.materialize([build_table_asset(amounts, "polars")], resources=platform_resources())
    assert result.success
    checks = {
        e.asset_check_evaluation_data.check_name: {
            "passed_records": e.asset_check_evaluation_data.metadata["passed_records"].value,
            "failed_records": e.asset_check_evaluation_data.metadata["failed_records"].value,
        }
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }
    log = pl.read_delta(str(home / "lakehouse" / "_event_log"))
    assert log["origin"].struct.field("pipeline_name").unique().to_list() == ["mlplatform"]
    progress = log.filter(pl.col("event_type") == "flow_progress")
    assert progress["origin"].struct.field("update_id").to_list() == [result.run_id]
    details = json.loads(progress["details"][0])["flow_progress"]
    assert details["metrics"]["num_output_rows"] == 2
    logged = {
        e["name"]: {k: e[k] for k in ("passed_records", "failed_records")}
        for e in details["data_quality"]["expectations"]
    }
    assert (
        logged
        == checks
        == {
            "has_note": {"passed_records": 1, "failed_records": 2},
            "positive": {"passed_records": 2, "failed_records": 1},
        }
    )
    assert details["data_quality"]["dropped_records"] == 1
    assert {e["dataset"] for e in details["data_quality"]["expectations"]} == {"silver.amounts"}


def test_the_daemon_logs_the_end_of_an_update_once(home, tmp_path):
    import runpy

    from mlplatform.dlt.pipeline import DEFS_NAME

    path = tmp_path / "tiny.py"
    path.write_text(
        "import polars as pl\nfrom mlplatform import pipelines as dp\n\n"
        "@dp.materialized_view\ndef one():\n    return pl.DataFrame({'x': [1]})\n"
    )
    defs = runpy.run_path(str(path))[DEFS_NAME]
    with dg.instance_for_test() as instance:
        job = defs.resolve_implicit_global_asset_job_def()
        result = job.execute_in_process(
            instance=instance, asset_selection=[dg.AssetKey(["tiny", "one"])]
        )
        run = instance.get_run_by_id(result.run_id)
        sensor = next(s for s in defs.sensors if s.name == "tiny__event_log_update_completed")
        records = instance.all_logs(result.run_id, of_type=dg.DagsterEventType.RUN_SUCCESS)
        event = records[0].dagster_event
        for _ in range(2):
            context = dg.build_run_status_sensor_context(
                sensor_name=sensor.name,
                dagster_event=event,
                dagster_instance=instance,
                dagster_run=run,
            )
            sensor(context)
    log = pl.read_delta(str(home / "lakehouse" / "tiny" / "event_log"))
    done = log.filter(pl.col("event_type") == "update_progress").filter(
        pl.col("details").str.contains("COMPLETED")
    )
    assert done["origin"].struct.field("update_id").to_list() == [result.run_id]
