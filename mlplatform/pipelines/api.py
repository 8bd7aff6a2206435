"""The names of ``pyspark.pipelines`` and of Databricks' ``dp`` module, on mlplatform.dlt's
machinery: each call declares the same datasets, flows and expectations ``mlplatform.dlt`` does."""

from __future__ import annotations

from pathlib import Path

from mlplatform import dlt
from mlplatform.dlt import api as dlt_api
from mlplatform.dlt import cdc_api, dataset_names
from mlplatform.dlt.analysis import DltDefinitionError
from mlplatform.dlt.declare import caller_globals, dataset_decorator
from mlplatform.dlt.pipeline import Dataset, pipeline_for
from mlplatform.lakehouse.names import TableNameError, resolve_name
from mlplatform.lakehouse.object_location import ObjectLocation
from mlplatform.settings import get_settings

expect = dlt.expect
expect_or_drop = dlt.expect_or_drop
expect_or_fail = dlt.expect_or_fail
expect_all = dlt.expect_all
expect_all_or_drop = dlt.expect_all_or_drop
expect_all_or_fail = dlt.expect_all_or_fail
on_event_hook = dlt.on_event_hook


def _format(format, where: str) -> None:
    if format not in (None, "delta"):
        raise DltDefinitionError(
            f"{where}(format={format!r}): mlplatform stores every table as Delta; remove format"
        )


def _dataset(kind, query_function, name, comment, table_properties, options: dict):
    return dataset_decorator(kind, query_function, name, comment, table_properties, options)


def table(
    query_function=None,
    *,
    name=None,
    comment=None,
    spark_conf=None,
    table_properties=None,
    path=None,
    partition_cols=None,
    cluster_by_auto=None,
    cluster_by=None,
    schema=None,
    row_filter=None,
    private=None,
    format=None,
):
    """A streaming table when the query reads a stream (``spark.readStream``), else a
    materialized view."""
    _format(format, "table")
    options = {
        "partition_cols": partition_cols,
        "path": path,
        "schema": schema,
        "cluster_by": cluster_by,
        "cluster_by_auto": cluster_by_auto,
        "row_filter": row_filter,
        "private": private,
    }
    return _dataset("table", query_function, name, comment, table_properties, options)


def materialized_view(
    query_function=None,
    *,
    name=None,
    comment=None,
    spark_conf=None,
    table_properties=None,
    path=None,
    partition_cols=None,
    cluster_by_auto=None,
    cluster_by=None,
    schema=None,
    row_filter=None,
    private=None,
    format=None,
):
    """A table recomputed from full reads of its inputs (when they changed)."""
    _format(format, "materialized_view")
    options = {
        "partition_cols": partition_cols,
        "path": path,
        "schema": schema,
        "cluster_by": cluster_by,
        "cluster_by_auto": cluster_by_auto,
        "row_filter": row_filter,
        "private": private,
    }
    return _dataset("materialized_view", query_function, name, comment, table_properties, options)


def temporary_view(query_function=None, *, name=None, comment=None, spark_conf=None):
    """A view computed within the update by the flows that read it; never published."""
    return _dataset("view", query_function, name, comment, None, {})


def create_streaming_table(
    name,
    *,
    comment=None,
    spark_conf=None,
    table_properties=None,
    path=None,
    partition_cols=None,
    cluster_by_auto=None,
    cluster_by=None,
    schema=None,
    expect_all=None,
    expect_all_or_drop=None,
    expect_all_or_fail=None,
    row_filter=None,
    format=None,
):
    """Declare a streaming table filled by ``append_flow`` or ``create_auto_cdc_flow``."""
    _format(format, "create_streaming_table")
    if cluster_by_auto:
        raise DltDefinitionError("create_streaming_table(cluster_by_auto=...): remove the option")
    dlt_api.create_streaming_table(
        name,
        comment=comment,
        table_properties=table_properties,
        partition_cols=partition_cols,
        path=path,
        schema=schema,
        expect_all=expect_all,
        expect_all_or_drop=expect_all_or_drop,
        expect_all_or_fail=expect_all_or_fail,
        cluster_by=cluster_by,
        row_filter=row_filter,
    )


def append_flow(*, target, name=None, spark_conf=None, comment=None, once=False):
    """Add a flow appending the decorated query's rows to the streaming table or sink ``target``."""
    return dlt_api.append_flow(name=name, target=target, comment=comment, once=once)


