"""Lakeflow / Spark Declarative Pipelines code on mlplatform: ``from mlplatform import pipelines
as dp`` offers the names of ``pyspark.pipelines`` and of Databricks' ``dp`` module (with
expectations, Auto CDC and snapshot CDC), on the machinery of ``mlplatform.dlt``.

A ``spark-pipeline.yml`` spec loads as one Dagster code location
(``mlplatform.pipelines.code_location``), as a Dagster component
(``mlplatform.pipelines.component.PipelineComponent``) and runs with ``mlplatform pipelines run``.
"""

from mlplatform.dlt.analysis import DltDefinitionError
from mlplatform.dlt.runtime import DltRuntimeError
from mlplatform.pipelines.api import (
    append_flow,
    create_auto_cdc_flow,
    create_auto_cdc_from_snapshot_flow,
    create_sink,
    create_streaming_table,
    expect,
    expect_all,
    expect_all_or_drop,
    expect_all_or_fail,
    expect_or_drop,
    expect_or_fail,
    materialized_view,
    on_event_hook,
    table,
    temporary_view,
)

__all__ = [
    "DltDefinitionError",
    "DltRuntimeError",
    "append_flow",
    "create_auto_cdc_flow",
    "create_auto_cdc_from_snapshot_flow",
    "create_sink",
    "create_streaming_table",
    "expect",
    "expect_all",
    "expect_all_or_drop",
    "expect_all_or_fail",
    "expect_or_drop",
    "expect_or_fail",
    "materialized_view",
    "on_event_hook",
    "table",
    "temporary_view",
]
