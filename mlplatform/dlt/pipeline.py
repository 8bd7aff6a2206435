"""The datasets a DLT file declares, turned into mlplatform tables and one Definitions object.

Each file (module) that uses ``mlplatform.dlt`` gets its own pipeline. Its tables live under the
pipeline schema (the file's stem): asset key ``[<schema>, <name>]``, Delta path
``lakehouse/<schema>/<name>``. Declarations only register datasets; when the module finishes
loading, its globals get the pipeline's ``Definitions`` (``mlplatform_dlt_definitions``), built
once, so ``dagster asset materialize -f file.py`` and ``dagster dev -f file.py`` load the file as
it is; ``spark`` is provided as a lazy proxy.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from mlplatform.dlt import dataset_names, runtime
from mlplatform.dlt.analysis import DltDefinitionError, QueryAnalysis, analyze, strip_live
from mlplatform.dlt.module_end import call_when_loaded
from mlplatform.dlt.outputs import pipeline_definitions
from mlplatform.dlt.spark_proxy import spark as spark_proxy
from mlplatform.lakehouse.expectations import Expectation
from mlplatform.lakehouse.json_lines import SCHEMA_MODES
from mlplatform.lakehouse.table import FilesInput, TableDefinition, TableInput
from mlplatform.lakehouse.update.changes import ChangeSpec
from mlplatform.lakehouse.update.snapshot import SnapshotSpec
from mlplatform.settings.variables import DLT_SCHEMA, ENGINE

DEFS_NAME = "mlplatform_dlt_definitions"
_PIPELINES: dict[str, Pipeline] = {}
_ACTIVE: list[Pipeline] = []  # the pipeline of the spec whose files are loading


def dlt_engine() -> str:
    """DLT code is Spark code: the Spark engine unless MLPLATFORM_ENGINE=polars."""
    return "polars" if ENGINE.raw() == "polars" else "spark"


@dataclass
class Dataset:
    name: str
    kind: str  # table | materialized_view | view | streaming_table | sink
    func: Callable | None = None
    comment: str = ""
    properties: dict = field(default_factory=dict)
    expectations: list[Expectation] = field(default_factory=list)
    flows: list[Callable] = field(default_factory=list)
    changes: ChangeSpec | None = None
    snapshot: SnapshotSpec | None = None
    sink: str | None = None  # the lakehouse key ("schema/table") a Delta sink appends to


class Pipeline:
    """The datasets of one DLT file, or of all the files of one pipeline spec."""

    def __init__(
        self,
        module_globals: dict,
        schema: str | None = None,
        name: str | None = None,
        catalog: str | None = None,
    ):
        self.globals = module_globals
        file = module_globals.get("__file__")
        default = Path(file).stem if file else str(module_globals.get("__name__", "dlt"))
        self.schema = schema or DLT_SCHEMA.raw() or default
        self.name = name or self.schema
        self.catalog = catalog
        self.datasets: dict[str, Dataset] = {}
        self.hooks: list = []  # on_event_hook functions
        self.deferred = False  # a spec builds its Definitions once all its files loaded
        self.configuration: dict[str, str] = {}  # a spec's Spark settings
        self._build_scheduled = False

    def add(self, dataset: Dataset) -> Dataset:
        dataset.name = dataset_names.check_dataset_name(dataset.name, self.schema, self.catalog)
        existing = self.datasets.get(dataset.name)
        if existing is not None and existing.kind != "streaming_table":
            raise DltDefinitionError(f"dataset {dataset.name!r} is defined twice")
        if existing is not None:  # @dlt.table(name=...) on a table made by create_streaming_table
            existing.func = dataset.func or existing.func
            existing.expectations += dataset.expectations
            dataset = existing
        self.datasets[dataset.name] = dataset
        self.changed()
        return dataset

    def changed(self) -> None:
        """A declaration changed the pipeline. A file's Definitions are built once, when its
        module finishes loading (a spec's once all its files loaded); a declaration made after
        the module loaded rebuilds them at once."""
        self.globals.setdefault("spark", spark_proxy)
        if self.deferred or self._build_scheduled:
            return
        self._build_scheduled = call_when_loaded(self.globals, self._install)
        if not self._build_scheduled:
            self._install()

    def _install(self) -> None:
        self._build_scheduled = False
        self.globals[DEFS_NAME] = self.definitions()

    # ---- building ------------------------------------------------------------------------
    @property
    def layer(self) -> str:
        """The folder of the pipeline's tables under the root: ``catalog/schema`` or ``schema``."""
        return self.key("_").rsplit("/", 1)[0]

    def key(self, name: str) -> str:
        """Where the dataset ``name`` is published: ``catalog/schema/name`` when the pipeline
        has a catalog, else ``schema/name`` (the platform's name rule)."""
        return dataset_names.dataset_key(self.schema, self.catalog, name)

    def _inputs(self, funcs: list[Callable], name: str) -> tuple[QueryAnalysis, list, dict]:
        """The inputs of a dataset's flows (views expanded), and the names each is read by."""
        merged = QueryAnalysis()
        aliases: dict[str, set[str]] = {}  # input key -> the names the code reads it by
        todo = [(f, name) for f in funcs]
        seen_views: set[str] = set()
        while todo:
            func, owner = todo.pop()
            found = func.analysis() if hasattr(func, "analysis") else analyze(func, owner)
            if found.cloud_files:
                if merged.cloud_files and merged.cloud_files != found.cloud_files:
                    raise DltDefinitionError(f"dataset {name!r} reads two cloudFiles sources")
                merged.cloud_files = found.cloud_files
            for dep in found.reads + found.streams:
                kind, ref = dataset_names.resolve(dep, self.schema, self.catalog, self.datasets)
                ds = self.datasets.get(ref) if kind == "dataset" else None
                if kind == "dataset" and (ds is None or ds.kind == "sink"):
                    raise DltDefinitionError(
                        f"dataset {owner!r} reads {dep!r}, which this pipeline does not define "
                        "(a lakehouse table is read as '<schema>.<table>' or "
                        "'<catalog>.<schema>.<table>')"
                    )
                if ds is not None and ds.kind == "view":
                    if ref not in seen_views:
                        seen_views.add(ref)
                        todo.append((ds.func, ref))
                    continue
                key = self.key(ref) if kind == "dataset" else ref
                aliases.setdefault(key, set()).update({strip_live(dep), ref})
                target = merged.streams if dep in found.streams else merged.reads
                if key not in merged.streams + merged.reads:
                    target.append(key)
        inputs: list = []
        if merged.cloud_files:
            inputs.append(_files_input(merged.cloud_files, name))
        inputs += [TableInput(k, stream=True) for k in merged.streams]
        inputs += [TableInput(k, stream=False) for k in merged.reads]
        return merged, inputs, aliases

    def table_definition(self, ds: Dataset, full_reads: bool = False) -> TableDefinition:
        """The table layer's definition of a stored dataset (``full_reads``: a view computed
        whole within the update, as the change feed of an Auto CDC flow)."""
        funcs = ds.flows or ([ds.func] if ds.func else [])
        if not funcs:
            raise DltDefinitionError(
                f"streaming table {ds.name!r} has no query: add @dlt.append_flow(target=...) "
                "or dlt.apply_changes(target=...)"
            )
        found, inputs, aliases = self._inputs(funcs, ds.name)
        if full_reads:
            if found.cloud_files:
                raise DltDefinitionError(
                    f"view {ds.name!r} feeds an Auto CDC flow: it must read tables, not files"
                )
            inputs = [TableInput(i.key, stream=False) for i in inputs]
        params = [f"in{i}" for i in range(len(inputs))]
        views = {n: d.func for n, d in self.datasets.items() if d.kind == "view"}
        if ds.kind == "materialized_view" and (found.streams or found.cloud_files):
            raise DltDefinitionError(
                f"materialized view {ds.name!r} reads a stream; "
                "read it in full (spark.read.table) or declare a streaming table (dp.table)"
            )
        batch_input = found.reads or not inputs or not all(_streams(i) for i in inputs)
        if ds.kind == "sink" and batch_input:
            raise DltDefinitionError(
                f"sink {ds.name!r} takes streaming flows only (spark.readStream / "
                "dlt.read_stream of a streaming source)"
            )

        def run(*frames):
            reads, streams, files = {}, {}, None
            for param, inp, frame in zip(params, inputs, frames, strict=True):
                if isinstance(inp, FilesInput):
                    files = frame
                    continue
                for alias in aliases.get(inp.key, {inp.name}) | {param}:
                    (streams if inp.stream else reads)[alias] = frame
            lazy_views = {n: (lambda f=f: f()) for n, f in views.items()}
            with (
                runtime.update_context(reads, streams, files, lazy_views),
                runtime.configuration(self.configuration),
            ):
                results = [f() for f in funcs]
            return _union(results)

        run.__signature__ = _signature(params)  # one parameter per input, as the layer expects
        layer, table = (ds.sink or self.key(ds.name)).rsplit("/", 1)
        defn = TableDefinition(
            name=table,
            layer=layer,
            func=run,
            inputs=inputs,
            comment=ds.comment or (funcs[0].__doc__ or "").strip(),
            properties={str(k): str(v) for k, v in ds.properties.items()},
            group=self.schema,
        )
        defn.add_expectations(list(ds.expectations))
        return defn

    def definitions(self) -> dg.Definitions:
        return pipeline_definitions(self, dlt_engine())


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
        "cloudFiles.maxBytesPerTrigger",
        "ignoreCorruptFiles",
        "ignoreMissingFiles",
        "cloudFiles.inferColumnTypes",
        "cloudFiles.schemaLocation",
    }
    if unknown:
        raise DltDefinitionError(
            f"dataset {name!r}: cloudFiles options {sorted(unknown)} are not supported; "
            "supported: cloudFiles.format, schemaHints, schemaEvolutionMode, maxFilesPerTrigger, "
            "maxBytesPerTrigger, ignoreCorruptFiles, ignoreMissingFiles"
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
        max_bytes_per_trigger=opts.get("cloudFiles.maxBytesPerTrigger"),
        ignore_corrupt_files=str(opts.get("ignoreCorruptFiles", "false")).lower() == "true",
        ignore_missing_files=str(opts.get("ignoreMissingFiles", "false")).lower() == "true",
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


def _streams(inp) -> bool:
    return isinstance(inp, FilesInput) or inp.stream


@contextmanager
def spec_pipeline(pipeline: Pipeline):
    """Every module that declares datasets inside the block adds them to ``pipeline``."""
    _ACTIVE.append(pipeline)
    try:
        yield pipeline
    finally:
        _ACTIVE.pop()


def pipeline_for(module_globals: dict) -> Pipeline:
    if _ACTIVE:
        module_globals.setdefault("spark", spark_proxy)
        return _ACTIVE[-1]
    key = str(module_globals.get("__file__") or module_globals.get("__name__"))
    pipeline = _PIPELINES.get(key)
    if pipeline is None or pipeline.globals is not module_globals:
        pipeline = _PIPELINES[key] = Pipeline(module_globals)
    return pipeline
