"""The OpenAPI document of the scoring server (`GET /openapi.json`): the MLflow scoring payloads
that `POST /invocations` accepts and the answers it gives, as pydantic models.

The models only describe the API: `/invocations` parses its body by hand (`payloads`), which is
faster than validating it with pydantic and gives messages naming the column and row. The server
accepts exactly the payloads described here; the column names and types are the served model's
signature (`GET /version` names the version).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field, RootModel
from pydantic.json_schema import models_json_schema

_REF = "#/components/schemas/{model}"


class DataframeRecords(BaseModel):
    """Rows as JSON objects, one per row (pandas `to_dict(orient="records")`)."""

    model_config = ConfigDict(extra="forbid")
    dataframe_records: list[dict[str, Any]] = Field(
        examples=[[{"user_id": "u1", "visits": 12, "days_since_visit": 3.5}]]
    )


class SplitFrame(BaseModel):
    """A table as column names and rows of values (pandas `to_dict(orient="split")`)."""

    model_config = ConfigDict(extra="forbid")
    columns: list[str]
    data: list[list[Any]] = Field(description="rows, each with one value per column")
    index: list[Any] | None = Field(None, description="row labels (ignored)")


class DataframeSplit(BaseModel):
    """Columns and rows (pandas `to_dict(orient="split")`)."""

    model_config = ConfigDict(extra="forbid")
    dataframe_split: SplitFrame


class Inputs(BaseModel):
    """Rows as JSON objects, or columns as lists of equal length."""

    model_config = ConfigDict(extra="forbid")
    inputs: list[dict[str, Any]] | dict[str, list[Any]]


class ScoringRequest(RootModel[DataframeRecords | DataframeSplit | Inputs]):
    """One of the MLflow scoring payloads. A row may carry the model's lookup key (logged, not a
    model input; for a version with a feature spec, the missing features are looked up by it).
    Numbers must be finite; null is a missing value. The body is JSON in UTF-8 (UTF-16 and UTF-32
    are read too)."""


class Predictions(BaseModel):
    """One prediction per row, in row order."""

    predictions: list[Any]


class ErrorAnswer(BaseModel):
    """A refused or failed request."""

    model_config = ConfigDict(extra="allow")
    error_code: str = Field(
        description="BAD_REQUEST, FEATURES_NOT_FOUND, UNAUTHENTICATED, REQUEST_LIMIT_EXCEEDED, "
        "UNSUPPORTED_MEDIA_TYPE, INTERNAL_ERROR or MODEL_UNAVAILABLE"
    )
    message: str = Field(description="what is wrong, naming the column, row or limit")
    request_id: str = Field(description="the row of the payload table (also `x-request-id`)")


_ERRORS = {
    400: "the body is not a scoring payload of the model's columns (bad JSON, a missing, unknown "
    "or mistyped column, a number that is not finite, a key not in the online store)",
    401: "missing or wrong bearer token (when the server has one)",
    413: "the body or the batch is over the limit",
    415: "a content type other than application/json, or a charset other than UTF-8",
    500: "an error of the server",
    503: "no model to serve yet, the model failed, or the online store cannot be read",
}


def invocations_openapi() -> dict:
    """The OpenAPI arguments of the `/invocations` route."""
    responses: dict = {200: {"model": Predictions, "description": "the predictions"}}
    for status, description in _ERRORS.items():
        responses[status] = {"model": ErrorAnswer, "description": description}
    body = {"$ref": _REF.format(model="ScoringRequest")}
    return {
        "summary": "Score a batch with the served model",
        "responses": responses,
        "openapi_extra": {
            "requestBody": {"required": True, "content": {"application/json": {"schema": body}}}
        },
    }


def install_openapi(app: FastAPI) -> None:
    """Make `app.openapi()` include the request schemas (the route reads its body by hand)."""

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
            _, defs = models_json_schema([(ScoringRequest, "validation")], ref_template=_REF)
            schema.setdefault("components", {}).setdefault("schemas", {}).update(defs["$defs"])
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi
