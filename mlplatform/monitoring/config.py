"""Monitoring's rules as plain typed data: window granularities, drift thresholds and the
retraining policy.

Defaults live here; nothing here reads the environment or the YAML file. One loader,
`mlplatform.monitoring.loader`, fills these classes from (in that order of precedence) the run
config, the `MLPLATFORM_MONITOR_CONFIG` YAML, the `MLPLATFORM_DRIFT_*` / `MLPLATFORM_RETRAIN_*`
variables and these defaults. Metric names of the thresholds are the drift table's columns,
`ks_test.pvalue` / `chi_squared_test.pvalue` for the tests' p-values (lower is worse).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

GRANULARITIES = ("1 hour", "1 day")
"""Window sizes computed by default (Lakehouse Monitoring's spelling)."""

_UNITS = {"minute": ("m", 60), "hour": ("h", 3600), "day": ("d", 86400), "week": ("w", 604800)}


class MonitoringConfigError(ValueError):
    """A monitoring setting has a value that cannot be used."""


@dataclass(frozen=True)
class Granularity:
    """A window size: its name ("1 hour"), polars duration ("1h") and length."""

    name: str
    every: str
    length: timedelta

    @classmethod
    def parse(cls, text: str) -> Granularity:
        """`"<n> <minute|hour|day|week>[s]"`, e.g. "1 hour", "30 minutes", "1 day".

        Raises:
            MonitoringConfigError: anything else.
        """
        found = re.fullmatch(r"\s*(\d+)\s+(minute|hour|day|week)s?\s*", text)
        if not found or int(found.group(1)) < 1:
            raise MonitoringConfigError(
                f"granularity {text!r} is not '<n> minute|hour|day|week', e.g. '1 hour'"
            )
        n, unit = int(found.group(1)), found.group(2)
        suffix, seconds = _UNITS[unit]
        name = f"{n} {unit}" if n == 1 else f"{n} {unit}s"
        return cls(name, f"{n}{suffix}", timedelta(seconds=n * seconds))


def parse_granularities(names: list[str] | tuple[str, ...]) -> list[Granularity]:
    parsed = [Granularity.parse(n) for n in names]
    if len({g.name for g in parsed}) != len(parsed):
        raise MonitoringConfigError(f"granularities repeat: {list(names)}")
    return parsed


@dataclass(frozen=True)
class Threshold:
    """Warn and error levels of one metric; for p-values (`lower_is_worse`) a value at or
    below the level crosses it, otherwise at or above."""

    warn: float | None = None
    error: float | None = None
    lower_is_worse: bool = False


DEFAULT_THRESHOLDS = {
    # the usual reading of PSI: < 0.1 stable, 0.1-0.25 moderate shift, > 0.25 significant
    "population_stability_index": Threshold(warn=0.1, error=0.25),
    # base-2 JS distance, in [0, 1]; Evidently's default drift threshold is 0.1
    "js_distance": Threshold(warn=0.1, error=0.2),
    "tv_distance": Threshold(warn=0.1, error=0.2),
}


def threshold_for(metric: str, warn: float | None, error: float | None) -> Threshold:
    return Threshold(warn, error, lower_is_worse=metric.endswith("pvalue"))


@dataclass(frozen=True)
class DriftRules:
    """When a drift row counts as drifted.

    A metric crosses a level only in a row with at least `min_rows` values on both sides (small
    windows are too noisy to judge) and, when `alpha` is set, whose test (KS for numeric columns,
    chi-squared for categorical ones) is significant at `alpha`: a distance over its threshold
    that chance explains is not drift. 0.001 is about 1% per window over the dozen columns a
    window compares (Bonferroni): on windows drawn from the baseline distribution no alarm was
    raised in 200 draws of 500 or 1000 rows, 1 in 200 for two 1000-row windows compared.
    """

    thresholds: dict[str, Threshold] = field(default_factory=lambda: dict(DEFAULT_THRESHOLDS))
    min_rows: int = 500
    alpha: float | None = 0.001


@dataclass(frozen=True)
class RetrainPolicy:
    """When drift is persistent enough to retrain (the MLOps template's rule): at least
    `violation_windows` of the last `evaluation_windows` windows of `granularity` have a column
    over its error level against the baseline; then no new request for `cooldown`."""

    evaluation_windows: int = 5
    violation_windows: int = 2
    granularity: str = "1 hour"
    cooldown: timedelta = timedelta(hours=24)
    count_slices: bool = False  # a window drifted in one slice only counts too
