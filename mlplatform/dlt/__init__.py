"""Run Delta Live Tables code on mlplatform: replace ``import dlt`` by
``from mlplatform import dlt``.

The API surface is that of Databricks' ``databricks-dlt`` 0.3.0 stub package, deprecated aliases
included. Decorated functions become mlplatform tables: Dagster assets with checks, stored as Delta.
"""

import warnings

from mlplatform.dlt.analysis import DltDefinitionError
from mlplatform.dlt.api import (
    append_flow,
    create_streaming_table,
    enable_local_execution,
    expect,
    expect_all,
    expect_all_or_drop,
    expect_all_or_fail,
    expect_or_drop,
    expect_or_fail,
    on_event_hook,
    read,
    read_stream,
    table,
    view,
)
from mlplatform.dlt.cdc_api import apply_changes, apply_changes_from_snapshot
from mlplatform.dlt.runtime import DltRuntimeError


def _deprecated(replacement, old: str):
    def call(*args, **kwargs):
        warnings.warn(
            f"dlt.{old} is deprecated; use dlt.{replacement.__name__}",
            DeprecationWarning,
            stacklevel=2,
        )
        return replacement(*args, **kwargs)

    call.__name__ = old
    return call


create_target_table = _deprecated(create_streaming_table, "create_target_table")
create_streaming_live_table = _deprecated(create_streaming_table, "create_streaming_live_table")
create_view = _deprecated(view, "create_view")
create_table = _deprecated(table, "create_table")
readStream = read_stream  # noqa: N816 (the stub's alias)

__all__ = [
    "DltDefinitionError",
    "DltRuntimeError",
    "append_flow",
    "apply_changes",
    "apply_changes_from_snapshot",
    "create_streaming_live_table",
    "create_streaming_table",
    "create_table",
    "create_target_table",
    "create_view",
    "enable_local_execution",
    "expect",
    "expect_all",
    "expect_all_or_drop",
    "expect_all_or_fail",
    "expect_or_drop",
    "expect_or_fail",
    "on_event_hook",
    "read",
    "read_stream",
    "readStream",
    "table",
    "view",
]
