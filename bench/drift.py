"""Benchmark: drift of 200k current rows against 1M baseline rows, mlplatform against Evidently.

    python bench/drift.py [--baseline 1000000] [--current 200000] [--seed 0] [--repeat 3]

Five numeric and two categorical features. Two numeric features and one categorical feature are
shifted, one numeric feature has a shift too small to matter (a KS test at this size still calls
it significant), the rest are drawn from the baseline distribution. Both tools get the same
pandas/polars data in one process; each is timed from raw frames to per-column drift decisions
(best of `--repeat`; imports are timed separately):

- mlplatform: `metrics.drift_table` (KS, Wasserstein, PSI and JS for numeric columns; chi-squared,
  TV, L-infinity and JS for categorical ones) then `thresholds.breaches` with the default rules
  (WARN level or above counts as drifted);
- Evidently `DataDriftPreset()` with its defaults (normed Wasserstein for numeric and JS distance
  for categorical columns at this size, threshold 0.1).

Target: at least 5 times faster than Evidently, flagging the same columns.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

NUMERIC = [f"num_{i}" for i in range(5)]
CATEGORICAL = ["cat_0", "cat_1"]
EXPECTED = {"num_0", "num_3", "cat_0"}


def make_data(n_base: int, n_cur: int, seed: int):
    """(baseline, current) pandas frames with the shifts described above."""
    import pandas as pd

    rng = np.random.default_rng(seed)

    def draw(n: int, shifted: bool) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "num_0": rng.normal(50 + (5 if shifted else 0), 10, n),  # mean +0.5 sd
                "num_1": rng.lognormal(3, 0.5, n),
                "num_2": rng.exponential(2.0, n),
                "num_3": rng.normal(0, 1.6 if shifted else 1.0, n),  # wider spread
                "num_4": rng.uniform(0, 1, n) + (0.005 if shifted else 0),  # negligible shift
                "cat_0": rng.choice(
                    ["a", "b", "c"], n, p=[0.35, 0.3, 0.35] if shifted else [0.5, 0.3, 0.2]
                ),
                "cat_1": rng.choice(list("vwxyz"), n),
            }
        )

    return draw(n_base, False), draw(n_cur, True)


def run_ours(base_pl, cur_pl):
    import polars as pl

    from mlplatform.monitoring.config import DriftRules
    from mlplatform.monitoring.metrics import drift_table
    from mlplatform.monitoring.thresholds import breaches

    table = drift_table(base_pl, cur_pl)
    keyed = table.with_columns(
        pl.lit("bench").alias("granularity"),
        pl.lit(None, pl.Datetime("us", "UTC")).alias("window_start"),
        pl.lit(None, pl.Datetime("us", "UTC")).alias("window_cmp_start"),
        pl.lit("bench").alias("model_version"),
        pl.lit("BENCH").alias("drift_type"),
    )
    found = breaches(keyed, DriftRules())
    return table, set(found["column_name"])


def run_evidently(base_pd, cur_pd):
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    definition = DataDefinition(numerical_columns=NUMERIC, categorical_columns=CATEGORICAL)
    snapshot = Report([DataDriftPreset()]).run(
        Dataset.from_pandas(cur_pd, data_definition=definition),
        Dataset.from_pandas(base_pd, data_definition=definition),
    )
    scores, flagged = {}, set()
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if not config.get("type", "").endswith("ValueDrift"):
            continue
        method, threshold, value = config["method"], config["threshold"], metric["value"]
        scores[config["column"]] = (method, value)
        drifted = value < threshold if "p_value" in method else value >= threshold
        if drifted:
            flagged.add(config["column"])
    return scores, flagged


def best(fn, *args, repeat: int):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn(*args)
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=int, default=1_000_000)
    parser.add_argument("--current", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    start = time.perf_counter()
    import polars as pl

    import mlplatform.monitoring.thresholds  # noqa: F401

    ours_import = time.perf_counter() - start
    start = time.perf_counter()
    import evidently.presets  # noqa: F401

    evidently_import = time.perf_counter() - start

    base_pd, cur_pd = make_data(args.baseline, args.current, args.seed)
    base_pl, cur_pl = pl.from_pandas(base_pd), pl.from_pandas(cur_pd)
    print(
        f"baseline {len(base_pd):,} rows, current {len(cur_pd):,} rows, "
        f"{len(NUMERIC)} numeric + {len(CATEGORICAL)} categorical features"
    )

    ours_s, (table, ours_flagged) = best(run_ours, base_pl, cur_pl, repeat=args.repeat)
    ev_s, (ev_scores, ev_flagged) = best(run_evidently, base_pd, cur_pd, repeat=args.repeat)

    print(f"\n{'column':8} {'PSI':>8} {'JS':>7} {'TV':>7} {'KS p':>9}   Evidently")
    for row in table.iter_rows(named=True):
        name = row["column_name"]
        ks = row["ks_test"] or row["chi_squared_test"]
        method, score = ev_scores.get(name, ("-", float("nan")))
        psi = row["population_stability_index"]
        tv = row["tv_distance"]
        print(
            f"{name:8} {psi if psi is not None else float('nan'):8.4f} "
            f"{row['js_distance']:7.4f} {tv if tv is not None else float('nan'):7.4f} "
            f"{ks['pvalue']:9.2e}   {method} {score:.4f}"
        )
    print(
        f"\nimport: mlplatform.monitoring {ours_import:.2f} s, evidently {evidently_import:.2f} s"
    )
    print(f"mlplatform drift: {ours_s:.3f} s (best of {args.repeat})")
    print(f"Evidently DataDriftPreset: {ev_s:.3f} s (best of {args.repeat})")
    print(f"speed-up: {ev_s / ours_s:.1f}x (target >= 5x)")
    print(f"flagged by mlplatform: {sorted(ours_flagged)}")
    print(f"flagged by Evidently:  {sorted(ev_flagged)}")
    print(f"expected:              {sorted(EXPECTED)}")
    same = ours_flagged == ev_flagged
    print(f"same columns: {same}")
    if not same or ev_s / ours_s < 5:
        sys.exit(1)


if __name__ == "__main__":
    main()