def create_sink(name, format, options=None):
    """A Delta sink: ``options`` ``tableName`` (``[catalog.]schema.table``, resolved against the
    pipeline's catalog and schema) or ``path`` (a table folder under the lakehouse root,
    ``$MLPLATFORM_HOME/lakehouse`` by default). Flows write to it with
    ``@append_flow(target=name)``."""
    if format != "delta":
        raise DltDefinitionError(
            f"create_sink({name!r}, format={format!r}): mlplatform writes Delta sinks only "
            "(format='delta'); a Kafka or other external sink is not supported"
        )
    options = dict(options or {})
    pipeline = pipeline_for(caller_globals())
    key = _sink_key(name, options, pipeline.schema, pipeline.catalog)
    if any(ds.sink == key or pipeline.key(ds.name) == key for ds in pipeline.datasets.values()):
        raise DltDefinitionError(f"sink {name!r}: {key} is already written by this pipeline")
    pipeline.add(Dataset(name=name, kind="sink", sink=key, comment=f"Delta sink {name}"))


def _sink_key(name: str, options: dict, schema: str, catalog: str | None = None) -> str:
    unknown = set(options) - {"tableName", "path", "mergeSchema"}
    if unknown or ("tableName" in options) == ("path" in options):
        raise DltDefinitionError(
            f"sink {name!r}: give a Delta sink exactly one of the options tableName or path"
            + (f" (not {sorted(unknown)})" if unknown else "")
        )
    if "tableName" in options:
        try:
            return resolve_name(str(options["tableName"]), catalog, schema).key
        except TableNameError as err:
            raise DltDefinitionError(f"sink {name!r}: {err}") from err
    parts = _parts_under(get_settings().lakehouse, str(options["path"]))
    if len(parts) not in (2, 3) or parts[-1] == dataset_names.EVENT_LOG:
        raise DltDefinitionError(
            f"sink {name!r}: path {options['path']!r} must be a table folder "
            "[<catalog>/]<schema>/<table> under $MLPLATFORM_HOME/lakehouse (or the table root "
            "MLPLATFORM_LAKEHOUSE names)"
        )
    return "/".join(parts)


def _parts_under(root, text: str) -> tuple[str, ...]:
    """The parts of ``text`` (relative, or absolute under ``root``) below the table root; ()
    when it lies elsewhere."""
    if isinstance(root, ObjectLocation):
        if text.startswith(root.uri + "/"):
            text = text[len(root.uri) + 1 :]
        elif "://" in text or text.startswith("/"):
            return ()
        return tuple(p for p in text.split("/") if p)
    path = Path(text)
    path = path if path.is_absolute() else root / path
    try:
        return path.resolve().relative_to(root.resolve()).parts
    except ValueError:
        return ()


def create_auto_cdc_flow(
    target,
    source,
    keys,
    sequence_by,
    ignore_null_updates=False,
    apply_as_deletes=None,
    apply_as_truncates=None,
    column_list=None,
    except_column_list=None,
    stored_as_scd_type=1,
    track_history_column_list=None,
    track_history_except_column_list=None,
    name=None,
    once=False,
    *,
    spark_conf=None,
):
    """Apply a change feed to ``target`` as SCD type 1 or 2 (``apply_changes``' new name)."""
    cdc_api.apply_changes(
        target=target,
        source=source,
        keys=keys,
        sequence_by=sequence_by,
        ignore_null_updates=ignore_null_updates,
        apply_as_deletes=apply_as_deletes,
        apply_as_truncates=apply_as_truncates,
        column_list=column_list,
        except_column_list=except_column_list,
        stored_as_scd_type=stored_as_scd_type if stored_as_scd_type is not None else 1,
        track_history_column_list=track_history_column_list,
        track_history_except_column_list=track_history_except_column_list,
        flow_name=name,
        once=once,
    )


def create_auto_cdc_from_snapshot_flow(
    target,
    source,
    keys,
    stored_as_scd_type=1,
    track_history_column_list=None,
    track_history_except_column_list=None,
):
    """Apply snapshots (a table, or a function returning the next ``(DataFrame, version)``)
    to ``target``; keys missing from a snapshot are deleted."""
    cdc_api.apply_changes_from_snapshot(
        target=target,
        source=source,
        keys=keys,
        stored_as_scd_type=stored_as_scd_type,
        track_history_column_list=track_history_column_list,
        track_history_except_column_list=track_history_except_column_list,
    )
