"""Monitoring settings: window granularities, drift thresholds and the retraining policy.

Defaults live here; each can be changed per run (asset and check config) or, for what the sensor
and checks read outside a run, through environment variables:

- `MLPLATFORM_DRIFT_THRESHOLDS`: JSON `{metric: {"warn": x, "error": y}}` merged over
  `DEFAULT_THRESHOLDS` (`null` removes a metric); metric names are the drift table's columns,
  `ks_test.pvalue` / `chi_squared_test.pvalue` for the tests' p-values (lower is worse).
- `MLPLATFORM_DRIFT_MIN_ROWS` (500), `MLPLATFORM_DRIFT_ALPHA` (0.001; `none` turns the gate
  off): see `DriftRules`.
- `MLPLATFORM_RETRAIN_EVALUATION_WINDOWS` (M, 5), `MLPLATFORM_RETRAIN_VIOLATION_WINDOWS` (N, 2),
  `MLPLATFORM_RETRAIN_GRANULARITY` ("1 hour"), `MLPLATFORM_RETRAIN_COOLDOWN_HOURS` (24): see
  `RetrainPolicy`.
- `MLPLATFORM_ALERT_WEBHOOK`: where alerts are POSTed (see `mlplatform.monitoring.alerts`).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from datetime import timedelta

from mlplatform.settings import env_number

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

    @classmethod
    def from_env(cls) -> DriftRules:
        """The defaults with the `MLPLATFORM_DRIFT_*` overrides applied."""
        thresholds = dict(DEFAULT_THRESHOLDS)
        text = os.environ.get("MLPLATFORM_DRIFT_THRESHOLDS")
        if text:
            try:
                overrides = json.loads(text)
                for metric, levels in overrides.items():
                    if levels is None:
                        thresholds.pop(metric, None)
                    else:
                        thresholds[metric] = threshold_for(
                            metric, levels.get("warn"), levels.get("error")
                        )
            except (ValueError, AttributeError) as err:
                raise MonitoringConfigError(
                    f"MLPLATFORM_DRIFT_THRESHOLDS is not JSON {{metric: {{warn, error}}}}: {err}"
                ) from err
        alpha = os.environ.get("MLPLATFORM_DRIFT_ALPHA")
        return cls(
            thresholds=thresholds,
            min_rows=_env_int("MLPLATFORM_DRIFT_MIN_ROWS", cls.min_rows),
            alpha=None if alpha == "none" else _env_float("MLPLATFORM_DRIFT_ALPHA", cls.alpha),
        )


@dataclass(frozen=True)
class RetrainPolicy:
    """When drift is persistent enough to retrain (the MLOps template's rule): at least
    `violation_windows` of the last `evaluation_windows` windows of `granularity` have a column
    over its error level against the baseline; then no new request for `cooldown`."""

    evaluation_windows: int = 5
    violation_windows: int = 2
    granularity: str = "1 hour"
    cooldown: timedelta = timedelta(hours=24)

    @classmethod
    def from_env(cls) -> RetrainPolicy:
        policy = cls(
            evaluation_windows=_env_int("MLPLATFORM_RETRAIN_EVALUATION_WINDOWS", 5),
            violation_windows=_env_int("MLPLATFORM_RETRAIN_VIOLATION_WINDOWS", 2),
            granularity=Granularity.parse(
                os.environ.get("MLPLATFORM_RETRAIN_GRANULARITY") or "1 hour"
            ).name,
            cooldown=timedelta(hours=_env_float("MLPLATFORM_RETRAIN_COOLDOWN_HOURS", 24.0)),
        )
        if not 1 <= policy.violation_windows <= policy.evaluation_windows:
            raise MonitoringConfigError(
                "retraining needs 1 <= MLPLATFORM_RETRAIN_VIOLATION_WINDOWS <= "
                f"MLPLATFORM_RETRAIN_EVALUATION_WINDOWS (got {policy.violation_windows} of "
                f"{policy.evaluation_windows})"
            )
        return policy


def _env_int(name: str, default: int) -> int:
    return env_number(name, default, int, MonitoringConfigError)


def _env_float(name: str, default: float) -> float:
    return env_number(name, default, float, MonitoringConfigError)
