"""The medallion pipeline on every engine placement, same table code, same landing files:
polars (embedded), Spark local[2], Spark Connect (a server from pyspark's start-connect-server.sh,
local[2] behind it) and a standalone cluster (master + two workers of 1 core and 1 GiB, from
pyspark's bin/spark-class).

    python bench/engines.py --events 1000000 5000000 [--engines polars local connect cluster]
        [--workdir D]

Each engine runs the four tables (bronze events and labels, silver, gold) from scratch with every
guarantee on (ledgers, expectations, quarantine), in a process of its own (a Connect client and a
classic driver cannot share one). The session start (or connection) is reported apart from the
tables. The Connect server and the cluster are started once and stopped at the end; their
executors run this interpreter without its site-packages (polars and pyarrow only), so
mlplatform's code is shipped with the session as it would be on a real cluster.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# the demo project's package (its pipeline and generator)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples" / "customer_churn"))

ROOT = Path(__file__).resolve().parents[1]
ENGINES = ("polars", "local", "connect", "cluster")
LABELS = {
    "polars": "polars",
    "local": "local[2]",
    "connect": "Spark Connect",
    "cluster": "standalone",
}


def run_engine(name: str, landing: Path, home: Path) -> dict:
    """In this process: the four tables on ``name`` (polars, or spark as the environment says)."""
    from customer_churn.assets import TABLES

    from mlplatform.lakehouse.engines import get_engine
    from mlplatform.lakehouse.update.runner import TableRunner
    from mlplatform.settings import get_settings

    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    os.symlink(landing, home / "landing")
    os.environ["MLPLATFORM_HOME"] = str(home)
    times = {}
    spark = None
    if name != "polars":
        from mlplatform.lakehouse.engines.spark_session import get_spark_session

        start = time.perf_counter()
        spark = get_spark_session()
        times["session start"] = time.perf_counter() - start
    engine = get_engine("polars" if name == "polars" else "spark", spark)
    for table in TABLES:
        start = time.perf_counter()
        TableRunner(table, get_settings(), engine).run()
        times[table.key] = time.perf_counter() - start
    times["tables total"] = sum(v for k, v in times.items() if k != "session start")
    return times


def in_subprocess(name: str, landing: Path, home: Path, env: dict) -> dict:
    args = [sys.executable, __file__, "--one", name, "--landing", str(landing), "--home", str(home)]
    proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES))
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "mlp-engines")
    parser.add_argument("--one", choices=ENGINES, help=argparse.SUPPRESS)
    parser.add_argument("--landing", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--home", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_engine(args.one, args.landing, args.home)))
        return
    sys.path.insert(0, str(ROOT))
    from customer_churn.demo_data import generate

    from tests.integration._spark_services import (
        executor_python,
        start_connect_server,
        start_standalone_cluster,
        stop_all,
    )

    services = args.workdir / "services"
    shutil.rmtree(services, ignore_errors=True)
    services.mkdir(parents=True)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MLPLATFORM_", "PYSPARK_"))}
    base["SPARK_LOCAL_IP"] = "127.0.0.1"
    envs = {"polars": base, "local": base}
    procs = []
    try:
        if "connect" in args.engines:
            (services / "connect").mkdir()
            proc, url = start_connect_server(services / "connect", driver_memory="3g")
            procs.append(proc)
            envs["connect"] = dict(base, MLPLATFORM_SPARK_REMOTE=url)
        if "cluster" in args.engines:
            (services / "cluster").mkdir()
            cluster, url = start_standalone_cluster(services / "cluster")
            procs.extend(cluster)
            python = str(executor_python(services / "cluster"))
            envs["cluster"] = dict(base, MLPLATFORM_SPARK_MASTER=url, PYSPARK_PYTHON=python)
        load = os.getloadavg()
        print(f"load average at start: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
        for events in args.events:
            data = args.workdir / f"data-{events}"
            if not (data / "landing").exists():
                generate(data, customers=events // 50, events=events, files=20, seed=5)
            results = {
                name: in_subprocess(name, data / "landing", args.workdir / name, envs[name])
                for name in args.engines
            }
            report(events, results)
    finally:
        stop_all(procs)


def report(events: int, results: dict) -> None:
    names = list(results)
    header = "".join(f"{LABELS[n] + ' s':>16}" for n in names)
    print(f"\n{events:,} events{'':22}{header}")
    keys = {k for r in results.values() for k in r}
    ordered = [k for k in ("session start",) if k in keys]
    ordered += [k for k in results[names[0]] if k not in ("session start", "tables total")]
    for key in [*ordered, "tables total"]:
        cells = "".join(
            f"{results[n][key]:16.2f}" if key in results[n] else f"{'-':>16}" for n in names
        )
        print(f"{key:36}{cells}")
    rates = "".join(f"{events / results[n]['tables total']:16,.0f}" for n in names)
    print(f"{'events/s (tables total)':36}{rates}")
    print(f"load average now: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
