"""Development mode's paused code location, and the inventory of a code location."""

from __future__ import annotations

import dagster as dg

from mlplatform.deployment.inventory import inventory_of, load_inventory
from mlplatform.deployment.pause import paused

DAILY = dg.DailyPartitionsDefinition(start_date="2024-01-01")


@dg.asset(key=["bronze", "raw_customer_events"], group_name="bronze", partitions_def=DAILY)
def raw():
    return 1


@dg.asset(key=["silver", "cleaned_customer_events"], group_name="silver", deps=[raw])
def cleaned():
    return 1


@dg.asset_check(asset=cleaned)
def not_empty():
    return dg.AssetCheckResult(passed=True)


job = dg.define_asset_job("pipeline_job", selection=[cleaned])
partitioned_job = dg.define_asset_job("raw_job", selection=[raw], partitions_def=DAILY)


@dg.sensor(job=job, default_status=dg.DefaultSensorStatus.RUNNING)
def watcher(context):
    return None


@dg.asset_sensor(
    asset_key=dg.AssetKey(["bronze", "raw_customer_events"]),
    job=job,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def on_raw(context, event):
    return None


DEFS = dg.Definitions(
    assets=[raw, cleaned],
    asset_checks=[not_empty],
    jobs=[job, partitioned_job],
    schedules=[
        dg.ScheduleDefinition(
            name="hourly",
            cron_schedule="0 * * * *",
            job=job,
            default_status=dg.DefaultScheduleStatus.RUNNING,
        ),
        dg.build_schedule_from_partitioned_job(
            partitioned_job, name="daily_raw", default_status=dg.DefaultScheduleStatus.RUNNING
        ),
    ],
    sensors=[watcher, on_raw],
)


def test_inventory_lists_what_the_location_holds():
    inv = inventory_of(DEFS)
    assert inv.assets == {
        "bronze/raw_customer_events": "bronze",
        "silver/cleaned_customer_events": "silver",
    }
    assert inv.checks == ["silver/cleaned_customer_events:not_empty"]
    assert inv.jobs == ["pipeline_job", "raw_job"]
    assert inv.schedules == {"daily_raw": "RUNNING", "hourly": "RUNNING"}
    assert inv.sensors == {"on_raw": "RUNNING", "watcher": "RUNNING"}


def test_paused_stops_every_schedule_and_sensor_and_changes_nothing_else():
    before = inventory_of(DEFS)
    after = inventory_of(paused(DEFS))
    assert after.schedules == {"daily_raw": "STOPPED", "hourly": "STOPPED"}
    assert after.sensors == {"on_raw": "STOPPED", "watcher": "STOPPED"}
    assert (after.assets, after.checks, after.jobs) == (before.assets, before.checks, before.jobs)
    # The original definitions are untouched, and the copies keep their kind.
    assert inventory_of(DEFS).schedules == before.schedules
    assert {type(s) for s in paused(DEFS).sensors} == {type(s) for s in DEFS.sensors}


def test_dev_location_module_wraps_the_named_definitions(tmp_path):
    (tmp_path / "tiny_location.py").write_text("from tests_unit_pause_source import DEFS as defs\n")
    (tmp_path / "tests_unit_pause_source.py").write_text(
        "import dagster as dg\n"
        "@dg.asset\n"
        "def a():\n    return 1\n"
        "j = dg.define_asset_job('j', selection=[a])\n"
        "DEFS = dg.Definitions(assets=[a], jobs=[j], schedules=[dg.ScheduleDefinition(\n"
        "    name='s', cron_schedule='0 * * * *', job=j,\n"
        "    default_status=dg.DefaultScheduleStatus.RUNNING)])\n"
    )
    env = {"PYTHONPATH": str(tmp_path), "MLPLATFORM_DEPLOY_DEFINITIONS": "tiny_location:defs"}
    inv = load_inventory("mlplatform.deployment.dev_location:defs", env)
    assert inv.schedules == {"s": "STOPPED"}
    assert inv.jobs == ["j"]
