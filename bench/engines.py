"""The medallion pipeline on the Spark engine against the polars engine, same table code.

    python bench/engines.py --events 1000000 5000000 [--workdir D]

Each engine runs the four tables (bronze events and labels, silver, gold) from scratch on the same
landing files, with every guarantee on (ledgers, expectations, quarantine). Spark runs local[2];
its session start is reported separately.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")


def run_engine(name: str, landing: Path, home: Path, spark=None) -> dict:
    from mlplatform.features.assets import TABLES
    from mlplatform.lakehouse.engines import get_engine
    from mlplatform.lakehouse.runner import TableRunner
    from mlplatform.settings import get_settings

    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    os.symlink(landing, home / "landing")
    os.environ["MLPLATFORM_HOME"] = str(home)
    engine = get_engine(name, spark)
    times = {}
    for table in TABLES:
        start = time.perf_counter()
        TableRunner(table, get_settings(), engine).run()
        times[table.key] = time.perf_counter() - start
    times["total"] = sum(times.values())
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "mlp-engines")
    args = parser.parse_args()
    from mlplatform.features.demo_data import generate
    from mlplatform.lakehouse.engines.spark_session import get_spark_session

    start = time.perf_counter()
    spark = get_spark_session()
    spark.sparkContext.setLogLevel("ERROR")
    print(f"spark session start: {time.perf_counter() - start:.1f} s")
    for events in args.events:
        data = args.workdir / f"data-{events}"
        if not (data / "landing").exists():
            generate(data, customers=events // 50, events=events, files=20, seed=5)
        polars = run_engine("polars", data / "landing", args.workdir / "polars")
        on_spark = run_engine("spark", data / "landing", args.workdir / "spark", spark)
        print(f"\n{events:,} events        polars s   spark s   spark/polars")
        for key in polars:
            print(
                f"{key:36} {polars[key]:8.2f} {on_spark[key]:9.2f} "
                f"{on_spark[key] / polars[key]:9.2f}x"
            )
        print(
            f"events/s (total)                     {events / polars['total']:,.0f} polars, "
            f"{events / on_spark['total']:,.0f} spark"
        )


if __name__ == "__main__":
    main()
