"""A project as Dagster definitions: a DLT pipeline of two files whose code reads its
`configuration`, a registered model and an experiment; materialized on real Delta tables (polars
engine); two projects side by side; the collision error; the Python API's `python.resources`."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from mlplatform.project import python_api as mp
from mlplatform.project.definitions import (
    ProjectCollisionError,
    project_definitions,
    projects_definitions,
)
from mlplatform.project.model import (
    ModelAlias,
    Position,
    Project,
    QualityMonitor,
    RegisteredModel,
    Target,
    TimeSeries,
)
from mlplatform.project.pipelines import ProjectPipelineError

BRONZE = """
import dlt

LANDING = spark.conf.get("orders.landing")


@dlt.table(comment="Orders as they land, one row per JSON line.")
def orders_raw():
    return (spark.readStream.format("cloudFiles").option("cloudFiles.format", "json")
            .option("cloudFiles.schemaHints", "id STRING, amount STRING")
            .load(LANDING))
"""
SILVER = """
import dlt
import polars as pl

MIN_AMOUNT = float(spark.conf.get("orders.min_amount", "0"))  # read when the file loads


@dlt.table(comment="Orders above the configured amount.")
def orders():
    cap = float(spark.conf.get("orders.max_amount"))  # read while the update runs
    return (dlt.read_stream("orders_raw")
            .select("id", pl.col("amount").cast(pl.Float64))
            .filter((pl.col("amount") >= MIN_AMOUNT) & (pl.col("amount") <= cap)))
