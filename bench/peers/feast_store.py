"""The Feast side of bench/feature_store.py; runs in a virtualenv of its own with feast==0.67.0
(Feast downgrades tenacity below the project's pin). Prints one JSON line of timings.

    FEAST_PYTHON bench/peers/feast_store.py --work DIR --history H.parquet --labels L.parquet
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import timedelta
from pathlib import Path

import pandas as pd
from feast import Entity, FeatureStore, FeatureView, Field, FileSource, ValueType
from feast.types import Float64, Int64, UnixTimestamp

INTS = {"total_events", "event_count", "purchase_count"}


def dtype(name: str):
    if name.endswith("_at"):
        return UnixTimestamp
    return Int64 if name in INTS else Float64


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--history", type=Path, required=True)
    parser.add_argument("--labels", type=Path, required=True)
    parser.add_argument("--features", nargs="+", required=True)
    parser.add_argument("--keys", type=Path, required=True, help="JSON list of lookup keys")
    parser.add_argument("--lookups", type=int, default=2000)
    args = parser.parse_args()
    repo = args.work / "feast_repo"
    (repo / "data").mkdir(parents=True, exist_ok=True)
    (repo / "feature_store.yaml").write_text(
        "project: bench\nregistry: data/registry.db\nprovider: local\n"
        "online_store:\n  type: sqlite\n  path: data/online.db\n"
        "offline_store:\n  type: file\nentity_key_serialization_version: 3\n"
    )
    store = FeatureStore(repo_path=str(repo))
    customer = Entity(name="customer", join_keys=["customer_id"], value_type=ValueType.STRING)
    view = FeatureView(
        name="customer_features",
        entities=[customer],
        ttl=timedelta(days=3650),
        schema=[Field(name=f, dtype=dtype(f)) for f in args.features],
        source=FileSource(path=str(args.history), timestamp_field="feature_timestamp"),
        online=True,
    )
    store.apply([customer, view])
    refs = [f"customer_features:{f}" for f in args.features]
    labels = pd.read_parquet(args.labels).rename(columns={"label_timestamp": "event_timestamp"})
    t0 = time.perf_counter()
    frame = store.get_historical_features(entity_df=labels, features=refs).to_df()
    pit_s = time.perf_counter() - t0
    history = pd.read_parquet(args.history, columns=["feature_timestamp"])
    t0 = time.perf_counter()
    store.materialize(
        history["feature_timestamp"].min() - timedelta(days=1),
        history["feature_timestamp"].max() + timedelta(days=1),
    )
    materialize_s = time.perf_counter() - t0
    keys = json.loads(args.keys.read_text())
    out = {
        "pit_s": pit_s,
        "pit_rows": len(frame),
        "pit_null_rows": int(frame[args.features[0]].isna().sum()),
        "materialize_s": materialize_s,
    }
    for n in (1, 100):
        lat = []
        for i in range(args.lookups if n == 1 else args.lookups // 4):
            rows = [{"customer_id": k} for k in keys[(i * n) % len(keys) :][:n]]
            t0 = time.perf_counter()
            store.get_online_features(features=refs, entity_rows=rows).to_dict()
            lat.append((time.perf_counter() - t0) * 1000)
        out[f"online_{n}_p50_ms"] = pct(lat, 0.5)
        out[f"online_{n}_p99_ms"] = pct(lat, 0.99)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
