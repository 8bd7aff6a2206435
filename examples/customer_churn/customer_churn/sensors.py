"""The file-arrival trigger: a sensor that notices new landing files and requests a refresh."""

from __future__ import annotations

import hashlib

import dagster as dg

from mlplatform.lakehouse.ingest import list_landing
from mlplatform.lakehouse.resource import LakehouseResource
from mlplatform.settings import Settings

LANDING_FOLDERS = ("customer_events", "customer_labels")


def landing_fingerprint(settings: Settings) -> tuple[str, int]:
    """A digest of every landing file's path, size and mtime, and the number of files."""
    digest = hashlib.sha256()
    count = 0
    for folder in LANDING_FOLDERS:
        for entry in list_landing(settings.landing / folder, "*.json"):
            digest.update(f"{entry['source']}|{entry['size']}|{entry['mtime_ns']}\n".encode())
            count += 1
    return digest.hexdigest()[:16], count


def build_file_arrival_sensor(job: dg.UnresolvedAssetJobDefinition) -> dg.SensorDefinition:
    @dg.sensor(
        name="landing_file_arrival_sensor",
        job=job,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Requests the feature pipeline when landing files arrive or change.",
    )
    def landing_file_arrival_sensor(
        context: dg.SensorEvaluationContext, lakehouse: LakehouseResource
    ):
        fingerprint, count = landing_fingerprint(lakehouse.settings)
        if count == 0:
            return dg.SkipReason("no landing files yet")
        if fingerprint == context.cursor:
            return dg.SkipReason(f"no new landing files ({count} files already seen)")
        context.update_cursor(fingerprint)
        return dg.RunRequest(run_key=f"landing-{fingerprint}", tags={"trigger": "file_arrival"})

    return landing_file_arrival_sensor
