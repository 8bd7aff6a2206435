"""``dlt.apply_changes`` and ``dlt.apply_changes_from_snapshot``: change data capture flows."""

from __future__ import annotations

from mlplatform.dlt import dataset_names
from mlplatform.dlt.analysis import DltDefinitionError
from mlplatform.dlt.columns import to_names
from mlplatform.dlt.declare import caller_globals, sql_text, unsupported
from mlplatform.dlt.pipeline import pipeline_for
from mlplatform.lakehouse.update.changes import ChangeSpec
from mlplatform.lakehouse.update.snapshot import SnapshotSpec


def apply_changes(
    target,
    source,
    keys,
    sequence_by,
    where=None,
    ignore_null_updates=None,
    apply_as_deletes=None,
    apply_as_truncates=None,
    column_list=None,
    except_column_list=None,
    stored_as_scd_type="1",
    track_history_column_list=None,
    track_history_except_column_list=None,
    flow_name=None,
    once=False,
    ignore_null_updates_column_list=None,
    ignore_null_updates_except_column_list=None,
    columns_to_update=None,
):
    """Apply a change-data-capture feed to ``target`` (SCD type 1 or 2) with a Delta merge."""
    refused = {
        "where": where,
        "ignore_null_updates": ignore_null_updates,
        "apply_as_truncates": apply_as_truncates,
        "once": once,
        "ignore_null_updates_column_list": ignore_null_updates_column_list,
        "ignore_null_updates_except_column_list": ignore_null_updates_except_column_list,
        "columns_to_update": columns_to_update,
    }
    for option, value in refused.items():
        if value:
            raise unsupported(
                f"apply_changes({option}=...)",
                "filter or transform the source in a @dlt.view and apply its changes instead",
            )
    scd = int(str(stored_as_scd_type))
    if scd not in (1, 2):
        raise DltDefinitionError(f"apply_changes: stored_as_scd_type must be 1 or 2, got {scd}")
    keys = to_names(keys, "apply_changes(keys)")
    if not keys:
        raise DltDefinitionError("apply_changes: keys must be a non-empty list of column names")
    column_list = to_names(column_list, "column_list")
    except_column_list = to_names(except_column_list, "except_column_list")
    track_history_column_list = to_names(track_history_column_list, "track_history_column_list")
    track_history_except_column_list = to_names(
        track_history_except_column_list, "track_history_except_column_list"
    )
    pipeline = pipeline_for(caller_globals())
    ds = pipeline.datasets.get(target)
    if ds is None or ds.kind != "streaming_table":
        raise DltDefinitionError(
            f"apply_changes target {target!r} must be declared with "
            f"dlt.create_streaming_table({target!r}) first"
        )
    ds.changes = ChangeSpec(
        target=target,
        source=source.split(".")[-1],
        keys=list(keys),
        sequence_by=to_names([sequence_by], "apply_changes(sequence_by)")[0],
        apply_as_deletes=sql_text(apply_as_deletes, "apply_changes(apply_as_deletes)")
        if apply_as_deletes is not None
        else None,
        column_list=list(column_list) if column_list else None,
        except_column_list=list(except_column_list or []),
        stored_as_scd_type=scd,
        track_history_column_list=list(track_history_column_list)
        if track_history_column_list
        else None,
        track_history_except_column_list=list(track_history_except_column_list or []),
    )
    pipeline.changed()


def apply_changes_from_snapshot(
    target,
    snapshot_and_version=None,
    source=None,
    keys=None,
    stored_as_scd_type=1,
    track_history_column_list=None,
    track_history_except_column_list=None,
):
    """Apply snapshots to ``target`` (SCD type 1 or 2): rows new or changed since the previous
    snapshot are upserted, keys missing from a snapshot are deleted.

    ``source`` names a dataset (or ``schema.table``) whose every new version is a snapshot;
    ``snapshot_and_version`` (or a callable ``source``) is a function called with the last
    applied version (None at first) that returns the next ``(DataFrame, version)`` or None.
    """
    if callable(source) and snapshot_and_version is None:
        source, snapshot_and_version = None, source
    if (source is None) == (snapshot_and_version is None):
        raise DltDefinitionError(
            f"apply_changes_from_snapshot({target!r}): give either source=<table name> or "
            "snapshot_and_version=<function returning (DataFrame, version) or None>"
        )
    keys = to_names(keys, "apply_changes_from_snapshot(keys)")
    if not keys:
        raise DltDefinitionError("apply_changes_from_snapshot: keys must name the key columns")
    scd = int(str(stored_as_scd_type))
    if scd not in (1, 2):
        raise DltDefinitionError(f"stored_as_scd_type must be 1 or 2, got {stored_as_scd_type}")
    pipeline = pipeline_for(caller_globals())
    ds = pipeline.datasets.get(target)
    if ds is None or ds.kind != "streaming_table":
        raise DltDefinitionError(
            f"apply_changes_from_snapshot target {target!r} must be declared with "
            f"create_streaming_table({target!r}) first"
        )
    if source is not None:
        kind, ref = dataset_names.resolve(
            source, pipeline.schema, pipeline.catalog, pipeline.datasets
        )
        source = pipeline.key(ref) if kind == "dataset" else ref
    ds.snapshot = SnapshotSpec(
        target=target,
        source=source if source is not None else snapshot_and_version,
        keys=keys,
        stored_as_scd_type=scd,
        track_history_column_list=to_names(track_history_column_list, "track_history"),
        track_history_except_column_list=to_names(
            track_history_except_column_list, "track_history_except"
        )
        or [],
    )
    pipeline.changed()
