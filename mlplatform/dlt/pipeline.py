"""The datasets a DLT file declares, turned into mlplatform tables and one Definitions object.

Each file (module) that uses ``mlplatform.dlt`` gets its own pipeline. Its tables live under the
pipeline schema (the file's stem): asset key ``[<schema>, <name>]``, Delta path
``lakehouse/<schema>/<name>``. After every declaration the module's globals get an up-to-date
``Definitions`` (``mlplatform_dlt_definitions``), so ``dagster asset materialize -f file.py`` and
``dagster dev -f file.py`` load the file as it is; ``spark`` is provided as a lazy proxy.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from mlplatform.dlt import runtime
from mlplatform.dlt.analysis import DltDefinitionError, QueryAnalysis, analyze
from mlplatform.dlt.cdc import ChangeSpec
from mlplatform.dlt.spark_proxy import spark as spark_proxy
from mlplatform.lakehouse.expectations import Expectation
from mlplatform.lakehouse.json_lines import SCHEMA_MODES
from mlplatform.lakehouse.table import FilesInput, TableDefinition, TableInput

DEFS_NAME = "mlplatform_dlt_definitions"
_PIPELINES: dict[str, Pipeline] = {}


def dlt_engine() -> str:
    """DLT code is Spark code: the Spark engine unless MLPLATFORM_ENGINE=polars."""
    return "polars" if os.environ.get("MLPLATFORM_ENGINE") == "polars" else "spark"


@dataclass
class Dataset:
    name: str
    kind: str  # table | view | streaming_table
    func: Callable | None = None
    comment: str = ""
    properties: dict = field(default_factory=dict)
    expectations: list[Expectation] = field(default_factory=list)
    flows: list[Callable] = field(default_factory=list)
    changes: ChangeSpec | None = None


class Pipeline:
    """The datasets of one DLT file."""

    def __init__(self, module_globals: dict):
        self.globals = module_globals
        file = module_globals.get("__file__")
        default = Path(file).stem if file else str(module_globals.get("__name__", "dlt"))
        self.schema = os.environ.get("MLPLATFORM_DLT_SCHEMA") or default
        self.datasets: dict[str, Dataset] = {}

    def add(self, dataset: Dataset) -> Dataset:
        existing = self.datasets.get(dataset.name)
        if existing is not None and existing.kind != "streaming_table":
            raise DltDefinitionError(f"dataset {dataset.name!r} is defined twice")
        if existing is not None:  # @dlt.table(name=...) on a table made by create_streaming_table
            existing.func = dataset.func or existing.func
            existing.expectations += dataset.expectations
            dataset = existing
        self.datasets[dataset.name] = dataset
        self.install()
        return dataset

    def install(self) -> None:
        self.globals.setdefault("spark", spark_proxy)
        self.globals[DEFS_NAME] = self.definitions()

    # ---- building ------------------------------------------------------------------------
    def key(self, name: str) -> str:
        return f"{self.schema}/{name}"

    def _inputs(self, funcs: list[Callable], name: str) -> tuple[QueryAnalysis, list]:
        merged = QueryAnalysis()
        todo = [(f, name) for f in funcs]
        seen_views: set[str] = set()
        while todo:
            func, owner = todo.pop()
            found = analyze(func, owner)
            if found.cloud_files:
                if merged.cloud_files and merged.cloud_files != found.cloud_files:
                    raise DltDefinitionError(f"dataset {name!r} reads two cloudFiles sources")
                merged.cloud_files = found.cloud_files
            for dep in found.reads + found.streams:
                ds = self.datasets.get(dep)
                if ds is None:
                    raise DltDefinitionError(
                        f"dataset {owner!r} reads {dep!r}, which this pipeline does not define"
                    )
                if ds.kind == "view":
                    if dep not in seen_views:
                        seen_views.add(dep)
                        todo.append((ds.func, dep))
                    continue
                target = merged.streams if dep in found.streams else merged.reads
                if dep not in merged.streams + merged.reads:
                    target.append(dep)
        inputs: list = []
        if merged.cloud_files:
            inputs.append(_files_input(merged.cloud_files, name))
        inputs += [TableInput(self.key(d), stream=True) for d in merged.streams]
        inputs += [TableInput(self.key(d), stream=False) for d in merged.reads]
        return merged, inputs

    def table_definition(self, ds: Dataset) -> TableDefinition:
        funcs = ds.flows or ([ds.func] if ds.func else [])
        if not funcs:
            raise DltDefinitionError(
                f"streaming table {ds.name!r} has no query: add @dlt.append_flow(target=...) "
                "or dlt.apply_changes(target=...)"
            )
        found, inputs = self._inputs(funcs, ds.name)
        names = [f"in{i}" for i in range(len(inputs))]
        views = {n: d.func for n, d in self.datasets.items() if d.kind == "view"}

        def run(*frames):
            reads, streams, files = {}, {}, None
            for inp, frame in zip(inputs, frames, strict=True):
                if isinstance(inp, FilesInput):
                    files = frame
                else:
                    (streams if inp.stream else reads)[inp.name] = frame
            lazy_views = {n: (lambda f=f: f()) for n, f in views.items()}
            with runtime.update_context(reads, streams, files, lazy_views):
                results = [f() for f in funcs]
            return _union(results)

        run.__signature__ = _signature(names)  # one parameter per input, as the layer expects
        defn = TableDefinition(
            name=ds.name,
            layer=self.schema,
            func=run,
            inputs=inputs,
            comment=ds.comment or (funcs[0].__doc__ or "").strip(),
            properties={str(k): str(v) for k, v in ds.properties.items()},
            group=self.schema,
        )
        defn.add_expectations(list(ds.expectations))
        return defn

    def definitions(self) -> dg.Definitions:
        from dagster_pyspark import PySparkResource

        from mlplatform.dlt.cdc_asset import build_change_asset
        from mlplatform.lakehouse.assets import build_table_asset
        from mlplatform.lakehouse.engines.spark_session import spark_config

        engine = dlt_engine()
        assets = []
        for ds in self.datasets.values():
            if ds.kind == "view":
                continue
            if ds.changes is not None:
                assets.append(build_change_asset(ds.changes, self.schema, ds.comment))
                continue
            if ds.kind == "streaming_table" and not ds.flows and ds.func is None:
                continue  # declared, waiting for its flow (apply_changes or append_flow)
            assets.append(build_table_asset(self.table_definition(ds), engine))
        from mlplatform.monitoring.table_quality_defs import build_table_quality, delta_tables

        tables = delta_tables(assets)  # freshness and completeness of every table
        quality = [build_table_quality(tables, own_table=False)[0]] if tables else []
        return dg.Definitions(
            assets=assets,
            asset_checks=quality,
            resources={"pyspark": PySparkResource(spark_config=spark_config())},
            executor=dg.in_process_executor,
        )


def _files_input(cloud: dict, name: str) -> FilesInput:
    opts = cloud["options"]
    fmt = opts.get("cloudFiles.format")
    if fmt != "json":
        raise DltDefinitionError(
            f"dataset {name!r}: cloudFiles.format {fmt!r} is not supported; mlplatform ingests "
            "newline-delimited JSON (cloudFiles.format json)"
        )
    hints = opts.get("cloudFiles.schemaHints", "")
    fields = tuple(h.strip().split()[0].strip("`") for h in hints.split(",") if h.strip())
    mode = opts.get("cloudFiles.schemaEvolutionMode") or ("rescue" if fields else "addNewColumns")
    if mode not in SCHEMA_MODES:
        raise DltDefinitionError(
            f"dataset {name!r}: cloudFiles.schemaEvolutionMode {mode!r} is not one of "
            f"{', '.join(SCHEMA_MODES)}"
        )
    unknown = set(opts) - {
        "cloudFiles.format",
        "cloudFiles.schemaHints",
        "cloudFiles.schemaEvolutionMode",
        "cloudFiles.maxFilesPerTrigger",
        "cloudFiles.inferColumnTypes",
        "cloudFiles.schemaLocation",
    }
    if unknown:
        raise DltDefinitionError(
            f"dataset {name!r}: cloudFiles options {sorted(unknown)} are not supported; "
            "supported: cloudFiles.format, schemaHints, schemaEvolutionMode, maxFilesPerTrigger"
        )
    if opts.get("cloudFiles.inferColumnTypes", "false").lower() == "true":
        raise DltDefinitionError(
            f"dataset {name!r}: cloudFiles.inferColumnTypes is not supported: bronze keeps "
            "source fields as text; cast them in the next table"
        )
    max_files = opts.get("cloudFiles.maxFilesPerTrigger")
    return FilesInput(
        folder=str(cloud["path"]),
        fields=fields,
        schema_evolution_mode=mode,
        max_files_per_trigger=int(max_files) if max_files else None,
        relative_to="home",
    )


def _union(results: list):
    if len(results) == 1:
        return results[0]
    first = results[0]
    if hasattr(first, "unionByName"):
        out = first
        for frame in results[1:]:
            out = out.unionByName(frame, allowMissingColumns=True)
        return out
    import polars as pl

    return pl.concat([r.lazy() for r in results], how="diagonal_relaxed")


def _signature(names: list[str]):
    import inspect

    return inspect.Signature(
        [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in names]
    )


def pipeline_for(module_globals: dict) -> Pipeline:
    key = str(module_globals.get("__file__") or module_globals.get("__name__"))
    pipeline = _PIPELINES.get(key)
    if pipeline is None or pipeline.globals is not module_globals:
        pipeline = _PIPELINES[key] = Pipeline(module_globals)
    return pipeline
