"""End-to-end pipeline benchmark: mlplatform (`dagster asset materialize`, every guarantee on)
against the same pipeline as a plain polars, pandas and PySpark local[2] script, on the same files.

    python bench/pipeline.py --events 1000000 5000000 [--peers duckdb polars pandas spark]
        [--repeat N] [--workdir D] [--mix demo|messy] [--no-incremental]

Prints wall time (the median of --repeat runs), events per second and peak memory of each, the
ratios against mlplatform, and the cost of an incremental run that adds 1% new events relative to
the full run: in wall time, inside the steps, and above a no-op run (nothing new: the fixed cost
of a `dagster` command and of reading the ledgers). The peers compute the same gold features.
Peak memory is the process's own: the Spark script's JVM is not counted.

``--mix messy`` generates another line mix than the demo defaults: many numbers written as JSON
strings (``--numeric-text 0.43``: half of those are amounts), 2% malformed lines and 5% unknown
fields (demo-data caps the bad shares at half the lines).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PEERS = {
    "duckdb": "bench/peers/duckdb_pipeline.py",
    "polars": "bench/peers/polars_pipeline.py",
    "pandas": "bench/peers/pandas_pipeline.py",
    "spark": "bench/peers/spark_pipeline.py",
}


_STEP = re.compile(r'Finished execution of step "[^"]+" in ([0-9.]+)(ms|s)\.')


def timed(args: list[str], env: dict) -> tuple[float, float, float]:
    """Run a command; return (wall s, peak RSS MiB, seconds inside Dagster steps)."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        log.seek(0)
        text = log.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{text[-3000:]}")
    steps = sum(float(v) / (1000 if unit == "ms" else 1) for v, unit in _STEP.findall(text))
    return wall, usage.ru_maxrss / 1024, steps


def env_for(home: Path) -> dict:
    env = dict(
        os.environ,
        MLPLATFORM_HOME=str(home),
        DAGSTER_HOME=str(home / "dagster"),
        SPARK_LOCAL_IP="127.0.0.1",
    )
    (home / "dagster").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ROOT / "dagster.yaml", home / "dagster" / "dagster.yaml")
    return env


def demo_data(env: dict, *args: str) -> None:
    cmd = [str(BIN / "mlplatform"), "demo-data", *args]
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


MIXES = {
    "demo": [],
    "messy": ["--numeric-text", "0.43", "--malformed", "0.02", "--unknown-field", "0.05"],
}


def bench(
    events: int,
    workdir: Path,
    peers: list[str],
    repeat: int = 1,
    mix: str = "demo",
    incremental: bool = True,
) -> list[tuple]:
    """Each pipeline ``repeat`` times: the median wall and step time, the largest peak RSS."""
    home = workdir / f"events-{events}-{mix}"
    env = env_for(home)
    customers = str(events // 50)
    if not (home / "landing").exists():
        files = str(max(20, events // 250_000))
        demo_data(
            env, "--customers", customers, "--events", str(events), "--files", files, *MIXES[mix]
        )
    extra = home / "landing" / "customer_events" / "events-s99-00000.json"
    mat = [
        str(BIN / "dagster"),
        "asset",
        "materialize",
        "-m",
        "mlplatform.definitions",
        "--select",
        "*gold/customer_ml_features",
    ]
    runs: dict[str, list[tuple]] = {}
    for _ in range(repeat):
        for sub in ("lakehouse", "dagster/storage", "dagster/history"):
            shutil.rmtree(home / sub, ignore_errors=True)
        extra.unlink(missing_ok=True)
        runs.setdefault("mlplatform", []).append(timed(mat, env))
        if incremental:
            more = ["--customers", customers, "--events", str(events // 100), "--files", "1"]
            demo_data(env, *more, "--seed", "99", "--no-labels", *MIXES[mix])
            runs.setdefault("mlplatform +1% (incremental)", []).append(timed(mat, env))
            runs.setdefault("mlplatform, nothing new (no-op)", []).append(timed(mat, env))
            extra.unlink()
        for peer in peers:
            out = Path(tempfile.mkdtemp(dir=workdir))
            cmd = [sys.executable, PEERS[peer], str(home / "landing" / "customer_events"), str(out)]
            runs.setdefault(f"{peer} script", []).append(timed(cmd, env))
            shutil.rmtree(out, ignore_errors=True)
    return [
        (
            name,
            statistics.median(r[0] for r in results),
            max(r[1] for r in results),
            statistics.median(r[2] for r in results),
        )
        for name, results in runs.items()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--peers", nargs="*", default=list(PEERS), choices=list(PEERS))
    parser.add_argument("--repeat", type=int, default=1, help="runs of each; medians reported")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "mlp-bench")
    parser.add_argument("--mix", choices=list(MIXES), default="demo", help="landing line mix")
    parser.add_argument("--no-incremental", action="store_true", help="full runs only")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    for events in args.events:
        rows = bench(
            events, args.workdir, args.peers, args.repeat, args.mix, not args.no_incremental
        )
        base = rows[0][1]
        print(f"\n{events:,} events")
        header = f"{'wall s':>8} {'events/s':>12} {'peak MiB':>9} {'wall / mlplatform':>18}"
        print(f"{'pipeline':32} {header}")
        for name, wall, rss, _ in rows:
            ratio = wall / base
            print(f"{name:32} {wall:8.2f} {events / wall:12,.0f} {rss:9.0f} {ratio:17.2f}x")
        names = [r[0] for r in rows]
        if "duckdb script" in names:
            duck = rows[names.index("duckdb script")][1]
            print(f"mlplatform / duckdb script, wall: {base / duck:.2f}x (target <= 1.0x)")
        if args.no_incremental:
            continue
        print(
            f"incremental run (+1% events) / full run, wall: {rows[1][1] / base:.1%}; "
            f"inside the steps: {rows[1][3]:.2f} s / {rows[0][3]:.2f} s = "
            f"{rows[1][3] / rows[0][3]:.1%}; above the no-op run: "
            f"{rows[1][1] - rows[2][1]:.2f} s / {base - rows[2][1]:.2f} s = "
            f"{(rows[1][1] - rows[2][1]) / (base - rows[2][1]):.1%}"
        )


if __name__ == "__main__":
    main()
