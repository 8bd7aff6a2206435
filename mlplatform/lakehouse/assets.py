"""Build a Dagster multi-asset (table, quarantine, one check per expectation) from a table."""

import json
from enum import Enum

import dagster as dg

from mlplatform.lakehouse import event_log
from mlplatform.lakehouse.delta import DeltaStore
from mlplatform.lakehouse.engines import get_engine
from mlplatform.lakehouse.engines.spark_resource import PySparkResource
from mlplatform.lakehouse.errors import MissingFileError, TableBusyError
from mlplatform.lakehouse.expectations import Action, ExpectationFailed, RuleResult
from mlplatform.lakehouse.ingest import CorruptFileError
from mlplatform.lakehouse.resource import LakehouseResource
from mlplatform.lakehouse.table import QUARANTINE_COLUMNS, TableDefinition
from mlplatform.lakehouse.update.runner import TableRunner
from mlplatform.lakehouse.update.runs import RunOptions, TableRun, peak_rss_mib


class SchemaMode(Enum):
    """Auto Loader's schema evolution modes."""

    rescue = "rescue"
    addNewColumns = "addNewColumns"  # noqa: N815 (Auto Loader's spelling)
    failOnNewColumns = "failOnNewColumns"  # noqa: N815
    none = "none"


class TableConfig(dg.Config):
    """Run options of a table update."""

    engine: str | None = None  # polars or spark; default: the lakehouse resource's engine
    full_refresh: bool = False
    replay_quarantine: bool = False
    warn_failed_fraction: float = 0.05
    # micro-batch bound: bytes of landing files, or of the upstream's data files for a stream
    # input; an int or a Spark-style size ("512m", "1g"); soft (at least one file or version)
    max_bytes_per_trigger: str | None = None
    # wait this long for another run updating the table, then fail with TableBusyError
    busy_timeout_s: float = 0.0


class IngestConfig(TableConfig):
    """Run options of a file-ingesting (bronze) table, named as Auto Loader names them."""

    schema_evolution_mode: SchemaMode | None = None
    allow_overwrites: bool = False
    max_files_per_trigger: int | None = None
    ignore_corrupt_files: bool | None = None  # default: the table's files() option (False)
    ignore_missing_files: bool | None = None


def asset_key(key: str) -> dg.AssetKey:
    return dg.AssetKey(key.split("/"))


ENGINE_KINDS = {"polars": "polars", "spark": "pyspark"}  # Dagster's icon keys


def table_kinds(engine: str | None) -> set[str]:
    """A table's kinds: Delta, and its engine (both engines when it runs on the resource's)."""
    return {"deltalake", *([ENGINE_KINDS[engine]] if engine else ENGINE_KINDS.values())}


def table_pool(key: str) -> str:
    """The concurrency pool of a Delta table's writers (limit 1: see dagster.yaml)."""
    return f"lakehouse/{key}"


def build_table_asset(
    defn: TableDefinition,
    engine: str | None = None,
    upstream_schemas: dict[str, dict[str, str]] | None = None,
    owners: list[str] | None = None,
) -> dg.AssetsDefinition:
    """The asset (and its quarantine asset and expectation checks) for a declared table.

    ``upstream_schemas`` (table key -> columns) gives a quarantine its source columns before the
    first run; ``owners`` are Dagster owners (``team:...`` or e-mail addresses).

    ``engine`` pins the table to polars or spark; left out, the table runs on the engine of the
    ``lakehouse`` resource (``MLPLATFORM_ENGINE`` at run time) or of its run config, and shows
    both engines' kinds. It requires the ``lakehouse`` and ``pyspark`` resources; on spark it
    runs on the ``pyspark`` resource's session, which starts only when a Spark step uses it.
    """
    config_cls = IngestConfig if defn.files_input is not None else TableConfig

    @dg.multi_asset(
        name=f"{defn.layer}__{defn.name}".replace("/", "__"),
        specs=table_specs(defn, engine, upstream_schemas, owners),
        check_specs=expectation_check_specs(defn),
        description=defn.comment,
        can_subset=True,  # selecting the table alone still keeps its quarantine in step
        pool=table_pool(defn.key),
    )
    def _table_asset(
        context: dg.AssetExecutionContext,
        config: config_cls,  # noqa: F821
        lakehouse: LakehouseResource,
        pyspark: PySparkResource,
    ):
        settings = lakehouse.settings
        runner = TableRunner(
            defn, settings, _engine(config.engine or engine or settings.engine, pyspark)
        )
        runner.progress = context.log.info  # a line per micro-batch in the CLI and the UI
        checks = {k.name for k in context.selected_asset_check_keys}
        run = yield from _update(context, runner, run_options(config), checks, config)
        yield from _results(context, runner, run, checks, config.warn_failed_fraction)

    return _table_asset


