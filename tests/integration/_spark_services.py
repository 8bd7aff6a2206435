"""Real Spark services on loopback, from pyspark's own scripts: a Spark Connect server and a
standalone master with two workers. Also the medallion comparison both test modules use.

The executors get a Python that has polars and pyarrow but not mlplatform (the project's
interpreter without its site-packages), so the tests only pass if the engine ships its code.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

import polars as pl
import pyarrow
import pyspark
import pytest
from customer_churn.assets import TABLES
from polars.testing import assert_frame_equal

from mlplatform.lakehouse.engines import get_engine
from mlplatform.lakehouse.engines.spark_jars import connect_server_args, jar_paths, session_jars
from mlplatform.lakehouse.update.runner import TableRunner
from mlplatform.settings import get_settings
from tests.integration._services import free_port, require, start, stop

SPARK_HOME = Path(pyspark.__file__).parent
MEDALLION = (
    "bronze/raw_customer_events",
    "bronze/raw_customer_labels",
    "silver/cleaned_customer_events",
    "silver/cleaned_customer_events_quarantine",
    "gold/customer_ml_features",
)
VOLATILE = ("_ingested_at", "_quarantined_at")


def executor_python(folder: Path, packages=("polars", "pyarrow")) -> Path:
    """An executable that runs this interpreter with only ``packages`` importable (by default
    polars and pyarrow, no mlplatform)."""
    name = "-".join(packages)
    site = folder / f"executor-site-{name}"
    site.mkdir(parents=True, exist_ok=True)
    installed = Path(pl.__file__).parent.parent
    assert Path(pyarrow.__file__).parent.parent == installed
    found = [installed / p for p in packages]
    if "polars" in packages:  # polars' compiled runtime is a package of its own
        found += sorted(installed.glob("_polars_runtime*"))
    for path in found:
        if path.is_dir() and not (site / path.name).exists():
            (site / path.name).symlink_to(path)
    script = folder / f"executor-python-{name}"
    script.write_text(
        "#!/bin/sh\n"
        f"# this interpreter without its site-packages: only {', '.join(packages)}\n"
        f'PYTHONPATH="{site}${{PYTHONPATH:+:$PYTHONPATH}}" exec "{sys.executable}" -S "$@"\n'
    )
    script.chmod(0o755)
    return script


def _spark_env(folder: Path, python: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLPLATFORM_", "PYSPARK_"))}
    env.update(
        SPARK_HOME=str(SPARK_HOME),
        SPARK_LOG_DIR=str(folder / "logs"),
        SPARK_PID_DIR=str(folder / "pids"),
        SPARK_NO_DAEMONIZE="1",  # the script stays in the foreground: stop() ends its group
        SPARK_LOCAL_IP="127.0.0.1",
        PYSPARK_PYTHON=str(python),
    )
    return env


def _wait_port(port: int, proc, log: Path, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"spark exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    pytest.fail(f"port {port} not open after {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def _wait_log(text: str, log: Path, proc, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"spark exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        if log.exists() and text in log.read_text(errors="replace"):
            return
        time.sleep(0.5)
    pytest.fail(f"{text!r} not in {log} after {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def start_connect_server(folder: Path, driver_memory: str = "1g"):
    """A Spark Connect server on a free loopback port; returns (process, sc:// URL).

    ``spark-submit --class org.apache.spark.sql.connect.service.SparkConnectServer``, what
    Spark's ``sbin/start-connect-server.sh`` runs (the pyspark 4.2 wheel does not ship that
    script), in the foreground.

    The server gets Delta Lake's Spark connector (``--jars``, Delta's extension and catalog) when
    the jars are fetched (``mlplatform spark fetch-jars``, which ``.ci/run`` runs first)."""
    require(bool(_java()), "Java is not installed (Spark needs it)")
    jars = jar_paths()
    port = free_port()
    log = folder / "connect-server.log"
    cmd = [
        str(SPARK_HOME / "bin" / "spark-submit"),
        "--class",
        "org.apache.spark.sql.connect.service.SparkConnectServer",
        "--name",
        "Spark Connect server",
        "--master",
        "local[2]",
        "--driver-memory",
        driver_memory,
        "--conf",
        f"spark.connect.grpc.binding.port={port}",
        "--conf",
        "spark.connect.grpc.binding.address=127.0.0.1",
        "--conf",
        "spark.ui.enabled=false",
        *(connect_server_args(session_jars(jars, s3a=False)) if jars else []),
    ]
    proc = start(cmd, _spark_env(folder, executor_python(folder)), log, cwd=folder)
    _wait_port(port, proc, log)
    return proc, f"sc://127.0.0.1:{port}"


def start_standalone_cluster(folder: Path):
    """A standalone master and two workers (1 core, 1 GiB each); returns (processes, URL).

    A classic driver names its executors' Python (its own ``PYSPARK_PYTHON``); the workers are
    given the same one only for tools that read theirs."""
    require(bool(_java()), "Java is not installed (Spark needs it)")
    env = _spark_env(folder, executor_python(folder))
    port = free_port()
    spark_class = str(SPARK_HOME / "bin" / "spark-class")
    master_log = folder / "master.log"
    master = start(
        [
            spark_class,
            "org.apache.spark.deploy.master.Master",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--webui-port",
            str(free_port()),
        ],
        env,
        master_log,
        cwd=folder,
    )
    procs = [master]
    _wait_port(port, master, master_log)
    url = f"spark://127.0.0.1:{port}"
    for i in (1, 2):
        work = folder / f"worker{i}"
        work.mkdir()
        worker_env = dict(env, SPARK_WORKER_DIR=str(work))
        cmd = [
            spark_class,
            "org.apache.spark.deploy.worker.Worker",
            "--host",
            "127.0.0.1",
            "--cores",
            "1",
            "--memory",
            "1g",
            "--webui-port",
            str(free_port()),
            url,
        ]
        procs.append(start(cmd, worker_env, folder / f"worker{i}.log", cwd=folder))
    for i, proc in enumerate(procs[1:], start=1):
        _wait_log("Successfully registered with master", folder / f"worker{i}.log", proc)
    return procs, url


def stop_all(procs) -> None:
    for proc in reversed(procs):
        stop(proc)


def _java() -> str | None:
    import shutil

    return shutil.which("java")


def run_on_polars(home: Path, monkeypatch) -> None:
    """The medallion tables of ``home`` on the polars engine, in this process."""
    monkeypatch.setenv("MLPLATFORM_HOME", str(home))
    for table in TABLES:
        TableRunner(table, get_settings(), get_engine("polars")).run()


def assert_same_tables(polars_home: Path, spark_home: Path) -> dict[str, int]:
    """Every medallion table of both homes holds the same rows; returns the row counts."""
    counts = {}
    for key in MEDALLION:
        a = pl.read_delta(str(polars_home / "lakehouse" / key)).drop(VOLATILE, strict=False)
        b = pl.read_delta(str(spark_home / "lakehouse" / key)).drop(VOLATILE, strict=False)
        assert a.schema == b.schema, key
        assert len(a) > 0, key
        assert_frame_equal(a.sort(a.columns), b.sort(a.columns))
        counts[key] = len(a)
    return counts


def homes_sharing_landing(tmp: Path, names: tuple[str, ...]) -> dict[str, Path]:
    """Data homes whose ``landing`` is one shared folder (the same ``_source_file`` paths)."""
    shared = tmp / "shared"
    (shared / "landing").mkdir(parents=True, exist_ok=True)
    homes = {}
    for name in names:
        homes[name] = tmp / name
        homes[name].mkdir()
        os.symlink(shared / "landing", homes[name] / "landing")
    return homes
