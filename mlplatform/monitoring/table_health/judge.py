"""Freshness and completeness of a Delta table, learned from its commit history.

Databricks' data quality monitoring, from what every Delta log holds: the timestamp of each
commit and the rows it added (`num_added_rows` from delta-rs, `numOutputRows` from Spark).
Where the commit info has no row count (commits made with `create_write_transaction`, as the
table layer's fast path does), the rows are the `numRecords` statistics of the commit's added
files, read from its log file. Only commits that write data count (`WRITE`, `MERGE`, `UPDATE`,
`DELETE`, streaming, CTAS, and a `CREATE TABLE` that adds files).

- freshness: the time since the last commit against the table's usual cadence, the median gap
  between its recent commits. WARN past `warn_factor` x cadence, ERROR past `error_factor` x
  cadence, never below `floor`; a table's `overrides` entry fixes both limits instead.
- completeness: the rows the last commit added against the range its previous commits set:
  WARN below `low_warn` x their 10th percentile or above `high_warn` x their 90th, ERROR below
  `low_error` x p10 or above `high_error` x p90.

Fewer than `min_history` commits: status `UNKNOWN` (the check passes, saying so).
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from mlplatform.lakehouse.delta import DeltaStore
from mlplatform.lakehouse.object_location import Location

OK, WARN, ERROR, UNKNOWN = "OK", "WARN", "ERROR", "UNKNOWN"
FRESHNESS, COMPLETENESS = "freshness", "completeness"
DATA_OPERATIONS = (
    "WRITE",
    "MERGE",
    "UPDATE",
    "DELETE",
    "STREAMING UPDATE",
    "CREATE TABLE AS SELECT",
    "REPLACE TABLE AS SELECT",
    "CREATE OR REPLACE TABLE AS SELECT",
)


@dataclass(frozen=True)
class Commit:
    """One data-writing commit: when, and how many rows it added (None: not recorded)."""

    version: int
    at: datetime
    rows: int | None


@dataclass(frozen=True)
class QualityRules:
    """How far a table may stray from its history (see the module docstring)."""

    history: int = 30  # recent commits learned from
    min_history: int = 3
    floor: timedelta = timedelta(minutes=10)
    warn_factor: float = 2.0
    error_factor: float = 4.0
    low_warn: float = 0.5
    low_error: float = 0.2
    high_warn: float = 2.0
    high_error: float = 5.0
    overrides: dict[str, tuple[timedelta, timedelta]] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    """One check of one table: a row of `monitoring/table_quality`."""

    table: str
    check: str
    status: str
    observed: float | None  # seconds since the last commit, or rows of the last commit
    expected_low: float | None
    expected_high: float | None
    detail: str

    @property
    def passed(self) -> bool:
        return self.status in (OK, UNKNOWN)


def commits(path: Location | str) -> list[Commit]:
    """The data-writing commits of the Delta table at `path` (a folder or an object-store
    location), oldest first ([] if none)."""
    store = DeltaStore(path, "monitoring/table_quality#reader")
    found = []
    for entry in store.history():
        operation, version = entry.get("operation"), int(entry["version"])
        if operation not in DATA_OPERATIONS and operation != "CREATE TABLE":
            continue
        metrics = entry.get("operationMetrics") or {}
        rows = metrics.get("num_added_rows", metrics.get("numOutputRows"))
        if rows is None:
            rows = _logged_rows(store, version)
        if operation == "CREATE TABLE" and not rows:
            continue  # an empty table created, no data written
        at = datetime.fromtimestamp(entry["timestamp"] / 1000, UTC)
        found.append(Commit(version, at, None if rows is None else int(rows)))
    return sorted(found, key=lambda c: c.version)


def _logged_rows(store: DeltaStore, version: int) -> int | None:
    """Rows of the files a commit added, from the `numRecords` statistics of its log file."""
    actions = store.commit_actions(version)
    if actions is None:
        return None  # the log file was cleaned up
    rows = 0
    for action in actions:
        add = action.get("add")
        if not add or not add.get("dataChange", True):
            continue
        stats = json.loads(add.get("stats") or "{}")
        if "numRecords" not in stats:
            return None
        rows += int(stats["numRecords"])
    return rows


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.2f} h"


def freshness(table: str, history: list[Commit], now: datetime, rules: QualityRules) -> Verdict:
    """Whether the table got a commit as recently as its cadence says it should."""
    if not history:
        return Verdict(table, FRESHNESS, UNKNOWN, None, None, None, "no commits yet")
    age = (now - history[-1].at).total_seconds()
    if table in rules.overrides:
        warn, error = (t.total_seconds() for t in rules.overrides[table])
        basis = "the configured limits"
    else:
        recent = history[-rules.history :]
        if len(recent) < rules.min_history:
            return Verdict(
                table,
                FRESHNESS,
                UNKNOWN,
                age,
                None,
                None,
                f"{len(recent)} commit(s): cadence not learned yet (needs {rules.min_history})",
            )
        gaps = [(b.at - a.at).total_seconds() for a, b in zip(recent, recent[1:], strict=False)]
        cadence = statistics.median(gaps)
        floor = rules.floor.total_seconds()
        warn = max(floor, rules.warn_factor * cadence)
        error = max(floor * rules.error_factor / rules.warn_factor, rules.error_factor * cadence)
        basis = f"a usual cadence of {_hours(cadence)} over {len(gaps)} gaps"
    status = ERROR if age > error else WARN if age > warn else OK
    detail = (
        f"last commit (version {history[-1].version}) {_hours(age)} ago; WARN after "
        f"{_hours(warn)}, ERROR after {_hours(error)} ({basis})"
    )
    return Verdict(table, FRESHNESS, status, age, 0.0, warn, detail)


def completeness(table: str, history: list[Commit], rules: QualityRules) -> Verdict:
    """Whether the last commit added about as many rows as the commits before it."""
    counted = [c for c in history[-(rules.history + 1) :] if c.rows is not None]
    if len(counted) < rules.min_history + 1:
        return Verdict(
            table,
            COMPLETENESS,
            UNKNOWN,
            counted[-1].rows if counted else None,
            None,
            None,
            f"{len(counted)} commit(s) with row counts: range not learned yet "
            f"(needs {rules.min_history + 1})",
        )
    last, before = counted[-1], sorted(c.rows for c in counted[:-1])
    p10, p90 = _quantile(before, 0.1), _quantile(before, 0.9)
    low, high = rules.low_warn * p10, rules.high_warn * p90
    low_error, high_error = rules.low_error * p10, rules.high_error * p90
    rows = last.rows
    status = ERROR if rows < low_error or rows > high_error else OK
    if status == OK and (rows < low or rows > high):
        status = WARN
    detail = (
        f"last commit (version {last.version}) added {rows} rows; the {len(before)} before it "
        f"added {before[0]} to {before[-1]} (p10 {p10:g}, p90 {p90:g}); expected {low:g} to "
        f"{high:g} (ERROR outside {low_error:g} to {high_error:g})"
    )
    return Verdict(table, COMPLETENESS, status, float(rows), low, high, detail)


def _quantile(ordered: list[int], q: float) -> float:
    """Linear-interpolated quantile of a sorted list (numpy's default)."""
    position = (len(ordered) - 1) * q
    lower = int(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def judge(table: str, path: Location | str, now: datetime, rules: QualityRules) -> list[Verdict]:
    """Both checks of one table."""
    history = commits(path)
    return [freshness(table, history, now, rules), completeness(table, history, rules)]