def table_specs(
    defn: TableDefinition,
    engine: str | None,
    upstream_schemas: dict[str, dict[str, str]] | None,
    owners: list[str] | None,
) -> list[dg.AssetSpec]:
    """The table's asset spec and, when it quarantines, its quarantine table's."""
    static = {"table_properties": dg.MetadataValue.json(defn.properties)} | {
        f"table_property/{k}": v for k, v in defn.properties.items()
    }
    # a table over upstream tables follows them (as a DLT pipeline's tables do); bronze is
    # requested by the file-arrival sensor
    automation = dg.AutomationCondition.eager() if defn.upstream else None
    common = dict(
        deps=[asset_key(u.key) for u in defn.upstream],
        group_name=defn.group,
        kinds=table_kinds(engine),
        owners=owners,
        automation_condition=automation,
    )
    specs = [
        dg.AssetSpec(
            asset_key(defn.key),
            description=defn.comment,
            metadata=static | _catalog_metadata(defn.layer, defn.name, defn.column_schema()),
            **common,
        )
    ]
    if defn.has_quarantine:
        source = (upstream_schemas or {}).get(defn.upstream[0].key) if defn.upstream else None
        if defn.files_input is not None:
            source = defn.column_schema()
        qschema = source | QUARANTINE_COLUMNS if source else None
        specs.append(
            dg.AssetSpec(
                _quarantine_key(defn),
                description=f"Rows of {defn.key} that broke a quarantine expectation, with the "
                "source columns as they were, the rules broken, and when. Replay them with "
                "the `replay_quarantine` config flag after a fix.",
                metadata=_catalog_metadata(defn.layer, defn.quarantine_name, qschema),
                **common,
            )
        )
    return specs


def expectation_check_specs(defn: TableDefinition) -> list[dg.AssetCheckSpec]:
    """One check per expectation; a `*_or_fail` rule's check blocks downstream."""
    return [
        dg.AssetCheckSpec(
            name=e.name,
            asset=asset_key(defn.key),
            description=f"expect ({e.action.value}): {e.predicate}",
            blocking=e.action is Action.FAIL,
        )
        for e in defn.expectations
    ]


def run_options(config: TableConfig) -> RunOptions:
    """The runner's options from the asset's run config (ingestion options only for bronze)."""
    return RunOptions(
        full_refresh=config.full_refresh,
        replay_quarantine=config.replay_quarantine,
        schema_evolution_mode=_mode(getattr(config, "schema_evolution_mode", None)),
        allow_overwrites=getattr(config, "allow_overwrites", False),
        max_files_per_trigger=getattr(config, "max_files_per_trigger", None),
        max_bytes_per_trigger=config.max_bytes_per_trigger,
        ignore_corrupt_files=getattr(config, "ignore_corrupt_files", None),
        ignore_missing_files=getattr(config, "ignore_missing_files", None),
        busy_timeout_s=config.busy_timeout_s,
    )


def _quarantine_key(defn: TableDefinition) -> dg.AssetKey:
    return dg.AssetKey([*defn.layer.split("/"), defn.quarantine_name])


def _update(context, runner: TableRunner, opts: RunOptions, checks: set[str], config):
    """Run the table's update and log it in the event log, whatever the outcome; a failed
    `*_or_fail` rule yields its failing check results before the step fails. Returns the run."""
    defn, settings = runner.defn, runner.settings
    try:
        run = runner.run(opts)
    except ExpectationFailed as err:
        event_log.record_table_update(context, defn, error=err, settings=settings)
        for res in err.results:
            if res.expectation.name in checks:
                yield _check_result(asset_key(defn.key), res, config.warn_failed_fraction)
        raise dg.Failure(description=str(err)) from err
    except (TableBusyError, MissingFileError, CorruptFileError) as err:
        event_log.record_table_update(context, defn, error=err, settings=settings)
        raise dg.Failure(description=f"{type(err).__name__}: {err}") from err
    except Exception as err:
        event_log.record_table_update(context, defn, error=err, settings=settings)
        raise
    event_log.record_table_update(context, defn, run, settings=settings)  # never raises
    return run


