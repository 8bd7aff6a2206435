"""Alerts: to the run log always, and POSTed as JSON to `MLPLATFORM_ALERT_WEBHOOK` when set.

The body is the alert dict (`event`, `summary`, `severity` and event fields) plus `source` and
`sent_at`. Delivery failures are logged and never raised: an unreachable webhook must not fail
the run or the sensor that raised the alert.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime

from mlplatform.settings.variables import ALERT_WEBHOOK

TIMEOUT_SECONDS = 5.0


def send_alert(alert: dict, log, url: str | None = None, timeout: float = TIMEOUT_SECONDS) -> bool:
    """Log `alert` and POST it to the webhook; True when the webhook answered 2xx.

    Args:
        alert: JSON-serializable; `summary` is the line logged, `severity` (WARN or ERROR) its
            level.
        log: A logger with `warning` and `error` (a Dagster context's `log` or `logging`'s).
        url: The webhook; default `$MLPLATFORM_ALERT_WEBHOOK` (no webhook: only logged).
        timeout: Seconds to wait for the webhook.
    """
    summary = alert.get("summary") or alert.get("event") or "monitoring alert"
    (log.error if alert.get("severity") == "ERROR" else log.warning)(f"ALERT: {summary}")
    url = url if url is not None else ALERT_WEBHOOK.value()
    if not url:
        return False
    body = {"source": "mlplatform", "sent_at": datetime.now(UTC).isoformat(), **alert}
    request = urllib.request.Request(
        url,
        data=json.dumps(body, default=str).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            ok = 200 <= response.status < 300
    except (urllib.error.URLError, OSError, ValueError) as err:
        log.warning(f"alert webhook {url} failed: {err}")
        return False
    if not ok:
        log.warning(f"alert webhook {url} answered {response.status}")
    return ok
