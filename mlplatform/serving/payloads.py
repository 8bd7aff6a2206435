"""The MLflow scoring payloads: parse a request body and check it against the model signature.

Accepted bodies (a JSON object with exactly one of these keys):

- ``{"dataframe_records": [{"col": value, ...}, ...]}``
- ``{"dataframe_split": {"columns": [...], "data": [[...], ...], "index": [...]}}``
- ``{"inputs": [{"col": value, ...}, ...]}`` or ``{"inputs": {"col": [values...], ...}}``

Every problem raises `PayloadError` with the HTTP status and a message naming it. A number column
takes JSON numbers and null (a missing value, which the model imputes); `NaN`, `Infinity` and
numbers beyond the column type's range are refused naming the column and row. An identifier
(a lookup key) is a string, a number or null.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mlplatform.serving.body import parse_json
from mlplatform.serving.errors import PayloadError

__all__ = ["InputSpec", "PayloadError", "parse_json", "to_columns", "validate"]

FORMATS = ("dataframe_records", "dataframe_split", "inputs")
MISSING = object()
"""Placeholder for a key a record lacks."""

_NUMPY = {"double": np.float64, "float": np.float32, "long": np.int64, "integer": np.int32}
_ALLOWED = {
    "double": (int, float),
    "float": (int, float),
    "long": (int,),
    "integer": (int,),
    "boolean": (bool,),
    "string": (str,),
}
KNOWN_TYPES = frozenset(_ALLOWED)
"""Signature types the server checks and converts itself."""
_JSON_TYPE = {
    str: "string",
    bool: "boolean",
    int: "number",
    float: "number",
    dict: "object",
    list: "array",
    type(None): "null",
}


@dataclass(frozen=True)
class InputSpec:
    """The model's input columns (from its MLflow signature), in model-input order."""

    columns: tuple[str, ...]
    types: dict[str, str] = field(default_factory=dict)
    required: frozenset[str] = frozenset()

    @classmethod
    def from_schema(cls, schema) -> InputSpec | None:
        """From `model.metadata.get_input_schema()`; None when there is no column signature."""
        if schema is None or schema.is_tensor_spec() or not schema.has_input_names():
            return None
        cols = schema.inputs
        return cls(
            columns=tuple(c.name for c in cols),
            types={c.name: getattr(c.type, "name", str(c.type)) for c in cols},
            required=frozenset(c.name for c in cols if getattr(c, "required", True)),
        )


@dataclass
class Batch:
    """A validated request: the model input and the identifiers that came with it."""

    frame: pd.DataFrame
    ids: dict[str, list] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return len(self.frame)


def to_columns(doc: object) -> tuple[dict[str, list], int]:
    """The payload as columns of equal length (absent record keys are `MISSING`) and a row count."""
    if not isinstance(doc, dict):
        raise PayloadError(
            400, f"expected a JSON object with one of {list(FORMATS)}, got a JSON {_json_type(doc)}"
        )
    found = [k for k in FORMATS if k in doc]
    other = sorted(k for k in doc if k not in FORMATS)
    if "params" in other:
        raise PayloadError(400, "params are not supported by this model; send only the data")
    if other:
        raise PayloadError(400, f"unexpected key(s) {other}; send exactly one of {list(FORMATS)}")
    if len(found) != 1:
        raise PayloadError(400, f"send exactly one of {list(FORMATS)}, got {found or 'none'}")
    key = found[0]
    value = doc[key]
    if key == "dataframe_split":
        return _split(value)
    if key == "inputs" and isinstance(value, dict):
        return _columnar(value)
    return _records(value, key)


def _records(value: object, key: str) -> tuple[dict[str, list], int]:
    if not isinstance(value, list):
        raise PayloadError(
            400, f"{key} must be a list of records (JSON objects), got a JSON {_json_type(value)}"
        )
    for i, row in enumerate(value):
        if not isinstance(row, dict):
            raise PayloadError(
                400, f"{key}[{i}] must be a JSON object, got a JSON {_json_type(row)}"
            )
    if not value:
        return {}, 0
    first = value[0].keys()
    if all(row.keys() == first for row in value):
        return {k: [row[k] for row in value] for k in first}, len(value)
    keys = list(dict.fromkeys(k for row in value for k in row))
    return {k: [row.get(k, MISSING) for row in value] for k in keys}, len(value)


def _split(value: object) -> tuple[dict[str, list], int]:
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("columns"), list)
        or not (isinstance(value.get("data"), list))
    ):
        raise PayloadError(
            400,
            'dataframe_split must be an object with "columns" (a list of '
            'names) and "data" (a list of rows)',
        )
    extra = sorted(set(value) - {"columns", "data", "index"})
    if extra:
        raise PayloadError(400, f"dataframe_split has unexpected key(s) {extra}")
    columns, data = value["columns"], value["data"]
    if not all(isinstance(c, str) for c in columns) or len(set(columns)) != len(columns):
        raise PayloadError(400, "dataframe_split.columns must be distinct column names")
    for i, row in enumerate(data):
        if not isinstance(row, list) or len(row) != len(columns):
            got = f"{len(row)} values" if isinstance(row, list) else f"a JSON {_json_type(row)}"
            raise PayloadError(
                400,
                f"dataframe_split.data[{i}] must be a list of "
                f"{len(columns)} values (one per column), got {got}",
            )
    return {c: [row[j] for row in data] for j, c in enumerate(columns)}, len(data)


def _columnar(value: dict) -> tuple[dict[str, list], int]:
    lengths = set()
    for name, col in value.items():
        if not isinstance(col, list):
            raise PayloadError(
                400,
                f"inputs.{name} must be a list of values (columnar inputs), "
                f"got a JSON {_json_type(col)}",
            )
        lengths.add(len(col))
    if len(lengths) > 1:
        raise PayloadError(400, f"inputs columns have different lengths {sorted(lengths)}")
    return dict(value), lengths.pop() if lengths else 0


