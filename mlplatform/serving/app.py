"""The scoring server's HTTP API (FastAPI): `/invocations`, `/health`, `/ready`, `/version`,
`/openapi.json` (the request and answer schemas, `mlplatform.serving.openapi`).

`POST /invocations` answers `{"predictions": [...]}` for the MLflow scoring payloads, or a JSON
error `{"error_code": ..., "message": ..., "request_id": ...}`: 4xx for a bad request, 503 when
there is no champion yet, the model fails or the online store cannot be read. For a version
logged with a feature spec, rows may carry only the lookup key: the missing features are looked up
in the online store (`mlplatform.serving.lookup`); a key it does not have is a 400
`FEATURES_NOT_FOUND` naming the keys. Every `/invocations` request, refused ones included,
is handed to the inference logger (a memory append; the Delta commit happens off the request path),
with what was read of its body (`mlplatform.serving.body`: decoding and the logged text).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.requests import ClientDisconnect

from mlplatform.serving.body import decode, logged_text
from mlplatform.serving.logger import InferenceLogger
from mlplatform.serving.lookup import OnlineFeatures
from mlplatform.serving.model_holder import LoadedModel, ModelHolder
from mlplatform.serving.openapi import install_openapi, invocations_openapi
from mlplatform.serving.payload_row import PayloadRow
from mlplatform.serving.payloads import PayloadError, check_ids, parse_json, to_columns, validate
from mlplatform.serving.request_checks import Received, authorized, media_type_refusal, read_body

log = logging.getLogger(__name__)
CLIENT_REQUEST_ID = "x-client-request-id"
REQUEST_ID = "x-request-id"
_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    413: "REQUEST_LIMIT_EXCEEDED",
    415: "UNSUPPORTED_MEDIA_TYPE",
    499: "CLIENT_CLOSED_REQUEST",
    500: "INTERNAL_ERROR",
    503: "MODEL_UNAVAILABLE",
}


@dataclass(frozen=True)
class ServingOptions:
    """Limits and auth of the endpoint."""

    max_batch_rows: int = 10_000
    max_body_bytes: int = 16 * 1024 * 1024
    token: str | None = None  # bearer token required on /invocations and /version when set
    id_columns: tuple[str, ...] = ()  # identifiers rows may carry (logged, not model inputs)


def id_columns(model: LoadedModel, opts: ServingOptions) -> tuple[str, ...]:
    """The options' identifiers and the lookup key of the version's feature spec."""
    spec = model.feature_spec
    keys = (spec.lookup_key,) if spec is not None and spec.lookup_key else ()
    return tuple(dict.fromkeys((*opts.id_columns, *keys)))


def to_json_list(raw) -> list:
    """Model output as a JSON-ready list (NaN becomes null)."""
    if isinstance(raw, pd.DataFrame):
        raw = raw.to_dict(orient="records") if raw.shape[1] > 1 else raw.iloc[:, 0].to_numpy()
    if isinstance(raw, pd.Series):
        raw = raw.to_numpy()
    values = raw.tolist() if isinstance(raw, np.ndarray) else list(raw)
    return [None if isinstance(v, float) and v != v else v for v in values]


def _jsonable(value):
    """JSON for what `json` cannot encode: numpy scalars and arrays, anything else as text."""
    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    return str(value)


INPUT_ERRORS = (ValueError, ArithmeticError)
"""What a model raises for input values it cannot compute with (a 400); anything else it raises
is the model failing (a 503)."""


def _error(status: int, message: str) -> dict:
    return {"error_code": _CODES.get(status, "BAD_REQUEST"), "message": message}


def _lookup(
    features: OnlineFeatures | None, model: LoadedModel, columns: dict, rows: int, now_us: int
):
    """The request's columns completed from the online store (when the version has a spec)."""
    if features is None or model.feature_spec is None or model.spec is None:
        return columns, None
    check_ids(
        columns, (model.feature_spec.lookup_key,)
    )  # the keys to look up: strings or numbers (validate checks them again)
    now = datetime.fromtimestamp(now_us / 1e6, UTC).replace(tzinfo=None)
    filled = features.fill(columns, rows, model.feature_spec, model.spec.columns, now)
    return filled.columns, filled.served(model.spec.columns)


def _score(
    model: LoadedModel,
    body: bytes | str,
    opts: ServingOptions,
    features: OnlineFeatures | None = None,
    now_us: int = 0,
) -> tuple[int, dict, str | None]:
    columns, rows = to_columns(parse_json(body))
    if 0 < rows <= opts.max_batch_rows:
        try:
            columns, served = _lookup(features, model, columns, rows, now_us)
        except PayloadError:
            raise
        except Exception as err:  # noqa: BLE001 (a store outage is answered, not raised)
            log.exception("online feature lookup failed")
            message = f"the online feature store cannot be read: {type(err).__name__}: {err}"
            return 503, _error(503, message), None
    else:
        served = None
    batch = validate(columns, rows, model.spec, opts.max_batch_rows, id_columns(model, opts))
    try:
        raw = model.predict(batch.frame)
        predictions = to_json_list(raw)
    except INPUT_ERRORS as err:
        # valid, finite values the model cannot compute with (a scaler overflowing on 1e307):
        # the request's values, not the model, are at fault, as MLflow's scoring server says
        log.warning("model %s version %s refused the batch: %s", model.name, model.version, err)
        message = (
            f"model {model.name} version {model.version} cannot score these values: "
            f"{type(err).__name__}: {str(err)[:200]}"
        )
        return 400, _error(400, message), None
    except Exception as err:  # noqa: BLE001 (a model failure is answered, not raised)
        log.exception("model %s version %s failed", model.name, model.version)
        return (
            503,
            _error(
                503,
                f"model {model.name} version {model.version} failed to score "
                f"the batch: {type(err).__name__}: {err}",
            ),
            None,
        )
    if len(predictions) != batch.rows:
        return (
            503,
            _error(503, f"model returned {len(predictions)} predictions for {batch.rows} rows"),
            None,
        )
    return 200, {"predictions": predictions}, served


