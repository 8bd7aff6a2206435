"""The serving tables: asset keys, Delta paths and schemas (cheap to import).

`serving/churn_predictor_payload` holds one row per `POST /invocations` (written by the server);
`serving/churn_predictor_inference` holds one row per prediction (unpacked by a Dagster asset).
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from mlplatform.settings import Settings

LAYER = "serving"
PAYLOAD = "churn_predictor_payload"
INFERENCE = "churn_predictor_inference"
PAYLOAD_APP_ID = f"{LAYER}/{PAYLOAD}"
INFERENCE_APP_ID = f"{LAYER}/{INFERENCE}"
ID_COLUMNS = ("customer_id",)
"""Identifier columns a request may carry: logged with the prediction, never a model input."""


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


def payload_path(settings: Settings) -> Path:
    return settings.table_path(LAYER, PAYLOAD)


def inference_path(settings: Settings) -> Path:
    return settings.table_path(LAYER, INFERENCE)
