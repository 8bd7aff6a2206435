"""Freshness and completeness from Delta commit histories, as checks, rows and alerts."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from mlplatform.catalog import TABLE_QUALITY
from mlplatform.lakehouse.delta import DeltaStore
from mlplatform.monitoring.config import MonitoringConfigError
from mlplatform.monitoring.loader import load_options, quality_rules
from mlplatform.monitoring.table_health import judge as tq
from mlplatform.monitoring.table_health.checks import build_table_quality
from mlplatform.monitoring.table_health.store import quality_store
from mlplatform.settings import get_settings
from tests.platform_resources import platform_resources
from tests.unit.test_monitoring_checks import Receiver

QUALITY_KEY = TABLE_QUALITY.asset_key

T0 = datetime(2026, 3, 1, tzinfo=UTC)
RULES = tq.QualityRules()


def _history(hours: list[float], rows: list[int]) -> list[tq.Commit]:
    pairs = enumerate(zip(hours, rows, strict=True))
    return [tq.Commit(i, T0 + timedelta(hours=h), n) for i, (h, n) in pairs]


def test_freshness_learns_the_cadence():
    hourly = _history([0, 1, 2, 3, 4, 5], [10] * 6)
    at = T0 + timedelta(hours=5)
    states = [tq.freshness("t", hourly, at + timedelta(hours=h), RULES).status for h in (1.5, 3, 5)]
    assert states == [tq.OK, tq.WARN, tq.ERROR]
    verdict = tq.freshness("t", hourly, at + timedelta(hours=2.5), RULES)
    assert (verdict.observed, verdict.expected_low, verdict.expected_high) == (9000.0, 0.0, 7200.0)
    assert "usual cadence of 1.00 h over 5 gaps" in verdict.detail
    # the floor keeps a table committed every minute from alarming after three minutes
    minutely = [tq.Commit(i, T0 + timedelta(minutes=i), 1) for i in range(10)]
    later = T0 + timedelta(minutes=12)
    assert tq.freshness("t", minutely, later, RULES).status == tq.OK
    # an override replaces the learned limits
    rules = tq.QualityRules(overrides={"t": (timedelta(hours=10), timedelta(hours=20))})
    assert tq.freshness("t", hourly, at + timedelta(hours=5), rules).status == tq.OK
    assert tq.freshness("t", hourly[:2], at, RULES).status == tq.UNKNOWN
    assert tq.freshness("t", [], at, RULES).status == tq.UNKNOWN


def test_completeness_learns_the_range():
    usual = [1000, 980, 1020, 1010, 990, 1000]
    assert tq.completeness("t", _history(range(7), [*usual, 1005]), RULES).status == tq.OK
    assert tq.completeness("t", _history(range(7), [*usual, 400]), RULES).status == tq.WARN
    tenth = tq.completeness("t", _history(range(7), [*usual, 100]), RULES)
    assert tenth.status == tq.ERROR and tenth.observed == 100.0
    assert tenth.expected_low == pytest.approx(0.5 * 985) and tenth.expected_high == 2 * 1015
    assert tq.completeness("t", _history(range(7), [*usual, 6000]), RULES).status == tq.ERROR
    assert tq.completeness("t", _history(range(3), [5, 5, 5]), RULES).status == tq.UNKNOWN


def _respace(path: Path, start: datetime, every: timedelta) -> None:
    """Give the table's commits timestamps `every` apart from `start` (what its writers would
    have recorded had they run on that cadence)."""
    for log in sorted((path / "_delta_log").glob("*.json")):
        version = int(log.stem)
        actions = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
        for action in actions:
            if "commitInfo" in action:
                stamp = start + version * every
                action["commitInfo"]["timestamp"] = int(stamp.timestamp() * 1000)
        log.write_text("\n".join(json.dumps(a) for a in actions) + "\n")


def _table(layer: str, name: str, sizes: list[int]) -> Path:
    store = DeltaStore(get_settings().table_path(layer, name), f"{layer}/{name}")
    for batch, n in enumerate(sizes, start=1):
        store.write(pl.DataFrame({"x": list(range(n))}), batch)
    _respace(store.path, T0, timedelta(hours=1))
    return store.path


def test_commits_read_rows_from_the_log(home):
    path = _table("bronze", "events", [5, 7, 9])
    found = tq.commits(path)
    assert [(c.version, c.rows) for c in found] == [(0, 5), (1, 7), (2, 9)]
    assert [c.at for c in found] == [T0, T0 + timedelta(hours=1), T0 + timedelta(hours=2)]
    assert tq.commits(home / "missing") == []


@pytest.fixture
def graph(home):
    """Two tables committed hourly: `stale` stops after 6 commits, `short` gets a last commit
    a tenth of its usual size (an hour later); the clock stands 4.5 hours after the stale
    table's last commit."""
    _table("bronze", "stale", [100] * 6)
    _table("bronze", "short", [100] * 6 + [10])
    keys = [dg.AssetKey(["bronze", "stale"]), dg.AssetKey(["bronze", "short"])]
    clock = {"now": T0 + timedelta(hours=9, minutes=30)}
    checks, asset = build_table_quality(
        [(k, (lambda settings, k=k: settings.table_path(*k.path))) for k in keys],
        clock=lambda: clock["now"],
        own_table=False,
    )
    stubs = [dg.AssetSpec(k, kinds={"delta"}) for k in keys]
    return checks, asset, stubs, clock


