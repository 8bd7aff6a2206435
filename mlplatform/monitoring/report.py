"""The drift report: a PNG per drifted column (reference against current distribution) and a
markdown summary table, both attached to the drift table's materialization.

Plots go to `$MLPLATFORM_HOME/monitoring/reports/batch-<batch_id>/`. Only the latest recomputed
window of each granularity, version and drift type is plotted, at most `MAX_PLOTS` per run.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import polars as pl

from mlplatform.monitoring.metrics import CATEGORICAL, column_kind, finite
from mlplatform.monitoring.thresholds import slice_name

MAX_PLOTS = 24
_BINS = 40


def markdown_table(found: pl.DataFrame, limit: int = 50) -> str:
    """The breaches as a markdown table (worst level first)."""
    if found.is_empty():
        return "No column drifted beyond its thresholds."
    lines = [
        "| level | granularity | window | model version | drift type | column | metric | value "
        "| threshold |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    ordered = found.sort("level", "value", descending=[False, True])
    for r in ordered.head(limit).iter_rows(named=True):
        lines.append(
            f"| {r['level']} | {r['granularity']} | {r['window_start']:%Y-%m-%d %H:%M} UTC "
            f"| {r['model_version']} | {r['drift_type']} | `{r['column_name']}`"
            f"{_slice_suffix(r)} | {r['metric']} "
            f"| {r['value']:.4g} | {r['threshold']:g} |"
        )
    if found.height > limit:
        lines.append(f"\n{found.height - limit} more rows in the drift table.")
    return "\n".join(lines)


def _slice_suffix(row: dict) -> str:
    where = slice_name(row.get("slice_key"), row.get("slice_value"))
    return f" ({where})" if where else ""


def plot_distribution(
    ref: pl.Series, cur: pl.Series, title: str, path: Path, ref_label: str = "baseline"
) -> Path:
    """Save a PNG of the two distributions: overlaid densities or side-by-side shares."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    try:
        if column_kind(ref) == CATEGORICAL:
            r = ref.cast(pl.String).drop_nulls().value_counts(normalize=True, name="share")
            c = cur.cast(pl.String).drop_nulls().value_counts(normalize=True, name="share")
            cats = sorted(set(r[ref.name].to_list()) | set(c[cur.name].to_list()))
            rs = dict(zip(r[ref.name].to_list(), r["share"].to_list(), strict=True))
            cs = dict(zip(c[cur.name].to_list(), c["share"].to_list(), strict=True))
            x = np.arange(len(cats))
            ax.bar(x - 0.2, [rs.get(k, 0) for k in cats], 0.4, label=ref_label)
            ax.bar(x + 0.2, [cs.get(k, 0) for k in cats], 0.4, label="current")
            ax.set_xticks(x, cats)
            ax.set_ylabel("share")
        else:
            a, b = finite(ref), finite(cur)
            both = np.concatenate([a, b])
            lo, hi = np.quantile(both, [0.005, 0.995]) if both.size else (0.0, 1.0)
            bins = np.linspace(lo, hi if hi > lo else lo + 1.0, _BINS + 1)
            ax.hist(a, bins=bins, density=True, alpha=0.5, label=f"{ref_label} (n={a.size})")
            ax.hist(b, bins=bins, density=True, alpha=0.5, label=f"current (n={b.size})")
            ax.set_ylabel("density")
        ax.set_xlabel(ref.name)
        ax.set_title(title, fontsize=9)
        ax.legend()
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path)
    finally:
        plt.close(fig)
    return path


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")


def plot_breaches(found: pl.DataFrame, computation, folder: Path) -> dict[str, Path]:
    """Plot each drifted column of the latest window per granularity, version and drift type.

    Returns:
        Metadata key (`plot_<granularity>_<version>_<type>_<column>`) -> PNG path.
    """
    if found.is_empty():
        return {}
    keys = ["granularity", "model_version", "drift_type"]
    latest = found.filter(pl.col("window_start") == pl.col("window_start").max().over(keys))
    targets = (
        latest.group_by(
            [*keys, "window_start", "window_cmp_start", "slice_key", "slice_value", "column_name"]
        )
        .agg(pl.col("metric"), pl.col("value"))
        .sort([*keys, "slice_key", "slice_value", "column_name"], nulls_last=False)
    )
    plots: dict[str, Path] = {}
    for row in targets.head(MAX_PLOTS).iter_rows(named=True):
        samples = computation.samples(
            row["granularity"],
            row["window_start"],
            row["model_version"],
            row["column_name"],
            row["drift_type"],
            row["window_cmp_start"],
            row["slice_key"],
            row["slice_value"],
        )
        if samples is None:
            continue
        metrics = ", ".join(
            f"{m} {v:.3g}" for m, v in zip(row["metric"], row["value"], strict=True)
        )
        window = f"{row['window_start']:%Y-%m-%d %H:%M} UTC"
        where = slice_name(row["slice_key"], row["slice_value"])
        title = (
            f"{row['column_name']}: {row['granularity']} window {window}, version "
            f"{row['model_version']}{', ' + where if where else ''} vs "
            f"{row['drift_type'].lower()}\n{metrics}"
        )
        name = _slug(
            f"{row['granularity']}_{row['window_start']:%Y%m%dT%H%M}_v"
            f"{row['model_version']}_{row['drift_type'].lower()}_{row['column_name']}"
            + (f"_{where}" if where else "")
        )
        label = "baseline" if row["drift_type"] == "BASELINE" else "previous window"
        path = plot_distribution(*samples, title, folder / f"{name}.png", label)
        key = _slug(
            f"plot_{row['granularity']}_v{row['model_version']}_"
            f"{row['drift_type'].lower()}_{row['column_name']}" + (f"_{where}" if where else "")
        ).replace("-", "_")
        plots[key] = path
    return plots
