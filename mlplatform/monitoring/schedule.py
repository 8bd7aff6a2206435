"""A monitor's Quartz cron (`schedule.quartz_cron_expression`) as a Dagster (Unix) cron."""

from __future__ import annotations

from mlplatform.monitoring.config import MonitoringConfigError

_DAYS = {"1": "0", "2": "1", "3": "2", "4": "3", "5": "4", "6": "5", "7": "6"}


def _day_of_week(field: str) -> str:
    """Quartz numbers Sunday 1 .. Saturday 7, Unix cron 0 .. 6; names stay names."""
    out = []
    for item in field.split(","):
        parts = item.split("-")
        out.append("-".join(_DAYS.get(p, p) for p in parts))
    return ",".join(out)


def unix_cron(quartz: str) -> str:
    """`0 0 * * * ?` -> `0 * * * *`: seconds dropped (they must be 0), `?` read as `*`,
    days of the week renumbered.

    Raises:
        MonitoringConfigError: not 6 or 7 fields, seconds other than 0, or Quartz-only forms
            (`L`, `W`, `#`).
    """
    fields = str(quartz).split()
    if len(fields) not in (6, 7):
        raise MonitoringConfigError(
            f"{quartz!r} is not a Quartz cron (seconds minutes hours day-of-month month "
            "day-of-week [year]), e.g. '0 0 * * * ?'"
        )
    if fields[0] != "0":
        raise MonitoringConfigError(f"{quartz!r}: seconds must be 0 (schedules run per minute)")
    if len(fields) == 7 and fields[6] not in ("*", "?"):
        raise MonitoringConfigError(f"{quartz!r}: a year field is not supported")
    rest = [f.replace("?", "*") for f in fields[1:6]]
    if any(c in f for f in rest for c in "LW#"):
        raise MonitoringConfigError(f"{quartz!r}: L, W and # are not supported")
    rest[4] = _day_of_week(rest[4])
    return " ".join(rest)
