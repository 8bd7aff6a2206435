"""The monitoring dashboard: one self-contained HTML page per run (plotly.js embedded inline).

What Lakehouse Monitoring's generated dashboard shows, from the profile and drift tables: per
window the row count and null percentages, the prediction distribution, model quality over
time (ROC AUC, accuracy, F1; the errors for regression), drift per column and per slice over
time with the warn and error levels drawn, and the alerts of the latest run. Charts cover the
finest granularity's last `MAX_WINDOWS` windows. Drift values are judged as the alerts judge them
(`thresholds.unjudged_reason`: too few rows, not significant): values that are not judged are
drawn apart and the alerts say how many crossed a level (`mlplatform.monitoring.charts`). A run
writes `$MLPLATFORM_HOME/monitoring/reports/batch-<id>/dashboard.html` and copies it to
`$MLPLATFORM_HOME/monitoring/dashboard.html`.
"""

from __future__ import annotations

import html
import shutil
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from mlplatform.catalog import INFERENCE
from mlplatform.monitoring.charts import (
    NOT_JUDGED,
    drift_traces,
    figure,
    judged_points,
    lines,
    naive_utc,
    time_axis,
)
from mlplatform.monitoring.config import DriftRules, Granularity
from mlplatform.monitoring.monitor_config import MonitorOptions
from mlplatform.monitoring.tables import (
    ALL_VERSIONS,
    BASELINE,
    CONSECUTIVE,
    MONITORING,
    TABLE_COLUMN,
    drift_store,
    profile_store,
    reports_dir,
)
from mlplatform.monitoring.thresholds import FEW_ROWS, NOT_SIGNIFICANT, crossings, slice_name
from mlplatform.settings import Settings

MAX_WINDOWS = 336
"""Windows of the finest granularity charted (two weeks of hours)."""
DRIFT_METRICS = ("js_distance", "population_stability_index")
CLASSIFICATION = ("roc_auc", "accuracy", "f1_score")
REGRESSION = ("mean_squared_error", "root_mean_squared_error", "mean_absolute_error", "r2_score")
_STYLE = """body{font-family:system-ui,sans-serif;margin:24px;color:#222}
h2{margin-top:32px;border-bottom:1px solid #ddd}table{border-collapse:collapse;font-size:13px}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}.ERROR{color:#b00}.WARN{color:#a60}
.chart{min-height:380px}"""
_WATCH = """<script>window.__errors=[];window.addEventListener('error',function(e){
window.__errors.push(String(e.message));document.body.dataset.errors=window.__errors.join(' | ')});
</script>"""
_DONE = """<script>document.body.dataset.chartsRendered=Array.from(
document.querySelectorAll('.chart')).filter(function(c){
return c.querySelector('.main-svg .scatterlayer .trace')}).length;</script>"""
"""Marks the page with the number of charts plotly drew traces in (what the browser test reads)."""


def _finest(options: MonitorOptions) -> Granularity:
    return min((Granularity.parse(g) for g in options.granularities), key=lambda g: g.length)


def _recent(frame: pl.DataFrame, granularity: str) -> pl.DataFrame:
    if frame.is_empty():
        return frame
    frame = frame.filter(pl.col("granularity") == granularity)
    windows = frame["window_start"].unique().sort().tail(MAX_WINDOWS)
    return frame.filter(pl.col("window_start").is_in(windows.implode())).sort("window_start")


