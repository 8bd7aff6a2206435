"""Three-level names in pipeline code, run with `mlplatform pipelines run` (polars engine): a
pipeline with `catalog: dev` publishes to `lakehouse/dev/<schema>/`, reads its own datasets by
one-, two- and three-level names in `dlt.read`, `spark.table`, `spark.read.table` and SQL, and
reads `samples.nyctaxi.trips` from `lakehouse/samples/nyctaxi/trips` as an external input."""

from __future__ import annotations

import subprocess
import textwrap

import polars as pl
import pytest

from tests.integration._cli import BIN, env_for

pytestmark = pytest.mark.integration

SPEC = """
name: taxi
storage: storage
catalog: dev
database: sales
libraries:
  - glob:
      include: transformations/**
"""
PYTHON = """
import polars as pl
from mlplatform import dlt

@dlt.table(name="dev.sales.trips_copy", comment="the sample trips, fares above 5")
def trips_copy():
    return spark.table("samples.nyctaxi.trips").filter(pl.col("fare") > 5)

@dlt.table(name="sales.doubled")
def doubled():
    return dlt.read("dev.sales.trips_copy").with_columns(double_fare=pl.col("fare") * 2)

@dlt.table
def short_trips():
    return spark.read.table("samples.nyctaxi.trips").filter(pl.col("miles") <= 3).select("id")
"""
SQL = """
CREATE MATERIALIZED VIEW fares AS
SELECT vendor, sum(double_fare) AS total FROM dev.sales.doubled GROUP BY vendor;

CREATE MATERIALIZED VIEW `quoted_count` AS SELECT count(*) AS n FROM dev.`sales`.trips_copy;

CREATE MATERIALIZED VIEW long_trips AS SELECT id FROM samples.nyctaxi.trips WHERE miles > 3;
"""
TRIPS = pl.DataFrame(
    {
        "id": [1, 2, 3, 4],
        "vendor": ["a", "b", "a", "b"],
        "fare": [4.0, 6.0, 10.0, 7.5],
        "miles": [1.0, 2.5, 6.0, 3.5],
    }
)


def write_project(folder):
    (folder / "transformations").mkdir(parents=True)
    (folder / "spark-pipeline.yml").write_text(SPEC)
    (folder / "transformations" / "taxi.py").write_text(textwrap.dedent(PYTHON))
    (folder / "transformations" / "taxi.sql").write_text(textwrap.dedent(SQL))


def cli(home, cwd, *args):
    return subprocess.run(
        [str(BIN / "mlplatform"), "pipelines", *args],
        cwd=cwd,
        env=env_for(home, MLPLATFORM_ENGINE="polars"),
        capture_output=True,
        text=True,
        timeout=600,
    )


def rows(path):
    return pl.read_delta(str(path)).sort(pl.all()).rows()


def test_three_level_names_in_dlt_code_sql_and_external_inputs(tmp_path):
    home, project = tmp_path / "home", tmp_path / "project"
    write_project(project)
    missing = cli(home, project, "run")  # the sample table is not there yet
    assert missing.returncode != 0
    trips_path = home / "lakehouse" / "samples" / "nyctaxi" / "trips"
    assert (
        f"reads samples/nyctaxi/trips, which has not been materialized yet (no Delta table "
        f"at {trips_path})" in missing.stdout + missing.stderr
    )

    TRIPS.write_delta(str(trips_path))
    out = cli(home, project, "run")
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-4000:]

    sales = home / "lakehouse" / "dev" / "sales"
    assert rows(sales / "trips_copy") == [
        (2, "b", 6.0, 2.5),
        (3, "a", 10.0, 6.0),
        (4, "b", 7.5, 3.5),
    ]
    assert rows(sales / "doubled") == [
        (2, "b", 6.0, 2.5, 12.0),
        (3, "a", 10.0, 6.0, 20.0),
        (4, "b", 7.5, 3.5, 15.0),
    ]
    assert rows(sales / "short_trips") == [(1,), (2,)]
    assert rows(sales / "fares") == [("a", 20.0), ("b", 27.0)]
    assert rows(sales / "quoted_count") == [(3,)]
    assert rows(sales / "long_trips") == [(3,), (4,)]
    assert not (home / "lakehouse" / "sales").exists()  # nothing outside the catalog
