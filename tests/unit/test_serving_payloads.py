"""The MLflow scoring payloads: every accepted format and every refusal, with its message."""

from __future__ import annotations

import math

import numpy as np
import pytest
from mlflow.models.signature import infer_signature

from mlplatform.serving.payloads import (
    InputSpec,
    PayloadError,
    parse_json,
    to_columns,
    validate,
)

SPEC = InputSpec(("a", "b"), {"a": "double", "b": "double"}, frozenset({"a", "b"}))


def batch(doc, spec=SPEC, max_rows=100):
    columns, rows = to_columns(doc)
    return validate(columns, rows, spec, max_rows, ("customer_id",))


def refused(doc, spec=SPEC, max_rows=100) -> PayloadError:
    with pytest.raises(PayloadError) as info:
        batch(doc, spec, max_rows)
    return info.value


@pytest.mark.parametrize(
    "doc",
    [
        {"dataframe_records": [{"a": 1, "b": 2.5}, {"b": 4.0, "a": 3.0}]},
        {"dataframe_split": {"columns": ["b", "a"], "data": [[2.5, 1], [4.0, 3.0]]}},
        {"dataframe_split": {"index": [7, 8], "columns": ["a", "b"], "data": [[1, 2.5], [3, 4]]}},
        {"inputs": [{"a": 1, "b": 2.5}, {"a": 3, "b": 4}]},
        {"inputs": {"a": [1, 3], "b": [2.5, 4]}},
    ],
)
def test_every_format_gives_the_same_frame_in_signature_order(doc):
    out = batch(doc)
    assert list(out.frame.columns) == ["a", "b"]
    assert out.frame.dtypes.tolist() == [np.float64, np.float64]
    assert out.frame.to_dict("list") == {"a": [1.0, 3.0], "b": [2.5, 4.0]}
    assert out.ids == {}


def test_customer_id_is_an_identifier_not_an_input():
    out = batch({"dataframe_records": [{"customer_id": 42, "a": 1, "b": 2}, {"a": 3, "b": 4}]})
    assert list(out.frame.columns) == ["a", "b"]
    assert out.ids == {"customer_id": ["42", None]}


def test_null_in_a_double_column_is_nan():
    out = batch({"inputs": {"a": [None, 1], "b": [1, 2]}})
    assert math.isnan(out.frame["a"][0]) and out.frame["a"][1] == 1.0


@pytest.mark.parametrize(
    ("doc", "status", "message"),
    [
        (
            [1, 2],
            400,
            "expected a JSON object with one of ['dataframe_records', "
            "'dataframe_split', 'inputs'], got a JSON array",
        ),
        ({"instances": []}, 400, "unexpected key(s) ['instances']; send exactly one of"),
        (
            {},
            400,
            "send exactly one of ['dataframe_records', 'dataframe_split', 'inputs'], got none",
        ),
        ({"inputs": [], "dataframe_records": []}, 400, "got ['dataframe_records', 'inputs']"),
        ({"inputs": [{"a": 1, "b": 1}], "params": {"x": 1}}, 400, "params are not supported"),
        (
            {"dataframe_records": {"a": 1}},
            400,
            "dataframe_records must be a list of records (JSON objects), got a JSON object",
        ),
        (
            {"dataframe_records": [{"a": 1, "b": 2}, 5]},
            400,
            "dataframe_records[1] must be a JSON object, got a JSON number",
        ),
        (
            {"dataframe_split": {"data": [[1, 2]]}},
            400,
            'dataframe_split must be an object with "columns"',
        ),
        (
            {"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2], [3]]}},
            400,
            "dataframe_split.data[1] must be a list of 2 values (one per column), got 1 values",
        ),
        (
            {"dataframe_split": {"columns": ["a", "a"], "data": []}},
            400,
            "dataframe_split.columns must be distinct column names",
        ),
        ({"inputs": {"a": [1], "b": 2}}, 400, "inputs.b must be a list of values"),
        ({"inputs": {"a": [1], "b": [2, 3]}}, 400, "inputs columns have different lengths [1, 2]"),
        ({"dataframe_records": []}, 400, "empty batch: send at least one row"),
        ({"dataframe_split": {"columns": ["a", "b"], "data": []}}, 400, "empty batch"),
        ({"inputs": [{"a": 1}]}, 400, "missing feature(s) ['b']"),
        ({"inputs": [{"a": 1, "b": 2}, {"a": 1}]}, 400, "missing feature 'b' in row 1"),
        (
            {"inputs": [{"a": 1, "b": 2, "c": 3}]},
            400,
            "unknown column(s) ['c']; the model takes ['a', 'b']",
        ),
        (
            {"inputs": [{"a": 1, "b": "2"}]},
            400,
            "column 'b' must be double: row 0 has \"2\" (string)",
        ),
        (
            {"inputs": {"a": [1, 2], "b": [1, True]}},
            400,
            "column 'b' must be double: row 1 has true (boolean)",
        ),
        ({"inputs": [{"a": [1], "b": 2}]}, 400, "column 'a' must be double: row 0 has [1] (array)"),
    ],
)
def test_refusals_name_the_problem(doc, status, message):
    err = refused(doc)
    assert err.status == status
    assert message in err.message


def test_batch_over_the_limit_is_413():
    err = refused({"inputs": {"a": [1.0] * 11, "b": [2.0] * 11}}, max_rows=10)
    assert err.status == 413
    assert err.message == "batch of 11 rows is over the limit of 10 rows per request; split it"
    assert batch({"inputs": {"a": [1.0] * 10, "b": [2.0] * 10}}, max_rows=10).rows == 10


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty request body"),
        (b"{not json", "request body is not valid JSON"),
        (b"\xff\xfe", "request body is not valid JSON"),
    ],
)
def test_bodies_that_are_not_json(body, message):
    with pytest.raises(PayloadError) as info:
        parse_json(body)
    assert info.value.status == 400 and message in info.value.message


def test_spec_from_an_mlflow_signature_keeps_names_types_and_order():
    import pandas as pd

    example = pd.DataFrame({"x": [1.0], "n": [2], "flag": [True], "s": ["a"]})
    spec = InputSpec.from_schema(infer_signature(example).inputs)
    assert spec.columns == ("x", "n", "flag", "s")
    assert spec.types == {"x": "double", "n": "long", "flag": "boolean", "s": "string"}
    assert spec.required == {"x", "n", "flag", "s"}
    out = batch({"inputs": [{"x": 1, "n": 2, "flag": False, "s": "q"}]}, spec)
    assert out.frame.dtypes.tolist() == [np.float64, np.int64, bool, object]
    assert (
        "column 'n' must be long: row 0 has 2.5 (number)"
        in refused({"inputs": [{"x": 1, "n": 2.5, "flag": False, "s": "q"}]}, spec).message
    )
    assert (
        "column 'n' does not fit long"
        in refused({"inputs": [{"x": 1, "n": 2**70, "flag": False, "s": "q"}]}, spec).message
    )


def test_without_a_signature_any_columns_are_passed_through():
    out = batch({"inputs": [{"customer_id": "7", "q": 1, "r": "x"}]}, spec=None)
    assert list(out.frame.columns) == ["q", "r"] and out.ids == {"customer_id": ["7"]}
