"""Monitoring settings: window granularities, drift thresholds and the retraining policy.

Defaults live here; each can be changed per run (asset and check config) or, for what the sensor
and checks read outside a run, through environment variables:

- `MLPLATFORM_DRIFT_THRESHOLDS`: JSON `{metric: {"warn": x, "error": y}}` merged over
  `DEFAULT_THRESHOLDS` (`null` removes a metric); metric names are the drift table's columns,
  `ks_test.pvalue` / `chi_squared_test.pvalue` for the tests' p-values (lower is worse).
- `MLPLATFORM_DRIFT_MIN_ROWS` (500), `MLPLATFORM_DRIFT_ALPHA` (0.001; `none` turns the gate
  off): see `DriftRules`.
- `MLPLATFORM_RETRAIN_EVALUATION_WINDOWS` (M, 5), `MLPLATFORM_RETRAIN_VIOLATION_WINDOWS` (N, 2),
  `MLPLATFORM_RETRAIN_GRANULARITY` ("1 hour"), `MLPLATFORM_RETRAIN_COOLDOWN_HOURS` (24),
  `MLPLATFORM_RETRAIN_COUNT_SLICES` (false): see `RetrainPolicy`.

The `drift:` and `retrain:` sections of the `MLPLATFORM_MONITOR_CONFIG` YAML take precedence over
these variables (see `mlplatform.monitoring.monitor_config`).
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
        rules = cls(
            thresholds=thresholds,
            min_rows=_env_int("MLPLATFORM_DRIFT_MIN_ROWS", cls.min_rows),
            alpha=None if alpha == "none" else _env_float("MLPLATFORM_DRIFT_ALPHA", cls.alpha),
        )
        return rules.with_yaml(_yaml_section("drift"))

    def with_yaml(self, section: dict) -> DriftRules:
        """These rules with the `drift:` section of the monitor YAML over them."""
        unknown = sorted(set(section) - {"thresholds", "min_rows", "alpha"})
        if unknown:
            raise MonitoringConfigError(f"drift: unknown option(s) {', '.join(unknown)}")
        thresholds = dict(self.thresholds)
        for metric, levels in (section.get("thresholds") or {}).items():
            if levels is None:
                thresholds.pop(metric, None)
            elif isinstance(levels, dict):
                thresholds[metric] = threshold_for(metric, levels.get("warn"), levels.get("error"))
            else:
                raise MonitoringConfigError(f"drift.thresholds.{metric} is not {{warn, error}}")
        alpha = section.get("alpha", self.alpha)
        return DriftRules(
            thresholds=thresholds,
            min_rows=int(section.get("min_rows", self.min_rows)),
            alpha=None if alpha in (None, "none") else float(alpha),
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
    count_slices: bool = False  # a window drifted in one slice only counts too

    @classmethod
    def from_env(cls, section: dict | None = None) -> RetrainPolicy:
        """The defaults under the `MLPLATFORM_RETRAIN_*` variables under the YAML's `retrain:`
        section (or `section` when given)."""
        section = _yaml_section("retrain") if section is None else section
        unknown = sorted(set(section) - {*_RETRAIN_ENV, "cooldown_hours"})
        if unknown:
            raise MonitoringConfigError(f"retrain: unknown option(s) {', '.join(unknown)}")

        def value(name, default, parse):
            env = f"MLPLATFORM_RETRAIN_{name.upper()}"
            source, raw = (f"retrain.{name}", section[name]) if name in section else (env, None)
            if raw is None:
                raw = os.environ.get(env)
                if not raw:
                    return default
            try:
                return parse(raw)
            except ValueError:
                raise MonitoringConfigError(
                    f"{source}={raw!r} is not {_KINDS.get(parse, 'valid')}"
                ) from None

        policy = cls(
            evaluation_windows=value("evaluation_windows", 5, int),
            violation_windows=value("violation_windows", 2, int),
            granularity=Granularity.parse(value("granularity", "1 hour", str)).name,
            cooldown=timedelta(hours=value("cooldown_hours", 24.0, float)),
            count_slices=value("count_slices", False, _boolean),
        )
        if not 1 <= policy.violation_windows <= policy.evaluation_windows:
            raise MonitoringConfigError(
                "retraining needs 1 <= MLPLATFORM_RETRAIN_VIOLATION_WINDOWS <= "
                f"MLPLATFORM_RETRAIN_EVALUATION_WINDOWS (got {policy.violation_windows} of "
                f"{policy.evaluation_windows})"
            )
        return policy


_KINDS = {int: "an integer", float: "a number"}  # _boolean names itself (defined below)
_RETRAIN_ENV = ("evaluation_windows", "violation_windows", "granularity", "count_slices")


def _boolean(value) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise MonitoringConfigError(f"{value!r} is not a boolean")


def _yaml_section(name: str) -> dict:
    from mlplatform.monitoring.monitor_config import yaml_options  # the YAML imports this module

    section = yaml_options().get(name) or {}
    if not isinstance(section, dict):
        raise MonitoringConfigError(f"{name} must be a mapping, got {section!r}")
    return section


def _env_int(name: str, default: int) -> int:
    return env_number(name, default, int, MonitoringConfigError)


def _env_float(name: str, default: float) -> float:
    return env_number(name, default, float, MonitoringConfigError)