def _whole(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.filter(pl.col("slice_key").is_null()) if "slice_key" in frame.columns else frame


def profile_figures(profile: pl.DataFrame, options: MonitorOptions, axis: dict) -> list:
    """Row counts, nulls, the prediction distribution and model quality over time."""
    import plotly.graph_objects as go

    whole = _whole(profile)
    table = whole.filter(pl.col("column_name") == TABLE_COLUMN)
    rows = figure("Rows per window and model version", "rows", axis)
    lines(rows, table, "model_version", "count", "version ")
    nulls = figure("Null values per column (all versions)", "% null", axis)
    columns = whole.filter(
        (pl.col("model_version") == ALL_VERSIONS) & (pl.col("column_name") != TABLE_COLUMN)
    )
    lines(nulls, columns, "column_name", "percent_null")
    prediction = whole.filter(
        (pl.col("model_version") == ALL_VERSIONS) & (pl.col("column_name") == "prediction")
    )
    spread = figure("Prediction distribution (all versions)", "prediction", axis)
    x = prediction["window_start"].to_list()
    quantiles = prediction["quantiles"].to_list()
    for i, label in ((1, "5%"), (3, "25%"), (7, "75%"), (8, "95%")):
        spread.add_trace(
            go.Scatter(x=x, y=[q[i] if q else None for q in quantiles], name=label, mode="lines")
        )
    spread.add_trace(go.Scatter(x=x, y=prediction["median"].to_list(), name="median"))
    spread.add_trace(go.Scatter(x=x, y=prediction["avg"].to_list(), name="mean"))
    regression = options.problem_type == "regression"
    quality = figure(
        "Model quality over time (labelled predictions)", "error" if regression else "score", axis
    )
    for metric in REGRESSION if regression else CLASSIFICATION:
        if metric in table.columns:
            lines(quality, table, "model_version", metric, f"{metric} v")
    return [rows, nulls, spread, quality]


def _threshold_lines(fig, metric: str, rules: DriftRules) -> None:
    levels = rules.thresholds.get(metric)
    if levels is None:
        return
    for level, value, color in (("warn", levels.warn, "orange"), ("error", levels.error, "red")):
        if value is not None:
            fig.add_hline(
                y=value, line_dash="dash", line_color=color, annotation_text=f"{level} {value:g}"
            )


def drift_figures(drift: pl.DataFrame, rules: DriftRules, axis: dict) -> list:
    """Drift per column and per slice over time, thresholds drawn; points that are not judged
    (too few rows, not significant) drawn apart (`charts.drift_traces`)."""
    figures = []
    for drift_type, against in ((BASELINE, "the baseline"), (CONSECUTIVE, "the previous window")):
        rows = drift.filter(pl.col("drift_type") == drift_type) if drift.height else drift
        for metric in DRIFT_METRICS:
            if rows.is_empty() or rows[metric].is_null().all():
                continue
            fig = figure(f"{metric} against {against}, per column", metric, axis)
            points = judged_points(_whole(rows), metric, "column_name", rules)
            drift_traces(fig, points, metric, "column_name", rules)
            _threshold_lines(fig, metric, rules)
            figures.append(fig)
            sliced = rows.filter(pl.col("slice_key").is_not_null())
            if not sliced.is_empty():
                sliced = sliced.with_columns(
                    pl.concat_str(
                        pl.col("slice_key"), pl.lit(" = "), pl.col("slice_value").fill_null("null")
                    ).alias("slice")
                )
                fig = figure(f"{metric} against {against}, worst column per slice", metric, axis)
                drift_traces(
                    fig, judged_points(sliced, metric, "slice", rules), metric, "slice", rules
                )
                _threshold_lines(fig, metric, rules)
                figures.append(fig)
    return figures


def judging_note(rules: DriftRules) -> str:
    """What the drift charts and alerts judge, in one sentence."""
    significance = (
        f" and its KS or chi-squared p-value is at most {rules.alpha:g}"
        if rules.alpha is not None
        else ""
    )
    return (
        f"A drift value is judged only when both sides of its comparison have at least "
        f"{rules.min_rows} rows{significance}; values not judged are drawn as open grey circles "
        f"({NOT_JUDGED}) and raise no alert, whatever their level."
    )


def _unjudged_text(crossed: pl.DataFrame, rules: DriftRules) -> str:
    unjudged = crossed.filter(pl.col("unjudged").is_not_null())
    if unjudged.is_empty():
        return ""
    counts = dict(unjudged.group_by("unjudged").len().iter_rows())
    why = []
    if counts.get(FEW_ROWS):
        why.append(f"{counts[FEW_ROWS]} with fewer than {rules.min_rows} rows on a side")
    if counts.get(NOT_SIGNIFICANT):
        why.append(f"{counts[NOT_SIGNIFICANT]} not significant at p <= {rules.alpha:g}")
    return (
        f"<p>{unjudged.height} value(s) of the latest run cross a warn or error level but are "
        f"not judged ({', '.join(why)}): open grey circles in the charts, no alert.</p>"
    )


def alerts_table(crossed: pl.DataFrame, rules: DriftRules) -> str:
    """The latest run's breaches as an HTML table, and the crossings that are not judged
    (`crossed`: `thresholds.crossings` of the latest run)."""
    found = crossed.filter(pl.col("unjudged").is_null())
    note = _unjudged_text(crossed, rules)
    if found.is_empty():
        if note:
            return "<p>No judged drift beyond a warn or error level in the latest run.</p>" + note
        return "<p>No drift beyond a warn or error level in the latest run.</p>"
    head = "".join(
        f"<th>{h}</th>"
        for h in ("level", "granularity", "window", "version", "slice", "type", "column", "metric")
    )
    body = []
    ordered = found.sort("level", "value", descending=[False, True])
    for r in ordered.head(200).iter_rows(named=True):
        cells = [
            r["level"],
            r["granularity"],
            f"{r['window_start']:%Y-%m-%d %H:%M}",
            r["model_version"],
            slice_name(r["slice_key"], r["slice_value"]) or "all rows",
            r["drift_type"],
            r["column_name"],
            f"{r['metric']} {r['value']:.4g} (level {r['threshold']:g})",
        ]
        tds = "".join(f"<td>{html.escape(str(c))}</td>" for c in cells)
        body.append(f'<tr class="{r["level"]}">{tds}</tr>')
    return f"<table><tr>{head}</tr>{''.join(body)}</table>{note}"


def render(
    profile: pl.DataFrame, drift: pl.DataFrame, options: MonitorOptions, rules: DriftRules
) -> str:
    """The dashboard page of the given metric rows."""
    import plotly.offline

    granularity = _finest(options)
    profile, drift = _recent(profile, granularity.name), _recent(drift, granularity.name)
    latest = drift.filter(pl.col("batch_id") == drift["batch_id"].max()) if drift.height else drift
    alerts = alerts_table(crossings(latest, rules), rules)
    profile, drift = naive_utc(profile), naive_utc(drift)
    windows = [f["window_start"] for f in (profile, drift) if f.height]
    axis = time_axis(pl.concat(windows) if windows else pl.Series([]), granularity)
    sections = [
        (
            "Data and model quality",
            profile_figures(profile, options, axis) if profile.height else [],
            "",
        ),
        ("Drift", drift_figures(drift, rules, axis) if drift.height else [], judging_note(rules)),
    ]
    parts = []
    for title, figures, note in sections:
        parts.append(f"<h2>{title}</h2>")
        if not figures:
            parts.append("<p>No windows yet.</p>")
        elif note:
            parts.append(f"<p>{html.escape(note)}</p>")
        for i, fig in enumerate(figures):
            div = fig.to_html(full_html=False, include_plotlyjs=False, div_id=f"{title[:5]}{i}")
            parts.append(f'<div class="chart">{div}</div>')
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Monitoring dashboard</title>"
        f"<style>{_STYLE}</style>{_WATCH}<script>{plotly.offline.get_plotlyjs()}</script>"
        f"</head><body><h1>{INFERENCE.key}</h1><p>{granularity.name} windows; "
        f"generated {stamp}; problem type {options.problem_type}.</p>"
        f"<h2>Current alerts</h2>{alerts}"
        f"{''.join(parts)}{_DONE}</body></html>"
    )


def write(settings: Settings, batch_id: int, options: MonitorOptions, rules: DriftRules) -> Path:
    """Render the dashboard of the monitoring tables into the run's folder and as the latest
    (`$MLPLATFORM_HOME/monitoring/dashboard.html`); return the run's file."""
    stores = (profile_store(settings), drift_store(settings))
    profile, drift = (s.read() if s.exists() else pl.DataFrame() for s in stores)
    page = render(profile, drift, options, rules)
    path = reports_dir(settings) / f"batch-{batch_id}" / "dashboard.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page)
    shutil.copyfile(path, latest_path(settings))
    return path


def latest_path(settings: Settings) -> Path:
    return settings.home / MONITORING / "dashboard.html"
