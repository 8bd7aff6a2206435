"""`mlplatform bundle init|validate|summary` through the real `mlplatform` command."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

GOOD = Path(__file__).parents[1] / "data" / "bundles" / "good"
BROKEN = Path(__file__).parents[1] / "data" / "bundles" / "broken"
MLPLATFORM = str(Path(sys.executable).parent / "mlplatform")


def mlplatform(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUNDLE_VAR_")}
    env.update(LOGNAME="jane.doe", USER="jane.doe")
    return subprocess.run(
        [MLPLATFORM, "bundle", *args], cwd=cwd, env=env, capture_output=True, text=True
    )


def test_init_writes_a_starter_project_that_validates_for_every_target(tmp_path):
    done = mlplatform("init", "--output-dir", str(tmp_path), "--project-name", "shop", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    project = tmp_path / "shop"
    assert sorted(str(p.relative_to(project)) for p in project.rglob("*") if p.is_file()) == [
        ".github/workflows/pull-request.yml",
        "README.md",
        "databricks.yml",
        "resources/model.yml",
        "resources/monitor.yml",
        "resources/pipeline.yml",
        "src/pipeline.py",
        "tests/test_bundle.py",
    ]
    for target in ("dev", "staging", "prod"):
        done = mlplatform("validate", "-t", target, cwd=project)
        assert done.returncode == 0, done.stderr
        assert done.stdout == (
            f"Name: shop\nTarget: {target}\nWorkspace:\n  User: jane.doe\n"
            f"  Path: {project.resolve()}\n\nValidation OK!\n"
        )
        assert done.stderr == ""
    summary = json.loads(mlplatform("summary", "-t", "prod", "-o", "json", cwd=project).stdout)
    resources = summary["resources"]
    assert resources["registered_models"]["shop_model"]["catalog_name"] == "prod"
    assert resources["quality_monitors"]["shop_monitor"]["table_name"] == "prod.shop.predictions"
    assert resources["pipelines"]["shop_pipeline"]["libraries"] == [
        {"file": {"path": "../src/pipeline.py"}}
    ]
    dev = json.loads(mlplatform("summary", "-o", "json", cwd=project).stdout)
    assert dev["resources"]["pipelines"]["shop_pipeline"]["name"] == "[dev jane_doe] shop_pipeline"


def test_init_refuses_a_folder_that_is_not_empty(tmp_path):
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "notes.txt").write_text("mine")
    done = mlplatform("init", "--project-name", "shop", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr == f"Error: {Path('shop')} already exists and is not empty\n"
    assert (tmp_path / "shop" / "notes.txt").read_text() == "mine"


def test_summary_json_is_the_resolved_configuration_in_the_api_shape():
    done = mlplatform("summary", "-t", "staging", "--output", "json", cwd=GOOD)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["bundle"]["name"] == "sales_forecast"
    assert summary["bundle"]["target"] == "staging"
    assert summary["resources"]["registered_models"]["sales_model"] == {
        "name": "forecast_model",
        "catalog_name": "staging",
        "schema_name": "forecast",
        "comment": "Forecast of sales over the next 30 days.",
    }
    assert summary["resources"]["jobs"]["train"]["job_clusters"][0]["new_cluster"] == {
        "spark_version": "15.4.x-scala2.12",
        "num_workers": 2,
    }
    assert summary["variables"]["catalog_name"]["value"] == "staging"


def test_summary_text_lists_each_resource_with_its_name():
    done = mlplatform("summary", "-t", "prod", "--var", "schema_name=sales", cwd=GOOD)
    assert done.returncode == 0, done.stderr
    resources = done.stdout.split("Resources:\n", 1)[1]
    assert resources == (
        "  Quality monitors:\n"
        "    sales_monitor:\n      Name: prod.sales.sales_predictions\n"
        "    returns_monitor:\n      Name: prod.sales.returns_predictions\n"
        "  Registered models:\n"
        "    sales_model:\n      Name: prod.sales.sales_model\n"
        "  Experiments:\n"
        "    sales_experiment:\n      Name: /Users/jane.doe/sales_forecast-experiment\n"
        "  Jobs:\n"
        "    train:\n      Name: train sales_model\n"
        "  Model serving endpoints:\n"
        "    sales_endpoint:\n      Name: sales-forecast\n"
        "  Pipelines:\n"
        "    sales_pipeline:\n      Name: sales_pipeline_prod\n"
    )


def test_validate_prints_errors_and_warnings_on_stderr_and_exits_1(tmp_path):
    (tmp_path / "databricks.yml").write_text(
        "bundle:\n  name: b\n"
        "resources:\n  pipelines:\n    p:\n      name: ${var.nope}\n      colour: red\n"
    )
    done = mlplatform("validate", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == (
        "Warning: unknown field: colour\n  at resources.pipelines.p.colour\n"
        "  in databricks.yml:7:7\n\n"
        "Error: reference does not exist: ${var.nope}\n  at resources.pipelines.p.name\n"
        "  in databricks.yml:6:7\n\n"
        "Found 1 error and 1 warning\n"
    )


def test_validate_with_warnings_succeeds_and_counts_them():
    done = mlplatform("validate", cwd=BROKEN / "unknown_resource_kind")
    assert done.returncode == 0
    assert done.stdout.startswith(
        "Warning: resource kind clusters is not supported by mlplatform\n"
        "  at resources.clusters\n  in databricks.yml:5:3\n\n"
    )
    assert done.stdout.endswith("\n\nFound 2 warnings\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("-t", "qa2"), 'Error: unknown target "qa2": the bundle declares dev, staging, prod'),
        (("--var", "catalog_name"), 'Error: invalid --var "catalog_name": expected'),
    ],
)
def test_validate_refuses_an_unknown_target_and_a_bad_var(args, message):
    done = mlplatform("validate", *args, cwd=GOOD)
    assert done.returncode == 1
    assert done.stderr.startswith(message)


def test_validate_output_json_prints_the_configuration():
    done = mlplatform("validate", "-t", "prod", "--output", "json", cwd=GOOD)
    assert done.returncode == 0, done.stderr
    config = json.loads(done.stdout)
    assert config["bundle"]["mode"] == "production"
    assert config["resources"]["pipelines"]["sales_pipeline"]["name"] == "sales_pipeline_prod"


def test_the_starter_pipeline_is_dlt_code_mlplatform_loads(tmp_path):
    mlplatform("init", "--output-dir", str(tmp_path), "--project-name", "shop", cwd=tmp_path)
    env = dict(os.environ, MLPLATFORM_HOME=str(tmp_path / "home"), DAGSTER_HOME=str(tmp_path))
    done = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "asset", "list", "-f", "src/pipeline.py"],
        cwd=tmp_path / "shop",
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [
        "pipeline/daily_orders",
        "pipeline/orders",
        "pipeline/raw_orders",
    ]


def test_init_reads_the_project_name_from_a_config_file(tmp_path):
    (tmp_path / "inputs.json").write_text('{"project_name": "returns"}')
    done = mlplatform("init", "--config-file", "inputs.json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "name: returns\n" in (tmp_path / "returns" / "databricks.yml").read_text()
    (tmp_path / "inputs.json").write_text('["returns"]')
    done = mlplatform("init", "--config-file", "inputs.json", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.endswith(
        "Invalid value for --config-file: inputs.json must hold a JSON object with a string "
        '"project_name"\n'
    )
