"""The dashboard's chart pieces (plotly): a figure over the charted windows, lines per series,
and drift points split into judged and not judged.

Every chart shares one time axis: the charted windows padded by half a window on each side
(one window reads as its own date and hour, not as milliseconds around it), ticks at the window
starts with their dates while there are few windows. A drift point is judged as the alerts
judge it (`thresholds.unjudged_reason`): judged points are lines, points that are not judged
are open grey circles whose hover text says why, so a point drawn above a level without an
alert always reads as "not judged".
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from mlplatform.monitoring.config import DriftRules, Granularity
from mlplatform.monitoring.thresholds import unjudged_reason

MAX_TICKS = 24
"""Up to this many windows, every window start is a tick labelled with its date."""
NOT_JUDGED = "not judged"
"""The name of a drift chart's trace of points that are not judged."""


def naive_utc(frame: pl.DataFrame) -> pl.DataFrame:
    """`window_start` as naive UTC (plotly.js ignores offsets; the axis says UTC)."""
    if frame.is_empty() or frame.schema["window_start"].time_zone is None:
        return frame
    start = pl.col("window_start").dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    return frame.with_columns(start)


def time_axis(windows: pl.Series, granularity: Granularity) -> dict:
    """The x axis of every chart for these window starts (naive UTC)."""
    if windows.is_empty():
        return {}
    starts = windows.unique().sort()
    half = granularity.length / 2
    axis: dict = {"type": "date", "range": [starts.min() - half, starts.max() + half]}
    fmt = "%Y-%m-%d" if granularity.length >= timedelta(days=1) else "%Y-%m-%d %H:%M"
    axis["hoverformat"] = fmt
    if starts.len() <= MAX_TICKS:
        axis["tickvals"] = starts.to_list()
        axis["ticktext"] = [f"{w:{fmt}}" for w in starts.to_list()]
    return axis


def figure(title: str, y_title: str, axis: dict):
    """An empty chart with the dashboard's layout and time axis."""
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.update_layout(
        title=title,
        xaxis_title="window start (UTC)",
        yaxis_title=y_title,
        template="plotly_white",
        height=380,
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
        legend={"font": {"size": 10}},
    )
    fig.update_xaxes(**axis)
    return fig


def lines(fig, frame: pl.DataFrame, by: str, y: str, prefix: str = "") -> None:
    """A line per value of `by`: `y` over the window starts."""
    import plotly.graph_objects as go

    for (name,), part in frame.sort(by, "window_start").group_by(by, maintain_order=True):
        fig.add_trace(
            go.Scatter(
                x=part["window_start"].to_list(),
                y=part[y].to_list(),
                mode="lines+markers",
                name=f"{prefix}{name}",
            )
        )


def judged_points(rows: pl.DataFrame, metric: str, by: str, rules: DriftRules) -> pl.DataFrame:
    """Per window, `by` and judged or not: the worst `metric` value, the reasons a point is not
    judged and the fewest rows on a side of its comparisons."""
    return (
        rows.filter(pl.col(metric).is_not_null())
        .with_columns(unjudged_reason(rules))
        .group_by("window_start", by, pl.col("unjudged").is_null().alias("judged"))
        .agg(
            pl.col(metric).max(),
            pl.col("unjudged").drop_nulls().unique().sort().str.join(", ").alias("reasons"),
            pl.min_horizontal("count", "count_cmp").min().alias("rows"),
        )
        .sort(by, "window_start")
    )


def drift_traces(fig, points: pl.DataFrame, metric: str, by: str, rules: DriftRules) -> None:
    """Judged points as a line per value of `by`; the others as one trace of open grey circles
    (`NOT_JUDGED`) that says why in its hover text."""
    import plotly.graph_objects as go

    judged = points.filter(pl.col("judged"))
    for (name,), part in judged.group_by(by, maintain_order=True):
        fig.add_trace(
            go.Scatter(
                x=part["window_start"].to_list(),
                y=part[metric].to_list(),
                mode="lines+markers",
                name=str(name),
                text=[f"{name}: {n} rows on the smaller side" for n in part["rows"]],
            )
        )
    other = points.filter(~pl.col("judged"))
    if other.is_empty():
        return
    fig.add_trace(
        go.Scatter(
            x=other["window_start"].to_list(),
            y=other[metric].to_list(),
            mode="markers",
            name=NOT_JUDGED,
            marker={"symbol": "circle-open", "color": "grey", "size": 9},
            text=[
                f"{name}: not judged ({why}; {n} rows on the smaller side, {rules.min_rows} needed)"
                for name, why, n in other.select(by, "reasons", "rows").iter_rows()
            ],
        )
    )
