"""Unchanged ``from pyspark import pipelines as dp`` code: pyspark's decorators register their
outputs and flows with the active graph element registry, and while a spec loads that registry
is this one, which declares them in the mlplatform pipeline (no Spark Connect server needed)."""

from __future__ import annotations

from pathlib import Path

from pyspark.pipelines.graph_element_registry import GraphElementRegistry
from pyspark.pipelines.output import MaterializedView, Sink, StreamingTable, TemporaryView

from mlplatform.dlt import cdc_api
from mlplatform.dlt.analysis import DltDefinitionError
from mlplatform.dlt.columns import to_name, to_names, to_sql
from mlplatform.dlt.pipeline import Dataset, Pipeline


def _check_storage_options(output) -> None:
    for option in ("partition_cols", "cluster_by", "schema"):
        if getattr(output, option, None):
            raise DltDefinitionError(
                f"dataset {output.name!r}: {option} is not supported; mlplatform stores every "
                "table as an unpartitioned Delta table under the pipeline schema"
            )
    if getattr(output, "format", None) not in (None, "delta"):
        raise DltDefinitionError(f"dataset {output.name!r}: format {output.format!r}: use Delta")


class MlplatformGraphRegistry(GraphElementRegistry):
    """Declares pyspark.pipelines' graph elements in one mlplatform pipeline."""

    def __init__(self, pipeline: Pipeline):
        self.pipeline = pipeline
        self.pending: dict[str, tuple[str, object]] = {}  # outputs waiting for their flow

    def register_output(self, output) -> None:
        _check_storage_options(output)
        if isinstance(output, Sink):
            from mlplatform.pipelines.api import create_sink

            create_sink(output.name, output.format, dict(output.options))
        elif isinstance(output, MaterializedView):
            self.pending[output.name] = ("materialized_view", output)
        elif isinstance(output, StreamingTable):
            props = dict(output.table_properties or {})
            self.pipeline.add(
                Dataset(
                    output.name, "streaming_table", comment=output.comment or "", properties=props
                )
            )
        elif isinstance(output, TemporaryView):
            self.pending[output.name] = ("view", output)
        else:
            raise DltDefinitionError(f"{type(output).__name__} {output.name!r} is not supported")

    def register_flow(self, flow) -> None:
        pending = self.pending.pop(flow.target, None)
        if pending is not None:
            kind, output = pending
            self.pipeline.add(
                Dataset(
                    output.name,
                    kind,
                    func=flow.func,
                    comment=output.comment or "",
                    properties=dict(getattr(output, "table_properties", None) or {}),
                )
            )
            return
        ds = self.pipeline.datasets.get(flow.target)
        if ds is None:
            raise DltDefinitionError(f"flow {flow.name!r} targets {flow.target!r}, not declared")
        if flow.name == flow.target and ds.func is None and not ds.flows:
            ds.func = flow.func  # @dp.table: the table's own query
        else:
            ds.flows.append(flow.func)

    def register_auto_cdc_flow(self, flow) -> None:
        cdc_api.apply_changes(
            target=flow.target,
            source=flow.source,
            keys=to_names(flow.keys, "keys"),
            sequence_by=to_name(flow.sequence_by, "sequence_by"),
            apply_as_deletes=to_sql(flow.apply_as_deletes, "apply_as_deletes")
            if flow.apply_as_deletes is not None
            else None,
            column_list=to_names(flow.column_list, "column_list"),
            except_column_list=to_names(flow.except_column_list, "except_column_list"),
            stored_as_scd_type=flow.stored_as_scd_type or 1,
            # pyspark 4.2's AutoCdcFlow has no track_history fields (SCD type 1 only)
            track_history_column_list=to_names(
                getattr(flow, "track_history_column_list", None), "track_history"
            ),
            track_history_except_column_list=to_names(
                getattr(flow, "track_history_except_column_list", None), "track_history_except"
            ),
        )

    def register_sql(self, sql_text: str, file_path: Path) -> None:
        from mlplatform.pipelines.sql_files import register

        register(self.pipeline, sql_text, Path(file_path))

    def finish(self) -> None:
        if self.pending:
            raise DltDefinitionError(f"datasets without a query: {sorted(self.pending)}")
