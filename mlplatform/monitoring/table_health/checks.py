"""Freshness and completeness of every Delta table as Dagster checks, and their history table.

`build_table_quality(tables)` takes `(asset key, Delta path)` pairs (a path, or a function of the
`lakehouse` resource's settings returning one, so the home is the run's) and returns:

- one multi-asset check with a `freshness` and a `completeness` check on every table (WARN or
  ERROR severity; failures are alerted through `mlplatform.monitoring.alerts`), run with their
  table and every hour (declarative automation, `on_cron`);
- the asset `monitoring/table_quality`: a Delta table with one row per table and check at each
  hourly run (`table`, `checked_at`, `check`, `status`, `observed`, `expected_low`,
  `expected_high`, `detail`).

`clock` (default: now in UTC) is injectable for tests. Rules: `loader.quality_rules()`.
"""

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

import dagster as dg

from mlplatform.catalog import TABLE_QUALITY
from mlplatform.lakehouse.assets import table_pool
from mlplatform.lakehouse.object_location import Location
from mlplatform.lakehouse.resource import LakehouseResource
from mlplatform.monitoring.alerts import send_alert
from mlplatform.monitoring.loader import quality_rules
from mlplatform.monitoring.table_health.judge import (
    COMPLETENESS,
    ERROR,
    FRESHNESS,
    Verdict,
    judge,
)
from mlplatform.settings import Settings

QUALITY_GROUP = "data_quality"
HOURLY = "0 * * * *"
TableRef = tuple[dg.AssetKey, Location | Callable[[Settings], Location]]
HOURLY_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=3), warn_window=timedelta(hours=2)
)
"""Tables refreshed every hour (the monitoring job's tables): late after 2 hours, failed after 3."""


def with_freshness(assets: list, keys: Iterable[dg.AssetKey], policy=HOURLY_FRESHNESS) -> list:
    """`assets` with `policy` as the Dagster freshness policy of the specs keyed by `keys`."""
    wanted = set(keys)
    return list(
        dg.map_asset_specs(
            lambda spec: (
                spec.replace_attributes(freshness_policy=policy) if spec.key in wanted else spec
            ),
            assets,
        )
    )


def lakehouse_path(key: dg.AssetKey) -> Callable[[Settings], Location]:
    """The Delta path of `[layer, table]` under the run's home."""
    return lambda settings: settings.table_path(*key.path)


DELTA_KINDS = {"deltalake"}  # Dagster's icon key for Delta tables


def delta_tables(assets: Iterable) -> list[TableRef]:
    """`(key, path)` of every asset with the `deltalake` kind and a `[layer, table]` key."""
    found = []
    for asset in assets:
        if not getattr(asset, "is_materializable", True):
            continue  # an observed source (the payload table): the UI lists no checks on it
        for spec in getattr(asset, "specs", []):
            if DELTA_KINDS & set(spec.kinds or ()) and len(spec.key.path) == 2:
                found.append((spec.key, lakehouse_path(spec.key)))
    return found


def _resolve(path: Location | Callable[[Settings], Location], settings: Settings) -> Location:
    return path(settings) if callable(path) else settings.location(path)


def _name(key: dg.AssetKey) -> str:
    return "/".join(key.path)


def _result(verdict: Verdict, key: dg.AssetKey) -> dg.AssetCheckResult:
    meta = {
        "status": verdict.status,
        "observed": verdict.observed if verdict.observed is not None else dg.MetadataValue.null(),
        "expected_low": dg.MetadataValue.null()
        if verdict.expected_low is None
        else verdict.expected_low,
        "expected_high": dg.MetadataValue.null()
        if verdict.expected_high is None
        else verdict.expected_high,
    }
    severity = dg.AssetCheckSeverity.WARN
    if verdict.status == ERROR:
        severity = dg.AssetCheckSeverity.ERROR
    return dg.AssetCheckResult(
        asset_key=key,
        check_name=verdict.check,
        passed=verdict.passed,
        severity=severity,
        description=f"{verdict.status}: {verdict.detail}",
        metadata=meta,
    )


