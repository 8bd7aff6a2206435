"""Pipeline specs as users run them: `mlplatform pipelines run|dry-run`, the code location module,
and the Dagster component under `dg` (on the polars engine: SQL and cloudFiles need no JVM)."""

from __future__ import annotations

import json
import subprocess
import textwrap

import polars as pl
import pytest

from tests.integration._cli import BIN, ROOT, env_for, run

pytestmark = pytest.mark.integration

SPEC = """
name: orders
storage: storage
libraries:
  - glob:
      include: transformations/**
"""
BRONZE = """
from mlplatform import pipelines as dp

@dp.table(comment="orders as they arrive")
def orders_raw():
    return (spark.readStream.format("cloudFiles").option("cloudFiles.format", "json")
            .option("cloudFiles.schemaHints", "id STRING, amount STRING").load("landing/orders"))
"""
SILVER = """
CREATE OR REFRESH STREAMING TABLE orders (
  CONSTRAINT valid_id EXPECT (id IS NOT NULL) ON VIOLATION DROP ROW
) AS SELECT id, CAST(amount AS DOUBLE) AS amount FROM STREAM(orders_raw);

CREATE MATERIALIZED VIEW totals AS SELECT count(*) AS n, sum(amount) AS total FROM orders;
"""


def write_spec(folder):
    (folder / "transformations").mkdir(parents=True)
    (folder / "spark-pipeline.yml").write_text(SPEC)
    (folder / "transformations" / "bronze.py").write_text(textwrap.dedent(BRONZE))
    (folder / "transformations" / "silver.sql").write_text(textwrap.dedent(SILVER))
    return folder / "spark-pipeline.yml"


def land(home, name, rows):
    folder = home / "landing" / "orders"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("\n".join(json.dumps(r) for r in rows) + "\n")


def rows(home, name):
    return pl.read_delta(str(home / "lakehouse" / "orders" / name)).sort(pl.all()).rows()


