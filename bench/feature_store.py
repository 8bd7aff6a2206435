"""Feature store benchmark: ours against Feast 0.67 on the same generated data, side by side.

    python bench/feature_store.py --feast-python .venv-feast/bin/python [--events 5000000]

Make the Feast virtualenv once (Feast downgrades tenacity below the project's pin):
`uv venv -p python3.11 .venv-feast && uv pip install -p .venv-feast/bin/python feast==0.67.0`.

1. Point-in-time training set for `--labels` label rows over the history of `--events` events:
   `create_training_set` on `gold/customer_ml_features_history` against Feast's
   `get_historical_features` on a file offline store (the same history rows, as parquet).
2. Online lookup of 1 and 100 keys, p50/p99, in process: ours on SQLite and on PostgreSQL (when
   this machine has a local server and runs as root, a database of its own, dropped after)
   against Feast's `get_online_features` on its SQLite online store.
3. Serving: `mlplatform serve` scoring key-only requests (features looked up) against `mlflow
   models serve` given all features, one row per request, at concurrency 8.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.http_load import load, pct, ready  # noqa: E402
from bench.serving import free_port, stop  # noqa: E402

# the demo project's package (its pipeline and generator)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples" / "customer_churn"))

EVENT_TYPES = ["page_view", "login", "add_to_cart", "purchase", "support_ticket"]
END = datetime(2026, 11, 1)


def generate_silver(events: int, customers: int, days: int, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    who = rng.integers(0, customers, events)
    offset = (rng.random(events) * days * 86400).astype(np.int64)
    start = np.datetime64(END - timedelta(days=days), "us")
    return pl.DataFrame(
        {
            "customer_id": pl.Series((who + 100000).astype(str)),
            "event_type": np.array(EVENT_TYPES)[rng.integers(0, 5, events)],
            "amount": np.round(rng.lognormal(3.0, 0.6, events), 2),
            "event_timestamp": start + offset.astype("timedelta64[s]"),
        }
    ).with_columns(pl.col("event_timestamp").cast(pl.Datetime("us")))


def labels_frame(n: int, customers: int, days: int, seed: int = 1) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    start = np.datetime64(END - timedelta(days=days), "us")
    at = start + (rng.random(n) * days * 86400e6).astype("timedelta64[us]")
    return pl.DataFrame(
        {
            "customer_id": (rng.integers(0, customers, n) + 100000).astype(str),
            "label_timestamp": at,
            "churned": rng.integers(0, 2, n).astype(np.int8),
        }
    ).with_columns(pl.col("label_timestamp").cast(pl.Datetime("us")))


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def lookup_latency(store, table: str, keys: list[str], n: int, calls: int) -> tuple[float, float]:
    lat = []
    for i in range(calls):
        batch = keys[(i * n) % len(keys) :][:n]
        t0 = time.perf_counter()
        found = store.lookup(table, "customer_id", batch)
        lat.append((time.perf_counter() - t0) * 1000)
        assert len(found) == len(batch)
    lat.sort()
    return pct(lat, 0.5), pct(lat, 0.99)


def postgres_uri() -> tuple[str | None, callable]:
    """A database of our own on the local server (None when there is none)."""
    from tests.integration._services import PgAdmin

    admin = PgAdmin()
    ok, reason = admin.available()
    if not ok:
        print(f"  PostgreSQL skipped: {reason}")
        return None, lambda: None
    name = f"mlp_bench_{uuid.uuid4().hex[:8]}"
    password = secrets.token_hex(12)
    admin.execute(
        f"CREATE ROLE {name} LOGIN PASSWORD '{password}'", f"CREATE DATABASE {name} OWNER {name}"
    )

    def drop():
        admin.execute(
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'",
            f"DROP DATABASE IF EXISTS {name}",
            f"DROP ROLE IF EXISTS {name}",
        )

    return f"postgresql://{name}:{password}@{admin.host}:{admin.port}/{name}", drop


def serving(home: Path, keys: list[str], seconds: float, conc: int) -> dict:
    """Key-only requests to our server against all-feature requests to `mlflow models serve`."""
    from customer_churn.tables import GOLD_NUMERIC_FEATURES
    from mlflow import MlflowClient

    from mlplatform.feature_store.spec import FeatureSpec
    from tests.serving_models import feature_frame, register_version, set_champion

    uri = f"sqlite:///{home / 'mlflow' / 'mlflow.db'}"
    (home / "mlflow").mkdir(parents=True, exist_ok=True)
    version = register_version(uri)
    spec = FeatureSpec(
        "gold/customer_ml_features_history",
        "customer_id",
        "label_timestamp",
        [*GOLD_NUMERIC_FEATURES, "last_event_at"],
        0,
        {"recency_days": "last_event_at"},
    )
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    for k, v in spec.tags().items():
        client.set_model_version_tag("churn_predictor", str(version), k, v)
    set_champion(uri, version)
    env = dict(os.environ, MLPLATFORM_HOME=str(home), MLFLOW_TRACKING_URI=uri)
    env.pop("MLPLATFORM_ONLINE_STORE_URI", None)
    bin_dir = Path(sys.executable).parent
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"  # mlflow serve execs uvicorn
    ours_port, mlflow_port = free_port(), free_port()
    logs = {n: open(home / f"{n}.log", "w") for n in ("ours", "mlflow")}  # noqa: SIM115
    procs = {
        "ours": subprocess.Popen(
            [str(bin_dir / "mlplatform"), "serve", "--port", str(ours_port)],
            env=env,
            cwd=ROOT,
            stdout=logs["ours"],
            stderr=logs["ours"],
            start_new_session=True,
        ),
        "mlflow": subprocess.Popen(
            [str(bin_dir / "mlflow"), "models", "serve", "-m", f"models:/churn_predictor/{version}"]
            + ["--env-manager", "local", "-h", "127.0.0.1", "-p", str(mlflow_port)],
            env=env,
            cwd=ROOT,
            stdout=logs["mlflow"],
            stderr=logs["mlflow"],
            start_new_session=True,
        ),
    }

    def request(body: dict) -> bytes:
        data = json.dumps(body).encode()
        head = (
            "POST /invocations HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json"
            f"\r\ncontent-length: {len(data)}\r\n\r\n"
        ).encode()
        return head + data

    frame = feature_frame(1)
    full = request(
        {"dataframe_split": {"columns": list(frame.columns), "data": frame.values.tolist()}}
    )
    key_only = request({"dataframe_records": [{"customer_id": keys[0]}]})
    out = {}
    try:
        asyncio.run(ready(ours_port))
        asyncio.run(ready(mlflow_port))
        for name, port, body in (("ours", ours_port, key_only), ("mlflow", mlflow_port, full)):
            asyncio.run(load(port, body, conc, 1.0, 100_000))  # warm-up
            rps, lat, errors, total = asyncio.run(load(port, body, conc, seconds, 200_000))
            lat = sorted(lat)
            out[name] = {
                "rps": rps,
                "p50_ms": pct(lat, 0.5),
                "p99_ms": pct(lat, 0.99),
                "errors": errors,
            }
    finally:
        for proc in procs.values():
            stop(proc)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feast-python", type=Path, required=True)
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--labels", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--lookups", type=int, default=2000, help="1-key calls (100-key: 1/4)")
    parser.add_argument("--seconds", type=float, default=5.0, help="serving load per server")
    parser.add_argument("--workdir", type=Path, default=None, help="kept when given")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-feature-store-"))
    home = work / "home"
    os.environ["MLPLATFORM_HOME"] = str(home)
    os.environ.pop("MLPLATFORM_ONLINE_STORE_URI", None)

    from customer_churn.churn_training_set import feature_lookup
    from customer_churn.feature_assets import history_store, silver_store
    from customer_churn.history import series_spec

    from mlplatform.feature_store.online import OnlineStore
    from mlplatform.feature_store.publish import publish_latest
    from mlplatform.feature_store.timeseries import BATCH_COLUMN, refresh_series
    from mlplatform.feature_store.training_set import create_training_set
    from mlplatform.settings import get_settings

    settings = get_settings()
    silver, gen_s = timed(generate_silver, args.events, args.customers, args.days)
    silver_store(settings).write(silver, 1)
    run, hist_s = timed(
        refresh_series,
        history_store(settings),
        silver_store(settings),
        series_spec("1 day"),
        checkpoints=settings.checkpoints,
    )
    print(
        f"{args.events} events, {args.customers} customers: history of {run.rows} rows "
        f"built in {hist_s:.2f} s (generation {gen_s:.1f} s)"
    )
    labels = labels_frame(args.labels, args.customers, args.days)
    lookup = feature_lookup()
    results = {}
    ours, ours_s = timed(create_training_set, labels, [lookup], "churned")
    results["ours_pit_s"] = ours_s
    hist_parquet, labels_parquet, keys_file = (
        work / "history.parquet",
        work / "labels.parquet",
        work / "keys.json",
    )
    history_store(settings).read().drop(BATCH_COLUMN).write_parquet(hist_parquet)
    labels.write_parquet(labels_parquet)
    keys = [str(100000 + i) for i in np.random.default_rng(2).permutation(args.customers)[:5000]]
    keys_file.write_text(json.dumps(keys))

    sqlite = OnlineStore.from_settings(settings)
    _, pub_s = timed(
        publish_latest,
        sqlite,
        "customer_ml_features",
        history_store(settings),
        "customer_id",
        "feature_timestamp",
    )
    results["ours_sqlite_publish_s"] = pub_s
    for n in (1, 100):
        calls = args.lookups if n == 1 else args.lookups // 4
        results[f"ours_sqlite_{n}"] = lookup_latency(sqlite, "customer_ml_features", keys, n, calls)
    pg_uri, drop = postgres_uri()
    try:
        if pg_uri:
            pg = OnlineStore(pg_uri)
            _, pg_pub = timed(
                publish_latest,
                pg,
                "customer_ml_features",
                history_store(settings),
                "customer_id",
                "feature_timestamp",
            )
            results["ours_pg_publish_s"] = pg_pub
            for n in (1, 100):
                calls = args.lookups if n == 1 else args.lookups // 4
                results[f"ours_pg_{n}"] = lookup_latency(pg, "customer_ml_features", keys, n, calls)
            pg.close()
    finally:
        drop()

    feast = subprocess.run(
        [
            str(args.feast_python),
            str(ROOT / "bench" / "peers" / "feast_store.py"),
            "--work",
            str(work),
            "--history",
            str(hist_parquet),
            "--labels",
            str(labels_parquet),
            "--keys",
            str(keys_file),
            "--lookups",
            str(args.lookups),
            "--features",
            *lookup.feature_names,
        ],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if feast.returncode != 0:
        print(feast.stderr[-3000:])
        raise SystemExit("the Feast side failed")
    fr = json.loads(feast.stdout.strip().splitlines()[-1])
    print(
        f"rows out: ours {ours.frame.height} ({ours.null_feature_rows()} without a feature row), "
        f"Feast {fr['pit_rows']} ({fr['pit_null_rows']} without)"
    )

    print(f"\n| point-in-time training set, {args.labels} labels | seconds |")
    print("|---|---:|")
    print(
        f"| ours (create_training_set, polars join_asof on Delta) | {results['ours_pit_s']:.2f} |"
    )
    print(f"| Feast get_historical_features (file offline store) | {fr['pit_s']:.2f} |")
    print(f"| speed-up | {fr['pit_s'] / results['ours_pit_s']:.1f}x |")
    print("\n| online lookup (in process) | 1 key p50 | 1 key p99 | 100 keys p50 | 100 keys p99 |")
    print("|---|---:|---:|---:|---:|")
    rows = [("ours, SQLite", "ours_sqlite"), ("ours, PostgreSQL", "ours_pg")]
    for label, key in rows:
        if f"{key}_1" in results:
            (a, b), (c, d) = results[f"{key}_1"], results[f"{key}_100"]
            print(f"| {label} | {a:.3f} ms | {b:.3f} ms | {c:.3f} ms | {d:.3f} ms |")
    print(
        f"| Feast get_online_features, SQLite | {fr['online_1_p50_ms']:.3f} ms | "
        f"{fr['online_1_p99_ms']:.3f} ms | {fr['online_100_p50_ms']:.3f} ms | "
        f"{fr['online_100_p99_ms']:.3f} ms |"
    )
    print(
        f"\npublish of {args.customers} keys: ours SQLite {results['ours_sqlite_publish_s']:.2f} s"
        + (
            f", PostgreSQL {results['ours_pg_publish_s']:.2f} s"
            if "ours_pg_publish_s" in results
            else ""
        )
        + f"; Feast materialize {fr['materialize_s']:.2f} s"
    )
    srv = serving(home, keys, args.seconds, 8)
    print("\n| serving, 1 row, concurrency 8 | req/s | p50 ms | p99 ms | errors |")
    print("|---|---:|---:|---:|---:|")
    for name, label in (
        ("ours", "mlplatform serve, key only (lookup)"),
        ("mlflow", "mlflow models serve, all features"),
    ):
        r = srv[name]
        print(
            f"| {label} | {r['rps']:.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['errors']} |"
        )
    print(f"| throughput ratio | {srv['ours']['rps'] / srv['mlflow']['rps']:.2f}x | | | |")
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    sys.stdout.flush()
    os._exit(0)  # deltalake may abort at interpreter exit


if __name__ == "__main__":
    main()
