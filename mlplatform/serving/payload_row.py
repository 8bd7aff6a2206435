"""The payload table's row as the server records it (cheap to import).

`serving/<model>_payload` holds one row per `POST /invocations` (written by the server);
its name, path and columns are `mlplatform.catalog.payload_table(model)`.
`serving/<model>_inference`
(`mlplatform.catalog.INFERENCE`) holds one row per prediction (unpacked by a Dagster asset).
"""

from __future__ import annotations

from typing import NamedTuple


class PayloadRow(NamedTuple):
    """One logged request, as the server records it (cheap to build on the request path)."""

    request_id: str
    client_request_id: str | None
    timestamp_us: int  # microseconds since the epoch, UTC
    status_code: int
    execution_time_ms: float
    request: str | None
    response: str | None
    model_name: str | None
    model_version: str | None
    served_features: str | None = None  # JSON: looked-up features and their source per row
    request_bytes: int | None = None  # the body's size in bytes (as sent, before any cut)
    request_truncated: bool = False  # `request` keeps only the body's first bytes
