"""`mlplatform bundle deploy|run|destroy` as users run them, in subprocesses on a temporary
project (polars engine, no JVM): the dev deploy registers a code location that `dagster` loads
from `$MLPLATFORM_HOME/workspace.yaml` and creates the registered model and experiment; `run`
updates a pipeline through Dagster; a second project with the same schema is refused; destroy
removes the registration and keeps the data unless `--delete-data`."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import polars as pl
import pytest
import yaml

from tests.integration._cli import BIN, ROOT, env_for

pytestmark = pytest.mark.integration

BUNDLE = """
bundle:
  name: {name}
targets:
  dev:
    default: true
resources:
  pipelines:
    orders:
      name: orders
      schema: {schema}
      configuration:
        shop.landing: landing/{schema}
        shop.min_amount: "2"
      libraries:
        - file: {{path: src/bronze.py}}
        - file: {{path: src/totals.sql}}
  registered_models:
    value_model:
      name: order_value
      schema_name: {schema}
      comment: Predicts the value of an order.
  experiments:
    value_experiment:
      name: /Shared/{schema}/order_value
  jobs:
    train:
      name: train
      tasks:
        - task_key: fit
          notebook_task:
            notebook_path: src/fit.py
"""
BRONZE = """
import dlt

LANDING = spark.conf.get("shop.landing")


@dlt.table(comment="Orders as they land.")
def orders_raw():
    return spark.readStream.format("cloudFiles").option("cloudFiles.format", "json").load(LANDING)
