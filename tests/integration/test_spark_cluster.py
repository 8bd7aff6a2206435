"""The Spark engine on a standalone cluster: a master and two workers (1 core, 1 GiB each) from
pyspark's ``bin/spark-class``, executors in their own JVMs and Python workers, a Python without
mlplatform on the executors. The medallion pipeline twice equal to polars, and the clear error
when the executors' Python lacks pyarrow."""

from __future__ import annotations

import sys

import pytest
from customer_churn.demo_data import BadShares, generate
from deltalake import DeltaTable

from tests.integration._cli import materialize, run
from tests.integration._spark_services import (
    MEDALLION,
    assert_same_tables,
    executor_python,
    homes_sharing_landing,
    run_on_polars,
    start_standalone_cluster,
    stop_all,
)

pytestmark = pytest.mark.integration
SELECT = ",".join(MEDALLION)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """One standalone master with two workers for the module; yields (master URL, folder)."""
    folder = tmp_path_factory.mktemp("cluster")
    procs, url = start_standalone_cluster(folder)
    yield url, folder
    stop_all(procs)


def on_cluster(url: str, python, **extra: str) -> dict[str, str]:
    return {
        "MLPLATFORM_ENGINE": "spark",
        "MLPLATFORM_SPARK_MASTER": url,
        "PYSPARK_PYTHON": str(python),  # the executors' Python, as the workers see the path
        **extra,
    }


def test_medallion_twice_on_the_cluster_equals_polars(tmp_path, monkeypatch, cluster):
    url, folder = cluster
    python = executor_python(folder)  # polars and pyarrow only: mlplatform is shipped
    homes = homes_sharing_landing(tmp_path, ("polars", "spark"))
    shares = BadShares(malformed=0.01, unknown_field=0.01, blank_lines=0.01)
    generate(tmp_path / "shared", customers=120, events=2400, files=4, seed=8, shares=shares)
    materialize(homes["spark"], SELECT, **on_cluster(url, python))
    run_on_polars(homes["polars"], monkeypatch)
    assert assert_same_tables(homes["polars"], homes["spark"])[MEDALLION[0]] == 2400
    # the files were parsed by executors on both workers, in their own processes
    for worker in ("worker1", "worker2"):
        assert list((folder / worker).glob("app-*/*/stderr")), worker

    generate(tmp_path / "shared", customers=120, events=500, files=1, seed=9, labels=False)
    materialize(homes["spark"], SELECT, **on_cluster(url, python))
    run_on_polars(homes["polars"], monkeypatch)
    assert assert_same_tables(homes["polars"], homes["spark"])[MEDALLION[0]] == 2900
    bronze = DeltaTable(str(homes["spark"] / "lakehouse" / MEDALLION[0]))
    assert bronze.transaction_version(MEDALLION[0]) == 2 and bronze.version() == 1


FIRST_TABLE = """
import sys
from customer_churn.assets import TABLES
from mlplatform.lakehouse.engines import get_engine
from mlplatform.lakehouse.engines.spark_executors import ExecutorEnvironmentError
from mlplatform.lakehouse.engines.spark_session import session_from_config, spark_config
from mlplatform.lakehouse.update.runner import TableRunner
from mlplatform.settings import get_settings

spark = session_from_config(spark_config() | {"spark.task.maxFailures": "1"})  # fail fast
try:
    TableRunner(TABLES[0], get_settings(), get_engine("spark", spark)).run()
except ExecutorEnvironmentError as err:
    print(err)
    sys.exit(3)
"""


def test_executors_without_pyarrow_fail_with_a_clear_error(tmp_path, cluster):
    url, folder = cluster
    python = executor_python(folder, ("polars",))
    home = tmp_path / "home"
    generate(home, customers=10, events=50, files=1, seed=1, labels=False)
    failed = run([sys.executable, "-c", FIRST_TABLE], home, check=False, **on_cluster(url, python))
    assert failed.returncode == 3, failed.stderr[-3000:]
    assert failed.stdout.startswith("the Spark executors' Python cannot import 'pyarrow'")
    assert "polars==2.1.0, pyarrow==25.0.1" in failed.stdout
    assert "PYSPARK_PYTHON" in failed.stdout
    assert not (home / "lakehouse" / "bronze" / "raw_customer_events" / "_delta_log").exists()
