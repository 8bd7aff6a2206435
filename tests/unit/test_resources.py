"""The platform's resources: the graph does not depend on the environment at import, and asset
bodies take the home, environment and engine from the `lakehouse` resource."""

import json
import os
import subprocess
import sys

import dagster as dg
import pytest

from mlplatform.lakehouse.resource import LakehouseResource
from mlplatform.settings import SettingsError

GRAPH = """
import json
from mlplatform.definitions import defs
graph = defs.resolve_asset_graph()
print(json.dumps({
    "assets": sorted(
        [k.to_user_string(), sorted(graph.get(k).kinds)] for k in graph.get_all_asset_keys()
    ),
    "resources": {k: type(v).__name__ for k, v in sorted(defs.resources.items())},
    "required": sorted(
        [k.to_user_string(), sorted(a.required_resource_keys)]
        for a in defs.assets
        if isinstance(a, dg.AssetsDefinition)
        for k in a.keys
    ),
}))
"""


def _graph(env: dict) -> dict:
    code = "import dagster as dg\n" + GRAPH
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_graph_is_the_same_whatever_the_environment_at_import(tmp_path):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MLPLATFORM_", "MLFLOW_"))}
    dev = _graph({**base, "MLPLATFORM_HOME": str(tmp_path / "a")})
    prod = _graph(
        {
            **base,
            "MLPLATFORM_HOME": str(tmp_path / "b"),
            "MLPLATFORM_ENV": "prod",
            "MLPLATFORM_ENGINE": "spark",
            "MLFLOW_TRACKING_URI": "http://127.0.0.1:9/",
        }
    )
    assert dev == prod
    assert dev["resources"] == {
        "lakehouse": "LakehouseResource",
        "mlflow": "MlflowResource",
        "pyspark": "PySparkResource",
    }
    kinds = dict(dev["assets"])
    assert kinds["silver/cleaned_customer_events"] == ["deltalake", "polars", "pyspark"]
    required = dict(dev["required"])
    assert {"lakehouse", "pyspark"} <= set(required["silver/cleaned_customer_events"])
    assert "mlflow" in required["ml/churn_model"]


def test_resource_fields_win_over_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MLPLATFORM_HOME", str(tmp_path / "env"))
    monkeypatch.setenv("MLPLATFORM_ENGINE", "polars")
    assert LakehouseResource().settings.home == tmp_path / "env"
    chosen = LakehouseResource(home=str(tmp_path / "res"), env="staging", engine="spark")
    settings = chosen.settings
    assert (settings.home, settings.env, settings.engine) == (tmp_path / "res", "staging", "spark")
    assert settings.table_path("gold", "t") == tmp_path / "res" / "lakehouse" / "gold" / "t"


def test_an_object_store_root_carries_the_resource_storage_options(tmp_path, monkeypatch):
    from mlplatform.lakehouse.object_location import storage_options

    monkeypatch.setenv("MLPLATFORM_HOME", str(tmp_path))
    monkeypatch.delenv("MLPLATFORM_LAKEHOUSE", raising=False)
    resource = LakehouseResource(
        lakehouse="s3://bucket/lh", storage_options={"AWS_REGION": "eu-west-1"}
    )
    path = resource.settings.table_path("silver", "t")
    assert str(path) == "s3://bucket/lh/silver/t"
    assert storage_options(path) == {"AWS_REGION": "eu-west-1"}


def test_bad_resource_fields_are_named(tmp_path):
    with pytest.raises(SettingsError, match="engine='duckdb' is not an engine; use one of"):
        _ = LakehouseResource(home=str(tmp_path), engine="duckdb").settings
    with pytest.raises(SettingsError, match="env='qa' is not an environment"):
        _ = LakehouseResource(home=str(tmp_path), env="qa").settings


def test_an_asset_reads_the_home_of_its_resource(tmp_path, monkeypatch):
    """The table asset writes where the resource points, not where the environment does."""
    from customer_churn.assets import table_assets

    from mlplatform.lakehouse.engines.spark_resource import PySparkResource

    monkeypatch.setenv("MLPLATFORM_HOME", str(tmp_path / "elsewhere"))
    home = tmp_path / "chosen"
    folder = home / "landing" / "customer_events"
    folder.mkdir(parents=True)
    lines = [{"customer_id": str(i), "event_type": "login", "amount": 1.5} for i in range(3)]
    (folder / "a.json").write_text("".join(json.dumps(r) + "\n" for r in lines))
    bronze = next(a for a in table_assets if a.node_def.name == "bronze__raw_customer_events")
    result = dg.materialize(
        [bronze],
        resources={
            "lakehouse": LakehouseResource(home=str(home)),
            "pyspark": PySparkResource(spark_config={}),
        },
    )
    meta = result.asset_materializations_for_node("bronze__raw_customer_events")[0].metadata
    assert meta["written_rows"].value == 3
    assert (home / "lakehouse" / "bronze" / "raw_customer_events" / "_delta_log").is_dir()
    assert not (tmp_path / "elsewhere" / "lakehouse").exists()