def validate(
    columns: dict[str, list],
    rows: int,
    spec: InputSpec | None,
    max_rows: int,
    id_columns: tuple[str, ...] = (),
) -> Batch:
    """Check the columns against the model's signature and build the model input.

    Args:
        columns: From `to_columns`.
        rows: The number of rows.
        spec: The model's input columns; None accepts any columns as they are.
        max_rows: The largest batch accepted.
        id_columns: Identifier columns a row may carry (the model's lookup keys): logged with
            the prediction, never a model input.

    Raises:
        PayloadError: an empty or oversized batch, a missing, unknown or mistyped column.
    """
    if rows == 0:
        raise PayloadError(400, "empty batch: send at least one row")
    if rows > max_rows:
        raise PayloadError(
            413, f"batch of {rows} rows is over the limit of {max_rows} rows per request; split it"
        )
    model_cols = spec.columns if spec else tuple(c for c in columns if c not in id_columns)
    check_ids(columns, id_columns)
    ids = {c: _ids(columns[c]) for c in id_columns if c in columns and c not in model_cols}
    if spec is not None:
        unknown = [c for c in columns if c not in spec.columns and c not in id_columns]
        if unknown:
            raise PayloadError(
                400, f"unknown column(s) {unknown}; the model takes {list(spec.columns)}"
            )
        missing = [c for c in spec.columns if c in spec.required and c not in columns]
        if missing:
            raise PayloadError(400, f"missing feature(s) {missing}")
    data = {}
    for name in model_cols:
        values = columns.get(name)
        if values is None:  # an optional input that was not sent
            values = [None] * rows
        if any(v is MISSING for v in values):
            row = next(i for i, v in enumerate(values) if v is MISSING)
            if spec is None or name in spec.required:
                raise PayloadError(400, f"missing feature {name!r} in row {row}")
            values = [None if v is MISSING else v for v in values]
        kind = spec.types.get(name) if spec else None
        data[name] = _typed(name, values, kind)
    _check_finite(data, columns, spec)
    return Batch(_frame(data, list(model_cols)), ids)


def _frame(data: dict, columns: list[str]) -> pd.DataFrame:
    """The model input; all-float64 inputs become one block (much faster to build)."""
    arrays = list(data.values())
    if arrays and all(isinstance(a, np.ndarray) and a.dtype == np.float64 for a in arrays):
        return pd.DataFrame(np.column_stack(arrays), columns=columns, copy=False)
    return pd.DataFrame(data, columns=columns)


def check_ids(columns: dict[str, list], id_columns: tuple[str, ...]) -> None:
    """Refuse an identifier (a lookup key) that is a JSON array or object."""
    for name in id_columns:
        values = columns.get(name, ())
        if not set(map(type, values)) & {list, dict}:  # the usual case, one pass in C
            continue
        for row, value in enumerate(values):
            if isinstance(value, list | dict):
                raise PayloadError(
                    400,
                    f"column {name!r} must be a string or a number: row {row} has a JSON "
                    f"{_json_type(value)}",
                )


def _ids(values: list) -> list:
    return [None if v is MISSING or v is None else str(v) for v in values]


def _typed(name: str, values: list, kind: str | None):
    allowed = _ALLOWED.get(kind)
    if allowed is None:
        return values
    nullable = kind in ("double", "float")
    seen = {type(v) for v in values}
    ok = set(allowed) | ({type(None)} if nullable else set())
    if not seen <= ok:
        row = next(i for i, v in enumerate(values) if type(v) not in ok)
        bad = values[row]
        raise PayloadError(
            400,
            f"column {name!r} must be {kind}: row {row} has {_preview(bad)} ({_json_type(bad)})",
        )
    dtype = _NUMPY.get(kind)
    if dtype is None:
        return values
    try:
        if dtype is np.float32:  # a double beyond float's range becomes inf: refused below
            with np.errstate(over="ignore"):
                array = np.asarray(values, dtype=dtype)
        else:
            array = np.asarray(values, dtype=dtype)
    except (OverflowError, ValueError) as err:
        raise PayloadError(400, f"column {name!r} does not fit {kind}: {err}") from None
    return array


def _check_finite(data: dict, columns: dict[str, list], spec: InputSpec | None) -> None:
    """Refuse NaN, infinity and numbers beyond the type's range in the float columns (null, a
    missing value, is NaN in the array too: told apart by the request's value)."""
    if spec is None:
        return
    floats = [n for n, kind in spec.types.items() if kind in ("double", "float") and n in data]
    if not floats:
        return
    arrays = [data[n] for n in floats]
    if np.isfinite(np.concatenate(arrays) if len(arrays) > 1 else arrays[0]).all():
        return  # one check for the whole batch (the usual case)
    for name in floats:
        values = columns.get(name) or ()
        for row in np.flatnonzero(~np.isfinite(data[name])).tolist():
            if row < len(values) and values[row] is not None and values[row] is not MISSING:
                raise PayloadError(
                    400,
                    f"column {name!r} must be a finite {spec.types[name]}: row {row} has "
                    f"{values[row]!r} (NaN, Infinity or a number beyond the range); send null "
                    "for a missing value",
                )


def _preview(value: object) -> str:
    """A value as JSON, cut to 80 characters (a value nested too deep to print is elided)."""
    try:
        return json.dumps(value)[:80]
    except (RecursionError, ValueError):
        return "[...]" if isinstance(value, list) else "{...}"


def _json_type(value: object) -> str:
    return _JSON_TYPE.get(type(value), type(value).__name__)
