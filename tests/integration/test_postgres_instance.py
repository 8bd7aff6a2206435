"""The prod instance for real: what `mlplatform deploy --target prod` renders, on PostgreSQL.

The test creates its own role and database, points the rendered prod dagster.yaml at them through
dagster-postgres, materializes the bronze events asset with the dagster CLI, stops a sensor, and
reads runs, event logs and instigator state back from PostgreSQL with SQL. It drops both after.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import uuid

import psycopg2
import pytest

from mlplatform.deployment.deployer import deploy
from tests.integration._services import ROOT, VENV_BIN, PgAdmin, require

pytestmark = pytest.mark.integration

BRONZE = "bronze/raw_customer_events"


@pytest.fixture
def database():
    admin = PgAdmin()
    ok, reason = admin.available()
    require(ok, reason)
    name = f"mlp_test_{uuid.uuid4().hex[:10]}"
    password = secrets.token_hex(16)
    admin.execute(
        f"CREATE ROLE {name} LOGIN PASSWORD '{password}'", f"CREATE DATABASE {name} OWNER {name}"
    )
    try:
        yield {
            "DAGSTER_PG_HOST": admin.host,
            "DAGSTER_PG_PORT": str(admin.port),
            "DAGSTER_PG_USER": name,
            "DAGSTER_PG_DB": name,
            "DAGSTER_PG_PASSWORD": password,
        }
    finally:
        admin.execute(
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'",
            f"DROP DATABASE IF EXISTS {name}",
            f"DROP ROLE IF EXISTS {name}",
        )


def query(pg, sql):
    conn = psycopg2.connect(
        host=pg["DAGSTER_PG_HOST"],
        port=pg["DAGSTER_PG_PORT"],
        user=pg["DAGSTER_PG_USER"],
        password=pg["DAGSTER_PG_PASSWORD"],
        dbname=pg["DAGSTER_PG_DB"],
    )
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()
    finally:
        conn.close()


def run(cmd, env, tmp_path, name):
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    (tmp_path / f"{name}.log").write_text(proc.stdout + proc.stderr)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{(proc.stdout + proc.stderr)[-4000:]}"
    return proc


def test_prod_instance_on_postgres(database, tmp_path):
    render = tmp_path / "render"
    result = deploy(
        "prod",
        image_tag="integration",
        out=render,
        dry_run=True,
        environ={**os.environ, "MLPLATFORM_VAR_image_repository": "mlplatform"},
    )
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    shutil.copyfile(render / "dagster.yaml", dagster_home / "dagster.yaml")
    assert "postgres" in (dagster_home / "dagster.yaml").read_text()

    env = {
        **os.environ,
        **database,
        "DAGSTER_HOME": str(dagster_home),
        "MLPLATFORM_HOME": str(tmp_path / "home"),
        "MLPLATFORM_ENV": "prod",
        "MLPLATFORM_ENGINE": "polars",
    }  # the instance is under test, not the Spark engine
    env.pop("MLFLOW_TRACKING_URI", None)
    run(
        [str(VENV_BIN / "mlplatform"), "demo-data", "--customers", "50", "--events", "500"],
        env,
        tmp_path,
        "demo-data",
    )
    run(
        [
            str(VENV_BIN / "dagster"),
            "asset",
            "materialize",
            "-m",
            "mlplatform.definitions",
            "--select",
            BRONZE,
        ],
        env,
        tmp_path,
        "materialize",
    )

    assert query(database, "SELECT status FROM runs") == [("SUCCESS",)]
    [(materializations,)] = query(
        database,
        "SELECT count(*) FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION' "
        'AND asset_key = \'["bronze", "raw_customer_events"]\'',
    )
    assert materializations == 1
    [(events,)] = query(database, "SELECT count(*) FROM event_logs")
    assert events > 5  # the run's whole event log, not just the materialization

    # Schedule storage: stopping an instigator records its state in PostgreSQL.
    sensors = result.manifest["inventory"]["mlplatform"]["sensors"]
    schedules = result.manifest["inventory"]["mlplatform"]["schedules"]
    tables = {t for (t,) in query(database, "SELECT tablename FROM pg_tables")}
    assert {"runs", "event_logs", "instigators", "job_ticks", "jobs"} <= tables
    if sensors or schedules:
        kind = "sensor" if sensors else "schedule"
        name = sorted(_names(render, kind))[0]
        run(
            [str(VENV_BIN / "dagster"), kind, "stop", name, "-m", "mlplatform.definitions"],
            env,
            tmp_path,
            "stop",
        )
        rows = query(database, "SELECT status, instigator_body FROM instigators")
        assert [status for status, body in rows if f'"{name}"' in body] == ["STOPPED"]
    # Nothing went to sqlite under DAGSTER_HOME.
    assert not (dagster_home / "history").exists()
    assert not (dagster_home / "schedules").exists()


def _names(render, kind):
    import yaml

    automation = yaml.safe_load((render / "automation.yaml").read_text())
    return automation["mlplatform"][f"{kind}s"]
