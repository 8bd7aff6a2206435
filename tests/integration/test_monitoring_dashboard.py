"""The monitoring dashboard opened in headless Chromium: charts render, no console errors."""

import os
import re
import signal
import subprocess

import polars as pl
import pytest

from mlplatform.monitoring import dashboard, drift, profile
from mlplatform.monitoring.config import DriftRules
from mlplatform.monitoring.loader import load_options
from mlplatform.settings import get_settings
from tests.integration._services import chromium, require
from tests.unit.test_monitoring_slices import _triple_in_slice
from tests.unit.test_monitoring_windows import (
    HOURLY_DAILY,
    append_inference,
    fake_baselines,
    hour,
    inference_rows,
    training_tags,
    write_gold,
)

pytestmark = pytest.mark.integration


def _chromium(browser, tmp, *args, timeout=120):
    cmd = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--enable-logging=stderr",
        "--v=0",
        f"--user-data-dir={tmp / 'chromium'}",
        "--window-size=1400,4000",
        "--virtual-time-budget=15000",
        *args,
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, text=True
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
    return proc.returncode, out, err


@pytest.fixture
def page(home):
    """A day of hourly windows, labels arriving, drift in one slice in the last hours."""
    write_gold(3000)
    parts = [
        inference_rows(
            600,
            hour(h),
            seed=h + 1,
            labels=True,
            transform=_triple_in_slice if h >= 4 else None,
        )
        for h in range(6)
    ]
    append_inference(pl.concat(parts))
    options = load_options({"slicing_exprs": ["total_events > 180"]})
    settings = get_settings()
    profile.update(settings, HOURLY_DAILY, options=options)
    baselines = fake_baselines({"1": training_tags(0)})
    summary, _ = drift.update(settings, HOURLY_DAILY, baselines=baselines, options=options)
    rules = DriftRules(min_rows=50)
    return dashboard.write(settings, summary["batch_id"], options, rules)


def test_dashboard_is_self_contained_and_complete(page, home):
    import plotly.offline

    text = page.read_text()
    assert dashboard.latest_path(get_settings()) == home / "monitoring" / "dashboard.html"
    assert (home / "monitoring" / "dashboard.html").read_text() == text, "latest copy differs"
    inline = plotly.offline.get_plotlyjs()
    assert inline in text, "plotly.js is not inline"
    rest = text.replace(inline, "")
    assert "<script src=" not in rest and "://" not in rest, "the page loads something"
    missing = [
        title
        for title in (
            "Rows per window and model version",
            "Null values per column",
            "Prediction distribution",
            "Model quality over time",
            "js_distance against the baseline, per column",
            "js_distance against the baseline, worst column per slice",
            "population_stability_index against the previous window, per column",
            "error 0.2",  # the threshold lines
            "warn 0.1",
            "<h2>Current alerts</h2>",
            "slice total_events &gt; 180 = true",  # an alert names the slice
        )
        if title not in rest
    ]
    assert not missing


def test_dashboard_charts_render_in_chromium(page, tmp_path):
    browser = chromium()
    require(browser is not None, "chromium is not installed")
    url = page.as_uri()
    shot = tmp_path / "dashboard.png"
    code, _, err = _chromium(browser, tmp_path, f"--screenshot={shot}", url)
    assert code == 0 and shot.is_file(), err[-3000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000
    code, dom, err = _chromium(browser, tmp_path, "--dump-dom", url)
    assert code == 0, err[-3000:]
    charts = dom.count('class="chart"')
    rendered = re.search(r'data-charts-rendered="(\d+)"', dom)
    assert charts >= 10 and rendered and int(rendered.group(1)) == charts
    assert dom.count('class="main-svg"') >= charts  # plotly drew an SVG per chart
    assert re.search(r'class="scatterlayer[^"]*"><g class="trace scatter', dom)  # with traces
    assert "data-errors" not in dom
    console = [line for line in err.splitlines() if "CONSOLE" in line]
    assert not [line for line in console if "error" in line.lower()], console
