"""What the ``dlt`` and ``dp`` API surfaces share: the module that declares, the dataset
decorator, SQL predicates given as text or columns, and the error for an unsupported option."""

from __future__ import annotations

import inspect
from collections.abc import Callable

from mlplatform.dlt.analysis import DltDefinitionError
from mlplatform.dlt.columns import to_sql
from mlplatform.dlt.pipeline import Dataset, pipeline_for

EXPECTATIONS_ATTRIBUTE = "__mlplatform_dlt_expectations__"
"""Expectations decorated onto a function before its dataset decorator ran."""
DATASET_ATTRIBUTE = "__mlplatform_dlt_dataset__"
"""The (pipeline, dataset) a decorated function declared."""


def caller_globals() -> dict:
    """The globals of the user's module that called into mlplatform.dlt (or .pipelines)."""
    frame = inspect.currentframe()
    while frame is not None and str(frame.f_globals.get("__name__", "")).startswith(
        ("mlplatform.dlt", "mlplatform.pipelines", "pyspark.pipelines")
    ):
        frame = frame.f_back
    if frame is None:
        raise DltDefinitionError("mlplatform.dlt must be called from a pipeline module")
    return frame.f_globals


def unsupported(name: str, instead: str) -> DltDefinitionError:
    """The error for a part of the API mlplatform does not support, saying what to do instead."""
    return DltDefinitionError(f"dlt.{name} is not supported by mlplatform: {instead}")


def sql_text(value, where: str) -> str:
    """A SQL predicate or expression given as text or as a column (``where`` names the call)."""
    if isinstance(value, str):
        return value
    return to_sql(value, where)


def dataset_decorator(kind: str, query_function, name, comment, table_properties, extra: dict):
    """``@table``/``@view`` and their ``dp`` names: declare the decorated query function as a
    dataset of its module's pipeline (``extra``: options that must be left unset)."""
    for option, value in extra.items():
        if value:
            raise unsupported(
                f"{kind}({option}=...)",
                "remove the option; mlplatform stores "
                "every table as an unpartitioned Delta table under the pipeline "
                "schema",
            )

    def decorate(func: Callable):
        pipeline = pipeline_for(func.__globals__)
        ds = Dataset(
            name=name or func.__name__,
            kind=kind,
            func=func,
            comment=comment or "",
            properties=dict(table_properties or {}),
            expectations=list(getattr(func, EXPECTATIONS_ATTRIBUTE, [])),
        )
        ds = pipeline.add(ds)
        setattr(func, DATASET_ATTRIBUTE, (pipeline, ds))
        return func

    return decorate(query_function) if callable(query_function) else decorate
