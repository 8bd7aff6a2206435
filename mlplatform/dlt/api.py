"""The ``dlt`` API surface (as in Databricks' ``databricks-dlt`` 0.3.0), on mlplatform."""

from __future__ import annotations

from collections.abc import Callable

from mlplatform.dlt import runtime
from mlplatform.dlt.analysis import DltDefinitionError
from mlplatform.dlt.columns import install_load_time_columns
from mlplatform.dlt.declare import (
    DATASET_ATTRIBUTE,
    EXPECTATIONS_ATTRIBUTE,
    caller_globals,
    dataset_decorator,
    sql_text,
    unsupported,
)
from mlplatform.dlt.pipeline import Dataset, pipeline_for
from mlplatform.lakehouse.event_log import EventHook
from mlplatform.lakehouse.expectations import Action, Expectation, expectations_from_dict

install_load_time_columns()  # col()/expr() at module load: Spark Connect expressions, no JVM


def table(
    query_function=None,
    name=None,
    comment=None,
    spark_conf=None,
    table_properties=None,
    partition_cols=None,
    path=None,
    schema=None,
    temporary=False,
    cluster_by=None,
    row_filter=None,
):
    """A materialized table (a streaming table when its query reads a stream)."""
    return dataset_decorator(
        "table",
        query_function,
        name,
        comment,
        table_properties,
        {
            "partition_cols": partition_cols,
            "path": path,
            "schema": schema,
            "cluster_by": cluster_by,
            "row_filter": row_filter,
        },
    )


def view(query_function=None, name=None, comment=None, spark_conf=None):
    """A view: computed inside the tables that read it, never stored."""
    return dataset_decorator("view", query_function, name, comment, None, {})


def _expect(new: list[Expectation]):
    def decorate(func):
        registered = getattr(func, DATASET_ATTRIBUTE, None)
        if registered is not None:  # applied above @dlt.table
            pipeline, ds = registered
            ds.expectations = [*new, *ds.expectations]
            pipeline.changed()
        else:
            setattr(
                func, EXPECTATIONS_ATTRIBUTE, [*new, *getattr(func, EXPECTATIONS_ATTRIBUTE, [])]
            )
        return func

    return decorate


def expect(name: str, inv) -> Callable:
    """Keep rows that fail ``inv`` and record them."""
    return _expect([Expectation(name, sql_text(inv, f"expect({name!r})"), Action.WARN)])


def expect_or_drop(name: str, inv) -> Callable:
    """Drop rows that fail ``inv``; the update succeeds."""
    return _expect([Expectation(name, sql_text(inv, f"expect_or_drop({name!r})"), Action.DROP)])


def expect_or_fail(name: str, inv) -> Callable:
    """Fail the update (nothing is committed) if a row fails ``inv``."""
    return _expect([Expectation(name, sql_text(inv, f"expect_or_fail({name!r})"), Action.FAIL)])


def _rules(expectations: dict, where: str) -> dict:
    return {k: sql_text(v, f"{where}[{k!r}]") for k, v in (expectations or {}).items()}


def expect_all(expectations: dict) -> Callable:
    """Warn-only form for several rules."""
    return _expect(expectations_from_dict(_rules(expectations, "expect_all"), Action.WARN))


def expect_all_or_drop(expectations: dict) -> Callable:
    """Drop a row that fails any of the rules."""
    rules = _rules(expectations, "expect_all_or_drop")
    return _expect(expectations_from_dict(rules, Action.DROP))


def expect_all_or_fail(expectations: dict) -> Callable:
    """Fail the update if a row fails any of the rules."""
    rules = _rules(expectations, "expect_all_or_fail")
    return _expect(expectations_from_dict(rules, Action.FAIL))


def read(name: str):
    """The full current contents of a pipeline dataset (inside a query function)."""
    return runtime.resolve(name, stream=False)


def read_stream(name: str):
    """The rows of a pipeline dataset this table has not processed yet."""
    return runtime.resolve(name, stream=True)


def create_streaming_table(
    name,
    comment=None,
    spark_conf=None,
    table_properties=None,
    partition_cols=None,
    path=None,
    schema=None,
    expect_all=None,
    expect_all_or_drop=None,
    expect_all_or_fail=None,
    cluster_by=None,
    row_filter=None,
):
    """Declare a streaming table filled by ``append_flow`` or ``apply_changes``."""
    for option, value in {
        "partition_cols": partition_cols,
        "path": path,
        "schema": schema,
        "cluster_by": cluster_by,
        "row_filter": row_filter,
    }.items():
        if value:
            raise unsupported(f"create_streaming_table({option}=...)", "remove the option")
    exps = []
    for rules, action in (
        (expect_all, Action.WARN),
        (expect_all_or_drop, Action.DROP),
        (expect_all_or_fail, Action.FAIL),
    ):
        if rules:
            exps += expectations_from_dict(_rules(rules, "create_streaming_table"), action)
    pipeline = pipeline_for(caller_globals())
    pipeline.add(
        Dataset(
            name=name,
            kind="streaming_table",
            comment=comment or "",
            properties=dict(table_properties or {}),
            expectations=exps,
        )
    )


def append_flow(name=None, target=None, comment=None, spark_conf=None, once=False):
    """Add a flow (a query appending to ``target``) to a streaming table."""
    if once:
        raise unsupported(
            "append_flow(once=True)",
            "run a one-off backfill with the table's full_refresh config instead",
        )
    if not target:
        raise DltDefinitionError("dlt.append_flow needs target=<streaming table name>")

    def decorate(func):
        pipeline = pipeline_for(func.__globals__)
        ds = pipeline.datasets.get(target)
        if ds is None:
            raise DltDefinitionError(
                f"append_flow target {target!r} is not declared: call "
                f"dlt.create_streaming_table({target!r}) first"
            )
        ds.flows.append(func)
        pipeline.changed()
        return func

    return decorate


def on_event_hook(user_event_hook_fn=None, max_allowable_consecutive_failures=None):
    """Call the decorated function with every event the pipeline's updates log (a dict with
    the event log's columns); its exceptions are logged, never fatal, and after
    ``max_allowable_consecutive_failures`` failures in a row it is no longer called."""

    def decorate(func):
        if not callable(func):
            raise DltDefinitionError("on_event_hook decorates a function of one event")
        pipeline = pipeline_for(getattr(func, "__globals__", None) or caller_globals())
        pipeline.hooks.append(EventHook(func, max_allowable_consecutive_failures))
        pipeline.changed()
        return func

    if user_event_hook_fn is None:
        return decorate
    return decorate(user_event_hook_fn)


def enable_local_execution():
    """Accepted for compatibility: mlplatform always executes locally or on its Spark session."""