async def _answer(
    request: Request,
    holder: ModelHolder,
    model: LoadedModel | None,
    opts: ServingOptions,
    features: OnlineFeatures | None,
    now_us: int,
    received: Received,
) -> tuple[int, dict, str | None]:
    """Status, answer and the looked-up features (JSON) of one request; what was read of the
    body is kept in `received`."""
    if not authorized(request, opts.token):
        return 401, _error(401, "missing or wrong bearer token"), None
    refused = await read_body(request, opts.max_body_bytes, received)
    if refused is not None:
        return 413, _error(413, refused), None
    refused = media_type_refusal(request.headers.get("content-type", "application/json"))
    if refused is not None:
        return 415, _error(415, refused), None
    if model is None:
        message = f"no model to serve yet: {holder.name} has no {holder.alias!r} alias"
        return 503, _error(503, message), None
    try:
        received.text = decode(received.body)
        return _score(model, received.text, opts, features, now_us)
    except PayloadError as err:
        content = _error(err.status, err.message)
        if err.code:
            content["error_code"] = err.code
        return err.status, content | err.details, None


def health_status(holder: ModelHolder, logger: InferenceLogger | None) -> dict:
    """`/health`: the served version, the last load error and the inference logger's counts."""
    model = holder.current
    out = {
        "status": "up",
        "ready": model is not None,
        "model_version": model.version if model else None,
        "last_error": holder.last_error,
        "logging": None,
    }
    if logger is not None:
        stats = logger.stats
        out["logging"] = {
            "pending": logger.pending,
            "written": stats.written,
            "dropped": stats.dropped,
            "last_error": stats.last_error,
        }
    return out


def version_info(holder: ModelHolder) -> dict:
    """`/version`: the served model's name, version and alias."""
    model = holder.current
    if model is None:
        return {"model_name": holder.name, "model_version": None, "alias": holder.alias}
    return model.describe()


async def _invocation(
    request: Request,
    holder: ModelHolder,
    logger: InferenceLogger | None,
    opts: ServingOptions,
    features: OnlineFeatures | None,
) -> Response:
    """`POST /invocations`: answer the request and hand it, refused or not, to the logger."""
    started, now_us = time.perf_counter(), time.time_ns() // 1000
    request_id = uuid.uuid4().hex
    model = holder.current  # this request keeps this version even if the alias moves
    received = Received()
    try:
        status, content, served = await _answer(
            request, holder, model, opts, features, now_us, received
        )
    except ClientDisconnect:
        status, content, served = 499, _error(499, "client closed the request"), None
    except Exception as err:  # noqa: BLE001 (never an unanswered request)
        log.exception("unexpected error in /invocations")
        status, content, served = 500, _error(500, f"{type(err).__name__}: {err}"), None
    if status != 200:
        content["request_id"] = request_id
    text = json.dumps(content, default=_jsonable)
    if logger is not None:
        logged, size, truncated = logged_text(
            received.body, received.text, status == 200, received.size
        )
        logger.log(
            PayloadRow(
                request_id,
                request.headers.get(CLIENT_REQUEST_ID),
                now_us,
                status,
                (time.perf_counter() - started) * 1000.0,
                logged,
                text,
                holder.name,
                model.version if model is not None else None,
                served,
                size,
                truncated,
            )
        )
    return Response(text, status, media_type="application/json", headers={REQUEST_ID: request_id})


def create_app(
    holder: ModelHolder,
    logger: InferenceLogger | None,
    opts: ServingOptions | None = None,
    features: OnlineFeatures | None = None,
) -> FastAPI:
    """The FastAPI app scoring with `holder`'s current model and logging to `logger`; rows
    lacking features are completed from `features` (the online store) when given."""
    opts = opts or ServingOptions()
    app = FastAPI(title="mlplatform serving", docs_url=None, redoc_url=None)

    @app.post("/invocations", **invocations_openapi())
    async def invocations(request: Request) -> Response:
        return await _invocation(request, holder, logger, opts, features)

    @app.get("/health")
    async def health() -> dict:
        return health_status(holder, logger)

    @app.get("/ready")
    async def ready() -> Response:
        ok = holder.current is not None
        return Response(
            json.dumps({"ready": ok}), 200 if ok else 503, media_type="application/json"
        )

    @app.get("/version")
    async def version(request: Request) -> Response:
        if not authorized(request, opts.token):
            return Response(
                json.dumps(_error(401, "missing or wrong bearer token")),
                401,
                media_type="application/json",
            )
        return Response(json.dumps(version_info(holder)), 200, media_type="application/json")

    install_openapi(app)
    return app