"""
TOTALS = """
CREATE OR REFRESH MATERIALIZED VIEW totals COMMENT "Order totals." AS
SELECT count(*) AS n, sum(CAST(amount AS DOUBLE)) AS total FROM orders_raw
WHERE CAST(amount AS DOUBLE) >= ${shop.min_amount};
"""


def write_project(folder: Path, name: str, schema: str) -> Path:
    (folder / "src").mkdir(parents=True)
    (folder / "databricks.yml").write_text(BUNDLE.format(name=name, schema=schema))
    (folder / "src" / "bronze.py").write_text(textwrap.dedent(BRONZE))
    (folder / "src" / "totals.sql").write_text(textwrap.dedent(TOTALS))
    (folder / "src" / "fit.py").write_text("# Databricks notebook source\nprint('fit')\n")
    return folder


@pytest.fixture
def env(tmp_path):
    """The environment of the commands: the data home and the polars engine."""
    return env_for(tmp_path / "home", MLPLATFORM_ENGINE="polars")


def bundle(env, cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [str(BIN / "mlplatform"), "bundle", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )
    if check and proc.returncode != 0:
        pytest.fail(f"exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    return proc


def registry(home: Path):
    from mlflow import MlflowClient

    uri = f"sqlite:///{home / 'mlflow' / 'mlflow.db'}"
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def test_deploy_run_destroy(tmp_path, env):
    home = tmp_path / "home"
    shop = write_project(tmp_path / "shop", "shop", "shop")
    land = home / "landing" / "shop"
    land.mkdir(parents=True)
    (land / "1.json").write_text(
        "".join(
            json.dumps(r) + "\n" for r in [{"id": "a", "amount": "1"}, {"id": "b", "amount": "5"}]
        )
    )

    deployed = bundle(env, shop, "deploy", "-t", "dev")
    assert deployed.stdout.splitlines() == [
        "deploying shop to target dev (local instance)",
        "  registered model shop.order_value: created",
        "  experiment /Shared/shop/order_value: created",
        "  table shop/event_log",
        "  table shop/orders_raw",
        "  table shop/totals",
        f"registered code location shop_dev ({home}/projects/shop_dev/location.py)",
        f"run: dagster dev -w {home}/workspace.yaml",
    ]
    assert "resources.jobs.train" not in deployed.stderr  # a job is built, not skipped
    workspace = yaml.safe_load((home / "workspace.yaml").read_text())
    assert workspace == {
        "load_from": [
            {
                "python_file": {
                    "relative_path": "projects/shop_dev/location.py",
                    "location_name": "shop_dev",
                    "working_directory": str(shop),
                }
            }
        ]
    }
    model = registry(home).get_registered_model("shop.order_value")
    assert model.description == "Predicts the value of an order."
    assert registry(home).get_experiment_by_name("/Shared/shop/order_value") is not None
    # the workspace `dagster dev -w` reads loads: the code location holds the project
    validated = subprocess.run(
        [str(BIN / "dagster"), "definitions", "validate", "-w", str(home / "workspace.yaml")],
        cwd=shop,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert validated.returncode == 0, validated.stdout[-2000:] + validated.stderr[-4000:]
    assert "shop_dev" in validated.stdout + validated.stderr

    ran = bundle(env, shop, "run", "-t", "dev", "orders")
    run_id = ran.stdout.splitlines()[0].split()[1].rstrip(":")
    assert ran.stdout.splitlines()[0] == f"run {run_id}: update of pipeline orders (dev)"
    assert ran.stdout.splitlines()[-1] == f"update {run_id} completed"
    totals = pl.read_delta(str(home / "lakehouse" / "shop" / "totals"))
    assert totals.rows() == [(1, 5.0)]  # min_amount from the configuration, in SQL
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.SUCCESS
    # --params override the configuration for one update
    bundle(env, shop, "run", "orders", "--params", "shop.min_amount=0", "--full-refresh", "totals")
    assert pl.read_delta(str(home / "lakehouse" / "shop" / "totals")).rows() == [(2, 6.0)]

    job = bundle(env, shop, "run", "train", check=False)
    assert job.returncode == 1
    assert (
        "Error: resources.jobs.train: `bundle run` of a job is not yet supported by mlplatform"
        in job.stderr
    )
    unknown = bundle(env, shop, "run", "nope", check=False)
    assert "Error: 'nope' is not a pipeline of the bundle (pipelines: orders)" in unknown.stderr

    # a second project declaring the same schema is refused; another schema sits beside it
    clash = write_project(tmp_path / "clash", "clash", "shop")
    refused = bundle(env, clash, "deploy", check=False)
    assert refused.returncode == 1
    assert refused.stderr.splitlines()[-1] == (
        "Error: project 'clash' (target dev) databricks.yml:9: resources.pipelines.orders "
        "declares asset key shop/event_log, which project 'shop' (target dev) "
        "databricks.yml:9: resources.pipelines.orders declares too: give one of them "
        "another catalog or schema (or name)"
    )
    spend = write_project(tmp_path / "spend", "spend", "spend")
    bundle(env, spend, "deploy")
    names = [
        e["python_file"]["location_name"]
        for e in yaml.safe_load((home / "workspace.yaml").read_text())["load_from"]
    ]
    assert names == ["shop_dev", "spend_dev"]

    unconfirmed = bundle(env, shop, "destroy", check=False)
    assert unconfirmed.returncode == 1
    assert "pass --auto-approve" in unconfirmed.stderr
    destroyed = bundle(env, shop, "destroy", "-t", "dev", "--auto-approve")
    assert destroyed.stdout.splitlines() == [
        "deleted registered model shop.order_value",
        "deleted experiment /Shared/shop/order_value",
        "kept 3 table(s) (pass --delete-data to delete them)",
        "removed code location shop_dev",
    ]
    assert pl.read_delta(str(home / "lakehouse" / "shop" / "totals")).rows() == [(2, 6.0)]
    names = [
        e["python_file"]["location_name"]
        for e in yaml.safe_load((home / "workspace.yaml").read_text())["load_from"]
    ]
    assert names == ["spend_dev"]
    bundle(env, clash, "deploy")  # the schema is free again

    gone = bundle(env, spend, "destroy", "--auto-approve", "--delete-data")
    assert "removed code location spend_dev" in gone.stdout
    assert not (home / "projects" / "spend_dev").exists()


def test_deploy_staging_renders_the_project_in_the_image(tmp_path, env):
    import shutil

    shop = write_project(tmp_path / "shop", "shop", "shop")
    shutil.copytree(ROOT / "deploy", shop / "deploy")  # the project's own deploy bundle
    bundle_file = shop / "databricks.yml"
    bundle_file.write_text(
        bundle_file.read_text().replace(
            "targets:\n", "targets:\n  staging:\n    mode: production\n"
        )
    )
    env = env | {"MLPLATFORM_VAR_image_repository": "registry.example/shop"}
    done = bundle(env, shop, "deploy", "-t", "staging", "--dry-run", "--image-tag", "abc")
    assert "image registry.example/shop:abc" in done.stdout
    out = shop / "build" / "deploy" / "staging"
    dockerfile = (out / "Dockerfile").read_text()
    assert "COPY . /opt/dagster/app/project\n" in dockerfile
    assert '"-m", "mlplatform.project.location", "-a", "defs"]' in dockerfile
    values = yaml.safe_load((out / "values.yaml").read_text())
    env_of = {e["name"]: e.get("value") for e in values["deployments"][0]["env"]}
    assert env_of["MLPLATFORM_PROJECT"] == "/opt/dagster/app/project"
    assert env_of["MLPLATFORM_TARGET"] == "staging"
    assert values["deployments"][0]["name"] == "shop-staging"
