"""The file-arrival trigger requests the pipeline once per change of the landing zone."""

import dagster as dg
from customer_churn.sensors import build_file_arrival_sensor

from tests.platform_resources import sensor_resources


def test_requests_a_run_for_new_files_and_skips_otherwise(home):
    job = dg.define_asset_job("feature_pipeline_job")
    sensor = build_file_arrival_sensor(job)
    with dg.DagsterInstance.ephemeral() as instance:
        ctx = dg.build_sensor_context(resources=sensor_resources(), instance=instance)
        first = sensor(ctx)
        assert isinstance(first, dg.SkipReason) and "no landing files" in first.skip_message

        folder = home / "landing" / "customer_events"
        folder.mkdir(parents=True)
        (folder / "a.json").write_text('{"customer_id": "1"}\n')
        ctx = dg.build_sensor_context(resources=sensor_resources(), instance=instance)
        request = sensor(ctx)
        assert isinstance(request, dg.RunRequest)
        assert request.tags["trigger"] == "file_arrival"
        cursor = ctx.cursor

        ctx = dg.build_sensor_context(
            resources=sensor_resources(), instance=instance, cursor=cursor
        )
        again = sensor(ctx)
        assert isinstance(again, dg.SkipReason) and "1 files already seen" in again.skip_message

        (home / "landing" / "customer_labels").mkdir(parents=True)
        (home / "landing" / "customer_labels" / "l.json").write_text('{"customer_id": "1"}\n')
        ctx = dg.build_sensor_context(
            resources=sensor_resources(), instance=instance, cursor=cursor
        )
        second = sensor(ctx)
        assert isinstance(second, dg.RunRequest) and second.run_key != request.run_key
