"""spark-pipeline.yml specs: Python (mlplatform's dp and unchanged pyspark.pipelines code) and SQL
files load into one pipeline; analysis and clear errors, without running anything."""

from __future__ import annotations

import textwrap

import pytest

from mlplatform.dlt.analysis import DltDefinitionError
from mlplatform.lakehouse.expectations import Action
from mlplatform.pipelines.graph import analyze, find_cycle
from mlplatform.pipelines.spec import PipelineSpecError, find_spec, load

SPEC = """
name: shop_pipeline
storage: storage-root
database: shop
libraries:
  - glob:
      include: transformations/**
configuration:
  spark.sql.shuffle.partitions: "2"
"""

BRONZE = """
from pyspark.sql.functions import col
from mlplatform import pipelines as dp

@dp.table
def orders_raw():
    return (spark.readStream.format("cloudFiles").option("cloudFiles.format", "json")
            .load("landing/orders"))
"""

PYSPARK_DP = """
from pyspark import pipelines as dp  # unchanged open-source Spark code
from pyspark.sql.functions import col

@dp.materialized_view(comment="big orders")
def big():
    return spark.read.table("orders").where(col("amount") > 10)

dp.create_streaming_table("changes")
# pyspark 4.2's own dp accepts only SCD type 1 (the pin delta-spark needs)
dp.create_auto_cdc_flow(target="changes", source="orders", keys=["id"], sequence_by=col("seq"),
                        stored_as_scd_type=1)
"""

SILVER = """
-- typed orders; two rules
CREATE OR REFRESH STREAMING TABLE orders (
  CONSTRAINT valid_id EXPECT (id IS NOT NULL) ON VIOLATION DROP ROW,
  CONSTRAINT positive EXPECT (amount > 0),
  CONSTRAINT has_seq EXPECT (seq IS NOT NULL) ON VIOLATION FAIL UPDATE
) COMMENT 'typed orders' TBLPROPERTIES ('quality' = 'silver')
AS SELECT id, CAST(amount AS DOUBLE) AS amount, seq FROM STREAM(orders_raw);

CREATE MATERIALIZED VIEW totals AS SELECT count(*) AS n FROM LIVE.orders;
"""


def write(tmp_path, files: dict[str, str], spec: str = SPEC):
    (tmp_path / "spark-pipeline.yml").write_text(textwrap.dedent(spec))
    for name, text in files.items():
        path = tmp_path / "transformations" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return tmp_path / "spark-pipeline.yml"


def test_a_spec_loads_python_sql_and_pyspark_code_as_one_pipeline(tmp_path):
    spec = write(tmp_path, {"bronze.py": BRONZE, "silver.sql": SILVER, "gold.py": PYSPARK_DP})
    loaded = load(spec)
    pipeline = loaded.pipeline
    assert (pipeline.name, pipeline.schema) == ("shop_pipeline", "shop")
    graph = pipeline.definitions().resolve_asset_graph()
    deps = {
        k.to_user_string(): sorted(p.to_user_string() for p in graph.get(k).parent_keys)
        for k in graph.get_all_asset_keys()
    }
    assert deps == {
        "shop/orders_raw": [],
        "shop/orders": ["shop/orders_raw"],
        "shop/totals": ["shop/orders"],
        "shop/big": ["shop/orders"],
        "shop/changes": ["shop/orders"],
        "shop/event_log": [],
    }
    orders = pipeline.datasets["orders"]
    assert [(e.name, e.predicate, e.action) for e in orders.expectations] == [
        ("valid_id", "id IS NOT NULL", Action.DROP),
        ("positive", "amount > 0", Action.WARN),
        ("has_seq", "seq IS NOT NULL", Action.FAIL),
    ]
    assert orders.comment == "typed orders" and orders.properties == {"quality": "silver"}
    assert pipeline.table_definition(orders).streaming
    assert not pipeline.table_definition(pipeline.datasets["totals"]).streaming
    assert pipeline.datasets["changes"].changes.sequence_by == "seq"  # col("seq") at load
    assert pipeline.configuration == {"spark.sql.shuffle.partitions": "2"}
    report = analyze(pipeline)
    assert report.errors == []
    assert report.datasets["shop/orders"] == ("streaming table", ["shop/orders_raw"])
    assert find_spec(tmp_path) == spec


@pytest.mark.parametrize(
    ("spec", "files", "message"),
    [
        ("name: x\nlibraries: []\n", {}, "storage"),
        (SPEC, {}, "matches no file"),
        (SPEC, {"a.sql": "CREATE TABLE t AS SELECT 1"}, "CREATE MATERIALIZED VIEW"),
        (SPEC, {"a.sql": "CREATE MATERIALIZED VIEW event_log AS SELECT 1 AS x"}, "reserved"),
        (SPEC, {"a.txt": "x"}, "library files are .py or .sql"),
        (
            SPEC,
            {"a.py": "from mlplatform import pipelines as dp\ndp.create_sink('k', 'kafka')"},
            "Delta sinks only",
        ),
        (
            SPEC,
            {"a.sql": "CREATE STREAMING TABLE t (id INT) AS SELECT * FROM STREAM(s)"},
            "not supported in the column list",
        ),
    ],
)
def test_spec_errors_name_the_problem(tmp_path, spec, files, message):
    path = write(tmp_path, files, spec)
    with pytest.raises(DltDefinitionError, match=message):
        load(path)


def test_no_spec_in_the_folder_says_so(tmp_path):
    with pytest.raises(PipelineSpecError, match="pass --spec FILE"):
        find_spec(tmp_path)


def test_analysis_reports_unknown_names_cycles_and_reads_other_catalogs_as_tables(tmp_path):
    """With ``catalog: main`` the datasets live under main/shop; a name in another catalog is
    that catalog's lakehouse table (an external input), as Databricks resolves it."""
    spec = write(
        tmp_path,
        {
            "a.sql": """
            CREATE MATERIALIZED VIEW a AS SELECT * FROM b;
            CREATE MATERIALIZED VIEW b AS SELECT * FROM a;
            CREATE MATERIALIZED VIEW c AS SELECT * FROM nope;
            CREATE MATERIALIZED VIEW d AS SELECT * FROM other_catalog.sales.orders;
            CREATE MATERIALIZED VIEW e AS SELECT * FROM STREAM(a);
            """
        },
        SPEC + "catalog: main\n",
    )
    report = analyze(load(spec).pipeline)
    assert "cycle: main/shop/a -> main/shop/b -> main/shop/a" in report.errors
    assert any("reads 'nope', which this pipeline does not define" in e for e in report.errors)
    assert report.datasets["main/shop/d"] == ("materialized view", ["other_catalog/sales/orders"])
    assert not any("other_catalog" in e for e in report.errors)
    assert any("materialized view 'e' reads a stream" in e for e in report.errors)
    assert find_cycle({"x": ["y"], "y": []}) is None
