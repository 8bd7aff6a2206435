"""The starter project `mlplatform bundle init` writes: a bundle with dev, staging and prod
targets, a declarative pipeline of one file, a registered model, an experiment, a quality
monitor, tests and a pull-request workflow. `%%name%%` stands for the project's name."""

from __future__ import annotations

from pathlib import Path

TEMPLATES = ("default",)

FILES = {
    "databricks.yml": """\
# The project's bundle: `mlplatform bundle validate -t <target>` checks it,
# `mlplatform bundle summary -t <target>` shows what it declares.
bundle:
  name: %%name%%

include:
  - resources/*.yml

variables:
  catalog_name:
    description: The catalog of the target's tables and models.
    default: dev
  schema_name:
    description: The schema of the project's tables and model.
    default: %%name%%

targets:
  dev:
    # names get a `[dev <you>] ` prefix, schedules are paused, pipelines run in development
    mode: development
    default: true
  staging:
    variables:
      catalog_name: staging
  prod:
    mode: production
    variables:
      catalog_name: prod
""",
    "resources/pipeline.yml": """\
resources:
  pipelines:
    %%name%%_pipeline:
      name: %%name%%_pipeline
      catalog: ${var.catalog_name}
      schema: ${var.schema_name}
      libraries:
        - file:
            path: ../src/pipeline.py
      configuration:
        %%name%%.catalog: ${var.catalog_name}
""",
    "resources/model.yml": """\
resources:
  registered_models:
    %%name%%_model:
      name: %%name%%_model
      catalog_name: ${var.catalog_name}
      schema_name: ${var.schema_name}
      comment: The project's model, trained on the pipeline's tables.

  experiments:
    %%name%%_experiment:
      name: /Users/${workspace.current_user.userName}/%%name%%
""",
    "resources/monitor.yml": """\
resources:
  quality_monitors:
    %%name%%_monitor:
      table_name: ${var.catalog_name}.${var.schema_name}.predictions
      output_schema_name: ${var.catalog_name}.${var.schema_name}
      assets_dir: /Users/${workspace.current_user.userName}/monitors/%%name%%
      inference_log:
        problem_type: PROBLEM_TYPE_CLASSIFICATION
        prediction_col: prediction
        label_col: label
        timestamp_col: scored_at
        model_id_col: model_version
        granularities: ["1 day"]
      schedule:
        quartz_cron_expression: 0 0 6 * * ?
        timezone_id: UTC
""",
    "src/pipeline.py": '''\
"""The project's declarative pipeline: orders landed as JSON files, cleaned, summed per day."""

try:  # on Databricks
    import dlt
except ImportError:  # on mlplatform
    from mlplatform import dlt

from pyspark.sql.functions import col, count, sum as sum_, to_date


@dlt.table(comment="Orders as they land, one row per order")
def raw_orders():
    return (
        spark.readStream.format("cloudFiles")
        .option("cloudFiles.format", "json")
        .load("landing/%%name%%_orders")
    )


@dlt.table(comment="Orders with types applied; orders without an id or amount are dropped")
@dlt.expect_or_drop("valid_order_id", "order_id IS NOT NULL")
@dlt.expect_or_drop("positive_amount", "amount > 0")
def orders():
    return dlt.read_stream("raw_orders").select(
        col("order_id"),
        col("amount").cast("double").alias("amount"),
        col("ordered_at").cast("timestamp").alias("ordered_at"),
    )


@dlt.table(comment="Number and sum of orders per day")
def daily_orders():
    return (
        dlt.read("orders")
        .groupBy(to_date("ordered_at").alias("day"))
        .agg(count("*").alias("orders"), sum_("amount").alias("amount"))
    )
''',
    "tests/test_bundle.py": '''\
"""The bundle validates for every target."""

import subprocess
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("target", ["dev", "staging", "prod"])
def test_the_bundle_validates(target):
    done = subprocess.run(
        ["mlplatform", "bundle", "validate", "-t", target],
        cwd=PROJECT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Validation OK!" in done.stdout
''',
    ".github/workflows/pull-request.yml": """\
# On every pull request: the bundle validates for each target and the tests pass.
name: pull request

on:
  pull_request:

concurrency:
  group: pull-request-${{ github.head_ref }}
  cancel-in-progress: true

jobs:
  validate:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - run: pip install mlplatform pytest
      - run: mlplatform bundle validate -t staging
      - run: mlplatform bundle validate -t prod
      - run: pytest tests
""",
    "README.md": """\
# %%name%%

A project in the Databricks bundle layout, run by mlplatform.

    mlplatform bundle validate            # the dev target
    mlplatform bundle summary -t staging
    pytest tests

`databricks.yml` declares the targets and variables; `resources/` the pipeline, the model,
the experiment and the monitor; `src/` the pipeline's code.
""",
}


def write_starter(folder: Path, name: str) -> list[Path]:
    """Write the starter project named `name` into `folder`; give the files written.

    Raises:
        FileExistsError: `folder` exists and is not empty.
    """
    if folder.exists() and any(folder.iterdir()):
        raise FileExistsError(f"{folder} already exists and is not empty")
    written = []
    for relative, text in FILES.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.replace("%%name%%", name))
        written.append(path)
    return written
