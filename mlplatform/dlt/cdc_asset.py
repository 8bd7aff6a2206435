"""The Dagster asset of an ``apply_changes`` target."""

import dagster as dg

from mlplatform.dlt.cdc import ChangeRunner, ChangeSpec
from mlplatform.settings import get_settings


class ChangesConfig(dg.Config):
    """Run options of an apply_changes target."""

    full_refresh: bool = False


def build_change_asset(spec: ChangeSpec, schema: str, comment: str = "") -> dg.AssetsDefinition:
    @dg.asset(
        key_prefix=[schema],
        name=spec.target,
        deps=[dg.AssetKey([schema, spec.source])],
        group_name=schema,
        kinds={"deltalake", "polars"},
        description=comment
        or f"{spec.target}: changes of {spec.source} applied as SCD type "
        f"{spec.stored_as_scd_type} (keys {spec.keys}, sequenced by {spec.sequence_by})",
    )
    def _changes(context: dg.AssetExecutionContext, config: ChangesConfig) -> dg.MaterializeResult:
        result = ChangeRunner(spec, schema, get_settings()).run(full_refresh=config.full_refresh)
        context.log.info(f"applied {result['changes']} changes; {result['rows']} rows")
        return dg.MaterializeResult(
            metadata={
                "batch_id": result["batch_id"],
                "applied_changes": result["changes"],
                "dagster/row_count": result["rows"],
                "scd_type": spec.stored_as_scd_type,
            }
        )

    return _changes
