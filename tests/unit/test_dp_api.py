"""`from mlplatform import pipelines as dp` on the polars engine: flows appending two sources into
one streaming table, a Delta sink, temporary views, lakehouse tables read by name, and errors."""

from __future__ import annotations

import runpy
import textwrap

import dagster as dg
import polars as pl
import pytest

from mlplatform import pipelines as dp
from mlplatform.dlt.pipeline import DEFS_NAME
from mlplatform.lakehouse.delta import DeltaStore
from mlplatform.settings import get_settings
from tests.platform_resources import platform_resources

FLOWS = """
import polars as pl
from mlplatform import pipelines as dp

@dp.table
def eu():
    return (spark.readStream.format("cloudFiles").option("cloudFiles.format", "json")
            .load("landing/eu"))

@dp.table
def us():
    return (spark.readStream.format("cloudFiles").option("cloudFiles.format", "json")
            .load("landing/us"))

dp.create_streaming_table("orders")

@dp.append_flow(target="orders")
def from_eu():
    return spark.readStream.table("eu").select("id", pl.lit("eu").alias("region"))

@dp.append_flow(target="orders", name="us_flow")
def from_us():
    return spark.readStream.table("us").select("id", pl.lit("us").alias("region"))

@dp.temporary_view
def known():
    return spark.table("ref.customers")

@dp.materialized_view
def joined():
    return spark.read.table("orders").join(spark.read.table("known"), on="id")

dp.create_sink("exported", "delta", {"path": "exports/orders"})

@dp.append_flow(target="exported")
def export():
    return spark.readStream.table("orders").filter(pl.col("region") == "eu")
"""


def land(home, folder, name, ids):
    path = home / "landing" / folder
    path.mkdir(parents=True, exist_ok=True)
    (path / name).write_text("".join(f'{{"id": "{i}"}}\n' for i in ids))


def rows(home, key):
    return pl.read_delta(str(home / "lakehouse" / key)).sort(pl.all()).rows()


def test_flows_sinks_and_views_on_polars(home, tmp_path, monkeypatch):
    monkeypatch.setenv("MLPLATFORM_ENGINE", "polars")
    ref = pl.DataFrame({"id": ["e1", "u1"], "name": ["Ann", "Ben"]})
    DeltaStore(get_settings().table_path("ref", "customers"), "ref/customers").write(ref, 1)
    path = tmp_path / "flows.py"
    path.write_text(textwrap.dedent(FLOWS).replace(".table(name)", '.table("known")'))
    defs = runpy.run_path(str(path))[DEFS_NAME]
    graph = defs.resolve_asset_graph()
    parents = {
        k.to_user_string(): sorted(p.to_user_string() for p in graph.get(k).parent_keys)
        for k in graph.get_all_asset_keys()
    }
    assert parents["flows/joined"] == ["flows/orders", "ref/customers"]  # through the view
    assert parents["exports/orders"] == ["flows/orders"]
    assert "flows/known" not in parents

    land(home, "eu", "1.json", ["e1"])
    land(home, "us", "1.json", ["u1", "u2"])
    assets = [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)]
    assert dg.materialize(assets, resources=platform_resources()).success
    assert rows(home, "flows/orders") == [("e1", "eu"), ("u1", "us"), ("u2", "us")]
    assert rows(home, "flows/joined") == [("e1", "eu", "Ann"), ("u1", "us", "Ben")]
    land(home, "eu", "2.json", ["e2"])
    assert dg.materialize(assets, resources=platform_resources()).success
    assert rows(home, "flows/orders") == [("e1", "eu"), ("e2", "eu"), ("u1", "us"), ("u2", "us")]
    assert rows(home, "exports/orders") == [("e1", "eu"), ("e2", "eu")]  # each row once


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("dp.create_sink('k', 'kafka', {'topic': 't'})", "Delta sinks only"),
        ("dp.create_sink('k', 'delta', {'path': '/elsewhere/t'})", "under \\$MLPLATFORM_HOME"),
        ("dp.create_streaming_table('event_log')", "reserved"),
        ("dp.table(format='parquet')(lambda: None)", "stores every table as Delta"),
        (
            "@dp.materialized_view\ndef m():\n    return spark.readStream.table('ref.t')",
            "materialized view 'm' reads a stream",
        ),
        (
            "dp.create_streaming_table('t')\n"
            "dp.create_auto_cdc_from_snapshot_flow(target='t', source=None, keys=['id'])",
            "give either source=",
        ),
    ],
)
def test_dp_errors_name_the_problem(tmp_path, code, message):
    path = tmp_path / "bad.py"
    path.write_text("from mlplatform import pipelines as dp\n" + code + "\n")
    with pytest.raises(dp.DltDefinitionError, match=message):
        runpy.run_path(str(path))
