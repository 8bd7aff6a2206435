"""Serving benchmark: `mlplatform serve` with logging on, with logging off, and
`mlflow models serve --env-manager local`, on the same registered model, side by side.

    python bench/serving.py [--seconds 4] [--rounds 3] [--concurrency 8 32] [--rows 1 100]

For each concurrency and payload size, every server gets the same closed-loop load (each of N
keep-alive connections sends the next request as soon as the answer arrives) for `--seconds`
after a one-second warm-up; the servers take turns per cell, over several rounds, so machine
noise hits all alike, and each cell reports its median round.
Prints requests per second, p50 and p99 latency, the cost of logging, and the speed-up over
MLflow. Load comes from a small asyncio HTTP/1.1 client (Python only, no wrk needed), only to
127.0.0.1, bounded by time and by `--max-requests` per cell.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "examples" / "customer_churn"))  # the demo project's package

from bench.http_load import load, pct, ready, session_cpu  # noqa: E402
from tests.serving_models import feature_frame, register_version, set_champion  # noqa: E402

SERVERS = ("logging on", "logging off", "mlflow serve")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(name: str, home: Path, uri: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = dict(os.environ, MLPLATFORM_HOME=str(home), MLFLOW_TRACKING_URI=uri)
    # `mlflow models serve` execs uvicorn from PATH: put this venv's bin first (clean shells)
    env["PATH"] = os.pathsep.join([str(BIN), env.get("PATH", "")])
    if name == "mlflow serve":
        args = [
            str(BIN / "mlflow"),
            "models",
            "serve",
            "-m",
            "models:/churn_predictor/1",
            "--env-manager",
            "local",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ]
    else:
        args = [str(BIN / "mlplatform"), "serve", "--port", str(port)]
        args += ["--no-logging"] if name == "logging off" else []
    log = open(home / f"{name.replace(' ', '_')}.log", "w")  # noqa: SIM115 (lives with the process)
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True)
    return proc, port


def stop(proc: subprocess.Popen) -> int | None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            return proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    return proc.returncode


def logger_cost(work: Path, request: bytes, n: int = 20_000) -> float:
    """CPU microseconds per request that the inference logger adds (queue + batched commits),
    measured in this process with the server's defaults: deterministic, unlike throughput."""
    import uuid

    from mlplatform.serving.logger import InferenceLogger
    from mlplatform.serving.payload_row import PayloadRow

    body = request.split(b"\r\n\r\n", 1)[1]
    logger = InferenceLogger(work / f"logger_bench_{len(body)}")
    logger.start()
    t0 = time.process_time()
    for _ in range(n):
        logger.log(
            PayloadRow(
                uuid.uuid4().hex,
                None,
                time.time_ns() // 1000,
                200,
                1.0,
                body.decode("utf-8", errors="replace"),
                '{"predictions": [0.5]}',
                "churn_predictor",
                "1",
            )
        )
    logger.close()
    return (time.process_time() - t0) * 1e6 / n