def test_checks_rows_and_alerts(graph, monkeypatch):
    checks, asset, stubs, clock = graph
    receiver = Receiver()
    monkeypatch.setenv("MLPLATFORM_ALERT_WEBHOOK", receiver.url)
    try:
        result = dg.materialize(
            [*stubs, asset, checks],
            selection=dg.AssetSelection.checks(checks) | dg.AssetSelection.assets(QUALITY_KEY),
            raise_on_error=False,
            resources=platform_resources(),
        )
    finally:
        receiver.close()
    evaluations = {
        ("/".join(e.asset_key.path), e.check_name): e for e in result.get_asset_check_evaluations()
    }
    assert sorted(evaluations) == [
        ("bronze/short", "completeness"),
        ("bronze/short", "freshness"),
        ("bronze/stale", "completeness"),
        ("bronze/stale", "freshness"),
    ]
    stale = evaluations[("bronze/stale", "freshness")]
    assert not stale.passed and stale.severity == dg.AssetCheckSeverity.ERROR
    assert stale.description.startswith("ERROR: last commit (version 5) 4.50 h ago; WARN after")
    short = evaluations[("bronze/short", "completeness")]
    assert not short.passed and short.severity == dg.AssetCheckSeverity.ERROR
    assert "added 10 rows; the 6 before it added 100 to 100" in short.description
    assert evaluations[("bronze/stale", "completeness")].passed
    fresh = evaluations[("bronze/short", "freshness")]  # its last commit is an hour later
    assert not fresh.passed and fresh.severity == dg.AssetCheckSeverity.WARN
    alerts = {(b["table"], b["check"]): b for b in receiver.bodies}
    assert set(alerts) == {
        ("bronze/stale", "freshness"),
        ("bronze/short", "completeness"),
        ("bronze/short", "freshness"),
    }
    assert alerts[("bronze/short", "completeness")]["severity"] == "ERROR"
    assert alerts[("bronze/short", "completeness")]["event"] == "table_quality_check_failed"

    rows = quality_store(get_settings()).read().sort("table", "check")
    assert rows.select("table", "check", "status", "observed").rows() == [
        ("bronze/short", "completeness", "ERROR", 10.0),
        ("bronze/short", "freshness", "WARN", 3.5 * 3600),
        ("bronze/stale", "completeness", "OK", 100.0),
        ("bronze/stale", "freshness", "ERROR", 4.5 * 3600),
    ]
    assert set(rows["checked_at"]) == {clock["now"]}
    # an hour later the rows of a second run are appended
    clock["now"] += timedelta(hours=1)
    dg.materialize([*stubs, asset], selection=[QUALITY_KEY], resources=platform_resources())
    assert quality_store(get_settings()).read().height == 8


def test_rules_from_the_monitor_yaml(tmp_path, monkeypatch):
    path = tmp_path / "monitor.yaml"
    path.write_text(
        "table_quality:\n  floor_minutes: 30\n  overrides:\n"
        "    gold/x: {warn_after_hours: 26, error_after_hours: 50}\n"
    )
    monkeypatch.setenv("MLPLATFORM_MONITOR_CONFIG", str(path))
    rules = quality_rules()
    assert rules.floor == timedelta(minutes=30)
    assert rules.overrides == {"gold/x": (timedelta(hours=26), timedelta(hours=50))}
    assert load_options().table_quality["floor_minutes"] == 30  # the monitor reads it too
    path.write_text("table_quality:\n  overrides: {gold/x: {warn_after_hours: 1}}\n")
    with pytest.raises(MonitoringConfigError, match="needs warn_after_hours and error_after"):
        quality_rules()