def build_table_quality(
    tables: list[TableRef],
    clock: Callable[[], datetime] | None = None,
    own_table: bool = True,
) -> tuple[dg.AssetChecksDefinition, dg.AssetsDefinition]:
    """The checks on every table and the `monitoring/table_quality` asset (see the module).

    Args:
        tables: `(asset key, Delta path or a function of the settings returning it)` of each
            table.
        clock: The time the checks judge against (default: now, UTC).
        own_table: Check `monitoring/table_quality` itself too.
    """
    clock = clock or (lambda: datetime.now(UTC))
    paths = {key: path for key, path in tables}
    if own_table:
        paths.setdefault(TABLE_QUALITY.asset_key, lakehouse_path(TABLE_QUALITY.asset_key))
    hourly = dg.AutomationCondition.on_cron(HOURLY)
    specs = [
        dg.AssetCheckSpec(
            name,
            asset=key,
            description=text,
            automation_condition=hourly,
        )
        for key in paths
        for name, text in (
            (FRESHNESS, "A commit as recent as the table's usual cadence (its Delta history)."),
            (COMPLETENESS, "The last commit added about as many rows as the commits before."),
        )
    ]

    @dg.multi_asset_check(
        name="table_quality_checks",
        specs=specs,
        can_subset=True,
        description="Freshness and completeness of the Delta tables, from their commit history.",
    )
    def table_quality_checks(context: dg.AssetCheckExecutionContext, lakehouse: LakehouseResource):
        rules, now, settings = quality_rules(), clock(), lakehouse.settings
        selected = context.selected_asset_check_keys
        for key in dict.fromkeys(k.asset_key for k in selected):
            for verdict in judge(_name(key), _resolve(paths[key], settings), now, rules):
                if dg.AssetCheckKey(key, verdict.check) not in selected:
                    continue
                if not verdict.passed:
                    send_alert(
                        {
                            "event": "table_quality_check_failed",
                            "check": verdict.check,
                            "table": verdict.table,
                            "severity": verdict.status,
                            "summary": f"{verdict.table} {verdict.check} {verdict.status}: "
                            f"{verdict.detail}",
                            "observed": verdict.observed,
                            "expected": [verdict.expected_low, verdict.expected_high],
                            "run_id": context.op_execution_context.run_id,
                        },
                        context.log,
                    )
                yield _result(verdict, key)

    @dg.asset(
        key=TABLE_QUALITY.asset_key,
        pool=table_pool(TABLE_QUALITY.key),
        group_name=QUALITY_GROUP,
        kinds={"deltalake", "polars"},
        automation_condition=hourly,
        freshness_policy=HOURLY_FRESHNESS,
        description="Freshness and completeness of every Delta table of the graph, per hourly "
        "check: status (OK, WARN, ERROR, UNKNOWN), what was observed (seconds since the last "
        "commit, rows of the last commit) and the range expected from the table's history.",
        metadata=TABLE_QUALITY.catalog_metadata(),
    )
    def table_quality(
        context: dg.AssetExecutionContext, lakehouse: LakehouseResource
    ) -> dg.MaterializeResult:
        """Judge every table and append the verdicts."""
        from mlplatform.monitoring.table_health.store import append

        rules, now, settings = quality_rules(), clock(), lakehouse.settings
        verdicts = [
            v
            for key in paths
            for v in judge(_name(key), _resolve(paths[key], settings), now, rules)
        ]
        version, rows = append(settings, verdicts, now)
        failed = sorted(f"{v.table} {v.check} {v.status}" for v in verdicts if not v.passed)
        if failed:
            context.log.warning(f"table quality: {len(failed)} failed: {', '.join(failed)}")
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": rows,
                "delta_version": version,
                "tables_checked": len(paths),
                "failed": dg.MetadataValue.json(failed),
            }
        )

    return table_quality_checks, table_quality