"""


def write_project(root: Path, schema: str = "sales", landing: str = "landing/orders") -> Project:
    (root / "src").mkdir(parents=True)
    (root / "src" / "bronze.py").write_text(textwrap.dedent(BRONZE))
    (root / "src" / "silver.py").write_text(textwrap.dedent(SILVER))
    pipe = mp.pipeline(  # DECLARED_AT
        "orders_pipeline",
        "src/*.py",
        schema=schema,
        configuration={
            "orders.landing": landing,
            "orders.min_amount": 5,
            "orders.max_amount": 100,
        },
    )
    model = mp.registered_model("orders_model", schema=schema, comment="Predicts order value.")
    exp = mp.experiment(f"/Shared/{schema}/orders")
    return mp.project(f"{schema}-project", root, [pipe, model, exp])


DECLARED_AT = next(
    i
    for i, line in enumerate(Path(__file__).read_text().splitlines(), 1)
    if line.endswith("# DECLARED_AT")
)


def land(home: Path, folder: str, rows: list[dict]) -> None:
    path = home / folder
    path.mkdir(parents=True, exist_ok=True)
    (path / "1.json").write_text("".join(json.dumps(r) + "\n" for r in rows))


def rows(home: Path, key: str) -> list:
    return pl.read_delta(str(home / "lakehouse" / key)).sort(pl.all()).rows()


@pytest.fixture
def polars_home(home, monkeypatch):
    monkeypatch.setenv("MLPLATFORM_ENGINE", "polars")
    return home


def test_definitions_of_a_project(polars_home, tmp_path):
    project = write_project(tmp_path / "p")
    defs = project_definitions(project)
    graph = defs.resolve_asset_graph()
    keys = sorted(k.to_user_string() for k in graph.get_all_asset_keys())
    assert keys == [
        "sales/event_log",
        "sales/orders",
        "sales/orders_model",
        "sales/orders_raw",
    ]
    orders = graph.get(dg.AssetKey(["sales", "orders"]))
    assert [p.to_user_string() for p in orders.parent_keys] == ["sales/orders_raw"]
    assert orders.kinds == {"deltalake", "polars"}
    assert orders.owners == ["team:sales-project"]
    assert orders.description == "Orders above the configured amount."
    refs = orders.metadata["dagster/code_references"].code_references
    assert [(Path(r.file_path).name, r.line_number) for r in refs] == [("silver.py", 8)]
    assert orders.metadata["mlplatform/pipeline"] == "orders_pipeline"
    model = graph.get(dg.AssetKey(["sales", "orders_model"]))
    assert model.is_observable and model.kinds == {"mlflow"}
    assert model.description == "Predicts order value."
    assert model.owners == ["team:sales-project"]
    assert model.metadata["registered_model"] == "sales.orders_model"


def test_materialize_reads_the_configuration(polars_home, tmp_path):
    project = write_project(tmp_path / "p")
    land(
        polars_home,
        "landing/orders",
        [
            {"id": "a", "amount": "3"},  # under min_amount (read at load)
            {"id": "b", "amount": "50"},
            {"id": "c", "amount": "500"},  # over max_amount (read at run time)
        ],
    )
    defs = project_definitions(project)
    assets = [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)]
    result = dg.materialize(assets, resources=defs.resources)
    assert result.success
    assert rows(polars_home, "sales/orders") == [("b", 50.0)]
    assert len(rows(polars_home, "sales/orders_raw")) == 3


def test_a_configuration_key_the_code_needs_is_missing(polars_home, tmp_path):
    project = write_project(tmp_path / "p")
    pipe = project.pipelines["orders_pipeline"]
    broken = mp.with_resources(Project(project.name, project.root, project.target), [], "test")
    import dataclasses

    broken = dataclasses.replace(
        broken,
        pipelines={pipe.key: dataclasses.replace(pipe, configuration={"orders.max_amount": "1"})},
    )
    with pytest.raises(ProjectPipelineError) as err:
        project_definitions(broken)
    assert str(err.value) == (
        f"{__file__}:{DECLARED_AT}: resources.pipelines.orders_pipeline.libraries[0]: "
        f"{tmp_path}/p/src/bronze.py:4: DltRuntimeError: spark.conf.get('orders.landing'): the "
        "pipeline's configuration has no 'orders.landing' (set it under the pipeline's "
        "configuration, or pass a default)"
    )


def test_two_projects_side_by_side_share_nothing(polars_home, tmp_path):
    one = write_project(tmp_path / "one", "sales", "landing/sales")
    two = write_project(tmp_path / "two", "spend", "landing/spend")
    land(polars_home, "landing/sales", [{"id": "s", "amount": "10"}])
    land(polars_home, "landing/spend", [{"id": "t", "amount": "20"}])
    defs = projects_definitions([one, two])
    keys = sorted(k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys())
    assert [k for k in keys if k.startswith("sales/")] == [
        "sales/event_log",
        "sales/orders",
        "sales/orders_model",
        "sales/orders_raw",
    ]
    assert [k for k in keys if k.startswith("spend/")] == [
        "spend/event_log",
        "spend/orders",
        "spend/orders_model",
        "spend/orders_raw",
    ]
    assert len(keys) == 8
    assets = [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)]
    assert dg.materialize(assets, resources=defs.resources).success
    assert rows(polars_home, "sales/orders") == [("s", 10.0)]
    assert rows(polars_home, "spend/orders") == [("t", 20.0)]


def test_two_projects_declaring_one_schema_collide(polars_home, tmp_path):
    one = write_project(tmp_path / "one", "sales")
    two = write_project(tmp_path / "two", "sales")
    two = Project("other", two.root, two.target, pipelines=two.pipelines)
    with pytest.raises(ProjectCollisionError) as err:
        projects_definitions([one, two])
    at = f"{__file__}:{DECLARED_AT}: resources.pipelines.orders_pipeline"
    assert str(err.value) == (
        f"project 'other' (target dev) {at} declares asset key sales/event_log, which project "
        f"'sales-project' (target dev) {at} declares too: give one of them another catalog or "
        "schema (or name)"
    )


def test_one_registered_model_name_in_two_projects_collides(polars_home, tmp_path):
    at = Position(tmp_path / "databricks.yml", 7, "resources.registered_models.m")
    model = RegisteredModel("m", "churn", "main", "ml", position=at)
    one = Project("a", tmp_path, Target("dev"), registered_models={"m": model})
    two = Project("b", tmp_path, Target("dev"), registered_models={"m2": model})
    with pytest.raises(ProjectCollisionError) as err:
        projects_definitions([one, two])
    assert str(err.value) == (
        "project 'b' (target dev) resources.registered_models.m declares asset key main/ml/churn, "
        "which project 'a' (target dev) resources.registered_models.m declares too: give one of "
        "them another catalog or schema (or name)"
    )


def test_python_resources_add_resources_and_definitions(polars_home, tmp_path):
    root = tmp_path / "p"
    root.mkdir()
    (root / "more_resources.py").write_text(
        textwrap.dedent(
            """
            import dagster as dg
            from mlplatform.project import python_api as mp

            def load(project):
                @dg.asset(key=["sales", "report"])
                def report():
                    return None

                return [
                    mp.registered_model("spend_model", catalog="main", schema="sales",
                                        aliases={"champion": 1}),
                    dg.Definitions(assets=[report]),
                ]
            """
        )
    )
    project = Project("sales", root, Target("dev"), python_modules=("more_resources:load",))
    defs = project_definitions(project)
    keys = sorted(k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys())
    assert keys == ["main/sales/spend_model", "sales/report"]
    bad = Project("sales", root, Target("dev"), python_modules=("more_resources",))
    with pytest.raises(mp.PythonResourcesError, match="write it as 'module:function'"):
        project_definitions(bad)
    missing = Project("sales", root, Target("dev"), python_modules=("nope:load",))
    with pytest.raises(mp.PythonResourcesError, match="cannot import 'nope'"):
        project_definitions(missing)


def test_endpoints_warn_not_yet_supported(polars_home, tmp_path):
    project = Project("p", tmp_path, Target("dev"), model_serving_endpoints={"ep": {}})
    with pytest.warns(UserWarning) as caught:
        defs = project_definitions(project)
    assert [str(w.message) for w in caught if w.category is UserWarning] == [
        "resources.model_serving_endpoints.ep: model serving endpoints are not yet supported "
        "by mlplatform (they come with the serving-endpoints issue); skipped",
    ]
    assert not list(defs.resolve_asset_graph().get_all_asset_keys())


def test_jobs_and_quality_monitors_become_definitions(polars_home, tmp_path):
    (tmp_path / "nb.py").write_text("# Databricks notebook source\nx = 1\n")
    job = {
        "name": "[dev me] nightly",
        "tasks": [{"task_key": "a", "notebook_task": {"notebook_path": "nb.py"}}],
        "schedule": {"quartz_cron_expression": "0 0 2 * * ?", "timezone_id": "UTC"},
    }
    monitor = QualityMonitor(
        "orders_monitor",
        "sales.orders",
        "sales_monitoring",
        time_series=TimeSeries("ts", ("1 day",)),
    )
    project = Project(
        "p",
        tmp_path,
        Target("dev", mode="development"),
        jobs={"nightly": job},
        quality_monitors={"orders_monitor": monitor},
    )
    defs = project_definitions(project)
    assert defs.resolve_job_def("nightly").name == "nightly"
    schedule = defs.resolve_schedule_def("nightly_schedule")
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED  # development mode
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert "sales_monitoring/orders_profile_metrics" in keys


def test_a_job_of_an_unsupported_kind_names_the_resource(polars_home, tmp_path):
    job = {"name": "j", "tasks": [{"task_key": "jar", "spark_jar_task": {"main_class_name": "M"}}]}
    project = Project("p", tmp_path, Target("dev"), jobs={"j": job})
    with pytest.raises(Exception, match=r"resources\.jobs\.j.*spark_jar_task"):
        project_definitions(project)


def test_model_alias_on_missing_version_is_a_warning(polars_home, tmp_path):
    from mlplatform.project.registry import deploy_registry, destroy_registry
    from mlplatform.settings import get_settings

    model = RegisteredModel(
        "m", "orders_model", None, "sales", "Order value.", (ModelAlias("champion", 3),)
    )
    project = Project("p", tmp_path, Target("dev"), registered_models={"m": model})
    done = deploy_registry(project, get_settings())
    assert done.models == ["sales.orders_model"]
    assert done.messages == [
        "registered model sales.orders_model: created",
        "Warning: registered model sales.orders_model: alias 'champion' not set, version 3 "
        "does not exist yet",
    ]
    assert destroy_registry(done.models, [], get_settings(), delete_data=False) == [
        "deleted registered model sales.orders_model"
    ]


def test_continuous_pipeline_keeps_updating_and_dev_mode_pauses_it(polars_home, tmp_path):
    import dataclasses

    project = write_project(tmp_path / "p")
    pipe = dataclasses.replace(project.pipelines["orders_pipeline"], continuous=True)
    project = dataclasses.replace(project, pipelines={pipe.key: pipe})
    defs = project_definitions(project)
    sensor = defs.resolve_sensor_def("sales__continuous")
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED  # mode: development
    with dg.instance_for_test() as instance:
        request = sensor(dg.build_sensor_context(instance=instance))
    assert request.tags == {"mlplatform/pipeline": "sales__continuous"}
    production = dataclasses.replace(project, target=Target("prod", "production"))
    sensor = project_definitions(production).resolve_sensor_def("sales__continuous")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING


def test_libraries_notebooks_and_their_errors(polars_home, tmp_path):
    import dataclasses

    from mlplatform.project.model import Library

    project = write_project(tmp_path / "p")
    (project.root / "nb").mkdir()
    notebook = "# Databricks notebook source\n" + textwrap.dedent(BRONZE).replace(
        "def orders_raw", "# COMMAND ----------\n\n\ndef orders_raw"
    )
    (project.root / "nb" / "ingest.py").write_text(notebook)
    pipe = project.pipelines["orders_pipeline"]

    def with_libraries(*libraries):
        changed = dataclasses.replace(pipe, libraries=libraries)
        return dataclasses.replace(project, pipelines={pipe.key: changed})

    ok = with_libraries(Library(notebook=Path("nb/ingest")), Library(file=Path("src/silver.py")))
    keys = project_definitions(ok).resolve_asset_graph().get_all_asset_keys()
    assert dg.AssetKey(["sales", "orders"]) in keys
    at = f"{__file__}:{DECLARED_AT}: resources.pipelines.orders_pipeline.libraries[0]"
    cases = [
        (Library(glob="nothing/**"), f"{at}: glob 'nothing/**' matches no .py or .sql file"),
        (Library(notebook=Path("nb/x.ipynb")), f"{at}: notebook nb/x.ipynb: .ipynb notebooks"),
        (Library(file=Path("src/none.py")), f"{at}: file src/none.py does not exist"),
        (Library(notebook=Path("nb/none")), f"{at}: notebook nb/none does not exist"),
    ]
    for library, message in cases:
        with pytest.raises(ProjectPipelineError) as err:
            project_definitions(with_libraries(library))
        assert str(err.value).startswith(message)