def request_for(rows: int) -> bytes:
    frame = feature_frame(rows, seed=rows)
    frame.insert(0, "customer_id", [str(100000 + i) for i in range(rows)])
    body = json.dumps(
        {"dataframe_split": {"columns": list(frame.columns), "data": frame.values.tolist()}}
    ).encode()
    head = (
        f"POST /invocations HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json"
        f"\r\ncontent-length: {len(body)}\r\n\r\n"
    ).encode()
    return head + body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="measured seconds per cell")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--rows", type=int, nargs="+", default=[1, 100])
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="rounds over all cells; the report shows each cell's median round",
    )
    parser.add_argument("--max-requests", type=int, default=200_000, help="cap per cell")
    parser.add_argument("--workdir", type=Path, default=None, help="kept when given")
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-serving-"))
    home = work / "home"
    (home / "mlflow").mkdir(parents=True, exist_ok=True)
    uri = f"sqlite:///{home / 'mlflow' / 'mlflow.db'}"
    version = register_version(uri)
    set_champion(uri, version)
    procs = {name: start(name, home, uri) for name in SERVERS}
    results: dict[tuple[str, int, int], list[tuple]] = {}
    sent, logged = 0, None
    try:
        for _, port in procs.values():
            asyncio.run(ready(port))
        for rnd in range(1, args.rounds + 1):
            for rows in args.rows:
                request = request_for(rows)
                for conc in args.concurrency:
                    for name in SERVERS:
                        proc, port = procs[name]
                        cpu0 = session_cpu(proc.pid)
                        rps, lat, errors, total = asyncio.run(
                            load(port, request, conc, args.seconds, args.max_requests)
                        )
                        cpu1 = session_cpu(proc.pid)
                        cpu_ms = (cpu1 - cpu0) * 1000 / total if cpu0 is not None else None
                        cell = (rps, pct(lat, 0.5), pct(lat, 0.99), errors, cpu_ms)
                        results.setdefault((name, rows, conc), []).append(cell)
                        sent += total if name == "logging on" else 0
                        print(
                            f"  round {rnd} {name:12s} rows={rows:<4d} conc={conc:<3d} "
                            f"{rps:8.0f} req/s p50 {cell[1]:7.2f} ms  p99 {cell[2]:7.2f} ms "
                            f"errors {errors} cpu/request {cpu_ms or 0:.2f} ms",
                            flush=True,
                        )
    finally:
        codes = {name: stop(proc) for name, (proc, _) in procs.items()}
    report(results, args)
    print("\ninference logger alone, in process (log + batched Delta commits, all threads):")
    for rows in args.rows:
        us = logger_cost(work, request_for(rows))
        off = _median(
            [c[4] for conc in args.concurrency for c in results[("logging off", rows, conc)]]
        )
        print(
            f"  rows={rows}: {us:.1f} us CPU per request = {us / 10 / off:.1f}% of the "
            f"logging-off server's {off:.2f} ms CPU per request"
        )
    payload = home / "lakehouse" / "serving" / "churn_predictor_payload"
    if payload.exists():
        from deltalake import DeltaTable

        logged = DeltaTable(str(payload)).count()
    print(
        f"\nrequests sent to 'logging on': {sent}; rows in its payload table after SIGTERM: "
        f"{logged}; exit codes {codes}"
    )
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    sys.stdout.flush()
    os._exit(0)  # deltalake may abort at interpreter exit


def median(cells: list[tuple]) -> tuple:
    """The round with the median throughput (its latencies come with it)."""
    return sorted(cells)[len(cells) // 2]


def report(results: dict, args) -> None:
    print(
        f"\nmedian of {args.rounds} rounds, {args.seconds:g} s each, one process per server; "
        "cpu = server CPU time per request (warm-up included), the least noisy number on a "
        "shared machine"
    )
    print("\n| rows | conc | server | req/s | p50 ms | p99 ms | cpu ms/req | non-200 |")
    print("|---:|---:|---|---:|---:|---:|---:|---:|")
    for rows in args.rows:
        for conc in args.concurrency:
            for name in SERVERS:
                cells = results[(name, rows, conc)]
                rps, p50, p99 = median(cells)[:3]
                cpu = _median([c[4] for c in cells])
                errors = sum(c[3] for c in cells)
                print(
                    f"| {rows} | {conc} | {name} | {rps:.0f} | {p50:.2f} | {p99:.2f} | "
                    f"{cpu:.2f} | {errors} |"
                )
    print(
        "\n| rows | conc | logging cost: throughput | logging cost: cpu/request "
        "| logging on vs mlflow serve: throughput |"
    )
    print("|---:|---:|---:|---:|---:|")
    for rows in args.rows:
        for conc in args.concurrency:
            on, off, ml = (median(results[(n, rows, conc)])[0] for n in SERVERS)
            c_on, c_off = (_median([c[4] for c in results[(n, rows, conc)]]) for n in SERVERS[:2])
            print(
                f"| {rows} | {conc} | {100 * (1 - on / off):.1f}% | "
                f"{100 * (c_on / c_off - 1):.1f}% | {on / ml:.2f}x |"
            )


def _median(values: list) -> float:
    values = sorted(v for v in values if v is not None)
    return values[len(values) // 2] if values else float("nan")


if __name__ == "__main__":
    main()