def cli(home, cwd, *args, check=True):
    proc = subprocess.run(
        [str(BIN / "mlplatform"), "pipelines", *args],
        cwd=cwd,
        env=env_for(home, MLPLATFORM_ENGINE="polars"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    if check and proc.returncode != 0:
        pytest.fail(f"exit {proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return proc


def test_pipelines_run_and_dry_run(tmp_path):
    home, project = tmp_path / "home", tmp_path / "project"
    write_spec(project)
    land(home, "1.json", [{"id": "a", "amount": "5"}, {"id": None, "amount": "7"}])

    out = cli(home, project, "run")  # the spec of the current folder
    assert "update" in out.stdout and "completed" in out.stdout
    assert rows(home, "orders") == [("a", 5.0)]
    assert rows(home, "totals") == [(1, 5.0)]

    land(home, "2.json", [{"id": "b", "amount": "10"}])
    cli(
        home,
        tmp_path,
        "run",
        "--spec",
        str(project / "spark-pipeline.yml"),
        "--refresh",
        "orders_raw",
    )
    assert len(rows(home, "orders_raw")) == 3 and rows(home, "orders") == [("a", 5.0)]
    cli(home, project, "run", "--full-refresh", "orders,totals")
    assert rows(home, "orders") == [("a", 5.0), ("b", 10.0)]
    assert rows(home, "totals") == [(2, 15.0)]

    log = pl.read_delta(str(home / "lakehouse" / "orders" / "event_log"))
    final = log.filter(pl.col("event_type") == "update_progress").filter(
        pl.col("details").str.contains("COMPLETED")
    )
    assert final.height == 3  # one per update, each its own update id
    assert final["origin"].struct.field("update_id").n_unique() == 3

    bad = cli(home, project, "run", "--refresh", "nope", check=False)
    assert bad.returncode == 2 and "'nope' is not a dataset of the pipeline" in bad.stderr

    (project / "transformations" / "loop.sql").write_text(
        "CREATE MATERIALIZED VIEW x AS SELECT * FROM y;\n"
        "CREATE MATERIALIZED VIEW y AS SELECT * FROM x;\n"
        "CREATE MATERIALIZED VIEW z AS SELECT * FROM missing_table;\n"
    )
    before = sorted(p.name for p in (home / "lakehouse" / "orders").iterdir())
    dry = cli(home, project, "dry-run", check=False)
    assert dry.returncode == 1
    assert "cycle: orders/x -> orders/y -> orders/x" in dry.stderr
    assert "reads 'missing_table', which this pipeline does not define" in dry.stderr
    assert sorted(p.name for p in (home / "lakehouse" / "orders").iterdir()) == before


def test_the_code_location_module_and_the_dg_component(tmp_path):
    home, project = tmp_path / "home", tmp_path / "project"
    land(home, "1.json", [{"id": "a", "amount": "5"}, {"id": "b", "amount": "6"}])
    spec = write_spec(project / "loc")
    run(
        [
            str(BIN / "dagster"),
            "asset",
            "materialize",
            "-m",
            "mlplatform.pipelines.code_location",
            "--select",
            "*",
        ],
        home,
        MLPLATFORM_PIPELINE_SPEC=str(spec),
        MLPLATFORM_ENGINE="polars",
    )
    assert rows(home, "totals") == [(2, 11.0)]

    # a dg project that declares the pipeline in a defs.yaml, no Python of its own
    (project / "pyproject.toml").write_text(
        '[project]\nname = "lakeflow-project"\nversion = "0.1.0"\n\n'
        '[tool.dg]\ndirectory_type = "project"\n\n[tool.dg.project]\n'
        'root_module = "lakeflow_project"\n'
        'registry_modules = ["mlplatform.pipelines.component"]\n'
    )
    package = project / "lakeflow_project"
    (package / "defs").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "definitions.py").write_text(
        "from pathlib import Path\n\nimport dagster as dg\n\n"
        "defs = dg.load_from_defs_folder(project_root=Path(__file__).parent.parent)\n"
    )
    write_spec(package / "defs" / "shop")
    (package / "defs" / "shop" / "defs.yaml").write_text(
        "type: mlplatform.pipelines.component.PipelineComponent\n"
        "attributes:\n  spec: spark-pipeline.yml\n"
    )
    env = env_for(
        home, MLPLATFORM_ENGINE="polars", PYTHONPATH=str(project), VIRTUAL_ENV=str(BIN.parent)
    )
    env["PATH"] = f"{BIN}:{env['PATH']}"

    def dg(*args):
        proc = subprocess.run(
            [str(BIN / "dg"), *args],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
        return proc.stdout

    listed = json.loads(dg("list", "defs", "--json"))
    assert sorted(a["asset_key"] for a in listed["assets"]) == [
        "orders/event_log",
        "orders/orders",
        "orders/orders_raw",
        "orders/totals",
    ]
    land(home, "2.json", [{"id": "c", "amount": "9"}])
    dg("launch", "--assets", "orders/orders_raw,orders/orders,orders/totals")
    assert rows(home, "totals") == [(3, 20.0)]


def test_dg_check_defs_on_the_project():
    proc = subprocess.run(
        [str(BIN / "dg"), "check", "defs"], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert "All definitions loaded successfully." in proc.stdout + proc.stderr


def test_the_example_spec_equals_the_native_tables(tmp_path, monkeypatch):
    from customer_churn.assets import TABLES
    from customer_churn.demo_data import generate
    from polars.testing import assert_frame_equal

    from mlplatform.lakehouse.update.runner import TableRunner
    from mlplatform.settings import get_settings

    home = tmp_path / "home"
    generate(home, customers=150, events=3000, files=2, seed=4)
    cli(home, ROOT, "run", "--spec", "examples/lakeflow/spark-pipeline.yml")
    monkeypatch.setenv("MLPLATFORM_HOME", str(home))
    monkeypatch.delenv("MLPLATFORM_ENGINE", raising=False)
    for defn in TABLES:
        TableRunner(defn, get_settings()).run()
    for native_key, name, cols in [
        ("silver/cleaned_customer_events", "cleaned_customer_events", None),
        (
            "gold/customer_ml_features",
            "customer_ml_features",
            ["customer_id", "total_events", "avg_amount", "event_count"],
        ),
    ]:
        native = pl.read_delta(str(home / "lakehouse" / native_key))
        ported = pl.read_delta(str(home / "lakehouse" / "customer_events_lakeflow" / name))
        cols = cols or native.columns
        assert len(native) > 100
        assert_frame_equal(native.select(cols).sort(cols), ported.select(cols).sort(cols))


COLUMNS_AT_LOAD = """
import polars as pl
from pyspark.sql.functions import col, expr
from mlplatform import pipelines as dp

@dp.materialized_view
@dp.expect_or_drop("positive", (col("a") > 0) & col("seq").isNotNull())
def numbers():
    return pl.DataFrame({"a": [1, -1, 2], "seq": [1, 2, 3]})

dp.create_streaming_table("latest")
dp.create_auto_cdc_flow(target="latest", source="numbers", keys=[col("a")],
                        sequence_by=col("seq"), apply_as_deletes=expr("a < 0"))
"""


def test_columns_built_at_load_in_a_file_dagster_loads(tmp_path):
    """`dagster ... -f file.py` in a fresh process: no Spark session, so col()/expr() at load
    build Spark Connect expressions, read as SQL (the classic mode would raise AssertionError)."""
    home = tmp_path / "home"
    (tmp_path / "colsload.py").write_text(COLUMNS_AT_LOAD)
    run(
        [
            str(BIN / "dagster"),
            "asset",
            "materialize",
            "-f",
            str(tmp_path / "colsload.py"),
            "--select",
            "*",
        ],
        home,
        MLPLATFORM_ENGINE="polars",
    )
    assert rows_of(home, "colsload/numbers") == [(1, 1), (2, 3)]
    assert rows_of(home, "colsload/latest") == [(1, 1), (2, 3)]
    checks = subprocess.run(
        [
            str(BIN / "python"),
            "-c",
            "import runpy,sys; from mlplatform.dlt.pipeline import DEFS_NAME; "
            "d = runpy.run_path(sys.argv[1])[DEFS_NAME]; "
            "g = d.resolve_asset_graph(); "
            "print([g.get_check_spec(k).description for k in g.asset_check_keys])",
            str(tmp_path / "colsload.py"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env_for(home),
    )
    assert "expect (drop): ((a > 0) AND (seq IS NOT NULL))" in checks.stdout, checks.stderr


def rows_of(home, key):
    return pl.read_delta(str(home / "lakehouse" / key)).sort(pl.all()).rows()