def _results(context, runner: TableRunner, run: TableRun, checks: set[str], warn: float):
    """The selected tables' materializations and the selected expectations' check results."""
    defn = runner.defn
    key, qkey = asset_key(defn.key), _quarantine_key(defn)
    selected = context.selected_asset_keys
    for warning in run.warnings:
        context.log.warning(warning)
    if key in selected:
        yield dg.MaterializeResult(asset_key=key, metadata=_table_metadata(runner.main, run))
    if defn.has_quarantine and qkey in selected:
        yield dg.MaterializeResult(asset_key=qkey, metadata=_quarantine_metadata(runner, run))
    elif defn.has_quarantine:
        context.log.info(f"{qkey.to_user_string()} was updated together with its table")
    results = {r.expectation.name: r for r in run.rule_results()}
    for exp in defn.expectations:
        if exp.name in checks:
            yield _check_result(key, results.get(exp.name, RuleResult(exp, 0, 0)), warn)


def _catalog_metadata(layer: str, name: str, schema: dict[str, str] | None) -> dict:
    """Definition-time catalog entries: the table's name and, when declared, its columns."""
    meta: dict = {"dagster/table_name": f"{layer}.{name}".replace("/", ".")}
    if schema:
        meta["dagster/column_schema"] = dg.TableSchema(
            columns=[dg.TableColumn(c, t) for c, t in schema.items()]
        )
    return meta


def _engine(name: str, pyspark: PySparkResource):
    """The engine ``name``; spark on the resource's session (started here, when first used)."""
    if name not in ("polars", "spark"):
        raise dg.Failure(description=f"engine {name!r} is not one of polars, spark")
    return get_engine(name, pyspark.spark_session if name == "spark" else None)


def _mode(value) -> str | None:
    return value.value if isinstance(value, SchemaMode) else value


def _check_result(key: dg.AssetKey, res: RuleResult, warn_fraction: float) -> dg.AssetCheckResult:
    exp = res.expectation
    if exp.action is Action.FAIL:
        passed, severity = res.failed_records == 0, dg.AssetCheckSeverity.ERROR
    elif exp.action is Action.WARN:
        passed, severity = res.failed_records == 0, dg.AssetCheckSeverity.WARN
    else:  # drop / quarantine: the action was applied; warn when too many rows fail
        passed, severity = res.failed_fraction <= warn_fraction, dg.AssetCheckSeverity.WARN
    return dg.AssetCheckResult(
        asset_key=key,
        check_name=exp.name,
        passed=passed,
        severity=severity,
        metadata={
            "action": exp.action.value,
            "predicate": exp.predicate,
            "passed_records": res.passed_records,
            "failed_records": res.failed_records,
            "failed_fraction": round(res.failed_fraction, 6),
            "failing_sample": dg.MetadataValue.json(
                json.loads(json.dumps(res.failing_sample, default=str))
            ),
        },
    )


def _schema(store: DeltaStore) -> dg.TableSchema:
    fields = store.table().schema().fields
    return dg.TableSchema(
        columns=[dg.TableColumn(f.name, str(f.type).replace("PrimitiveType", "")) for f in fields]
    )


def _table_metadata(store: DeltaStore, run: TableRun) -> dict:
    meta = {
        "dagster/uri": str(store.path),
        "dagster/row_count": store.table().count(),
        "dagster/column_schema": _schema(store),
        "delta_version": run.version,
        "batch_id": run.batch_id,
        "write_mode": run.mode,
        "nothing_new": run.nothing_new,
        "redone_after_crash": run.redo,
        "input_rows": run.input_rows,
        "written_rows": run.written_rows,
        "dropped_rows": run.dropped_rows,
        "quarantined_rows": run.quarantined_rows,
        "upstream_versions": dg.MetadataValue.json(run.upstream_versions),
        "micro_batches": run.micro_batches,
        "peak_rss_mib": peak_rss_mib(),
    }
    for name, value in run.counts.items():
        meta[name] = dg.MetadataValue.json(value) if isinstance(value, dict | list) else value
    return meta


def _quarantine_metadata(runner: TableRunner, run: TableRun) -> dict:
    store = runner.quarantine
    return {
        "dagster/uri": str(store.path),
        "dagster/row_count": store.table().count(),
        "dagster/column_schema": _schema(store),
        "delta_version": run.quarantine_version,
        "quarantined_rows": run.quarantined_rows,
    }
