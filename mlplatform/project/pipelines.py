"""A project's `resources.pipelines.<key>` loaded as an mlplatform declarative pipeline.

The pipeline's `libraries` (globs, files, notebooks) are Python and SQL files of DLT / Lakeflow
code; they load into one `mlplatform.dlt` pipeline whose tables live under the pipeline's `schema`
(else its key) and `catalog`. Its `configuration` reaches the code: `spark.conf.get(key)` answers
it while the files load and while a query runs, and `${key}` in SQL files is replaced by it, as
Databricks' pipelines do.
"""

from __future__ import annotations

import contextlib
import glob
import importlib.util
import os
import re
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from mlplatform.dlt import runtime
from mlplatform.dlt.analysis import DltDefinitionError
from mlplatform.dlt.columns import load_time_columns
from mlplatform.dlt.pipeline import Pipeline as DltPipeline
from mlplatform.dlt.pipeline import spec_pipeline
from mlplatform.dlt.spark_proxy import spark as spark_proxy
from mlplatform.project.model import Library, Pipeline, Project

NOTEBOOK_SUFFIXES = (".py", ".sql")
_SQL_REFERENCE = re.compile(r"\$\{([A-Za-z0-9_.\-]+)\}")


class ProjectPipelineError(DltDefinitionError):
    """A pipeline of a project that cannot be loaded; the message names the file, line and key."""


@dataclass
class LoadedProjectPipeline:
    """A project pipeline loaded for Dagster: the mlplatform pipeline, its files, and the file
    (and line) that declares each dataset."""

    resource: Pipeline
    pipeline: DltPipeline
    files: tuple[Path, ...]
    declared_in: dict[str, tuple[Path, int]] = field(default_factory=dict)


def where(resource: Pipeline, key: str = "") -> str:
    """`file:line: resources.pipelines.<key>[.key]` of a pipeline (or of one of its keys)."""
    path = f"resources.pipelines.{resource.key}{'.' + key if key else ''}"
    pos = resource.position
    return f"{pos.file}:{pos.line}: {path}" if pos else path


def schema_of(resource: Pipeline) -> str:
    """Where the pipeline publishes its datasets: its `schema`, else its key."""
    return resource.schema or resource.key


def library_files(project: Project, resource: Pipeline) -> list[tuple[int, Path]]:
    """The files of each library entry (its index in `libraries`), in order."""
    if not resource.libraries:
        raise ProjectPipelineError(f"{where(resource, 'libraries')}: the pipeline has no library")
    files: list[tuple[int, Path]] = []
    for index, library in enumerate(resource.libraries):
        files += [(index, f) for f in _files(project.root, resource, index, library)]
    return files


def _files(root: Path, resource: Pipeline, index: int, library: Library) -> list[Path]:
    at = where(resource, f"libraries[{index}]")
    if library.glob is not None:
        pattern = library.glob if os.path.isabs(library.glob) else str(root / library.glob)
        found = sorted(
            Path(p)
            for p in glob.glob(pattern, recursive=True)
            if Path(p).is_file() and "__pycache__" not in Path(p).parts
        )
        found = [p for p in found if p.suffix in NOTEBOOK_SUFFIXES]
        if not found:
            raise ProjectPipelineError(f"{at}: glob {library.glob!r} matches no .py or .sql file")
        return found
    if library.file is not None:
        path = library.file if library.file.is_absolute() else root / library.file
        if not path.is_file():
            raise ProjectPipelineError(f"{at}: file {library.file} does not exist")
        if path.suffix not in NOTEBOOK_SUFFIXES:
            raise ProjectPipelineError(f"{at}: file {library.file}: library files are .py or .sql")
        return [path]
    if library.notebook is not None:
        path = library.notebook if library.notebook.is_absolute() else root / library.notebook
        candidates = [path] + [path.with_name(path.name + s) for s in NOTEBOOK_SUFFIXES]
        found = [p for p in candidates if p.is_file() and p.suffix in NOTEBOOK_SUFFIXES]
        if path.suffix == ".ipynb":
            raise ProjectPipelineError(
                f"{at}: notebook {library.notebook}: .ipynb notebooks are not supported in "
                "pipelines; export it as a source notebook (.py or .sql)"
            )
        if not found:
            raise ProjectPipelineError(
                f"{at}: notebook {library.notebook} does not exist (looked for it as written and "
                "with .py and .sql)"
            )
        return found[:1]
    raise ProjectPipelineError(f"{at}: a library is one of glob, file or notebook")


def load_pipeline(
    project: Project, resource: Pipeline, configuration: dict[str, str] | None = None
) -> LoadedProjectPipeline:
    """Load the pipeline's files into one mlplatform pipeline.

    Args:
        project: The project the pipeline belongs to (its root resolves relative paths).
        resource: The pipeline.
        configuration: Values over the pipeline's `configuration` (`bundle run --params`).

    Raises:
        ProjectPipelineError: naming the file, line and key of what is wrong.
    """
    from pyspark.pipelines.graph_element_registry import graph_element_registration_context

    from mlplatform.pipelines.graph_registry import MlplatformGraphRegistry
    from mlplatform.pipelines.sql_files import register

    config = {str(k): str(v) for k, v in resource.configuration.items()}
    config |= {str(k): str(v) for k, v in (configuration or {}).items()}
    files = library_files(project, resource)
    pipeline = DltPipeline(
        {"__name__": f"project:{project.name}:{resource.key}"},
        schema_of(resource),
        resource.key,
        resource.catalog,
    )
    pipeline.configuration = config
    pipeline.deferred = True
    registry = MlplatformGraphRegistry(pipeline)
    declared: dict[str, tuple[Path, int]] = {}
    with (
        spec_pipeline(pipeline),
        load_time_columns(),
        graph_element_registration_context(registry),
        runtime.configuration(config),
        _dlt_module(),
        _cwd(project.root),
    ):
        for index, path in files:
            before = set(pipeline.datasets)
            try:
                if path.suffix == ".py":
                    _import(path)
                else:
                    register(pipeline, _substitute(path, config), path)
            except ProjectPipelineError:
                raise
            except Exception as err:  # noqa: BLE001 (user code: any error, named with its file)
                raise ProjectPipelineError(
                    f"{where(resource, f'libraries[{index}]')}: {path}:{_error_line(err, path)}: "
                    f"{type(err).__name__}: {err}"
                ) from err
            for name in set(pipeline.datasets) - before:
                declared[name] = (path, _line(pipeline.datasets[name], path))
    try:
        registry.finish()
    except DltDefinitionError as err:
        raise ProjectPipelineError(f"{where(resource)}: {err}") from err
    pipeline.deferred = False
    return LoadedProjectPipeline(resource, pipeline, tuple(p for _, p in files), declared)


def _error_line(err: BaseException, path: Path) -> int:
    """The line of `path` where `err` was raised (its last frame in that file), else 1."""
    line = 1
    for frame, lineno in traceback.walk_tb(err.__traceback__):
        if Path(frame.f_code.co_filename) == path:
            line = lineno
    return line


def _substitute(path: Path, config: dict[str, str]) -> str:
    text = path.read_text()

    def value(match: re.Match) -> str:
        return config.get(match.group(1), match.group(0))

    return _SQL_REFERENCE.sub(value, text)


def _line(dataset, path: Path) -> int:
    func = dataset.func or (dataset.flows[0] if dataset.flows else None)
    code = getattr(func, "__code__", None)
    if code is not None and Path(code.co_filename) == path:
        return code.co_firstlineno
    text = path.read_text()
    at = text.find(dataset.name)
    return text.count("\n", 0, at) + 1 if at >= 0 else 1


@contextlib.contextmanager
def _dlt_module():
    """`import dlt` (Databricks' module name) gives `mlplatform.dlt` while the files load, unless
    a `dlt` package is installed."""
    import sys

    if "dlt" in sys.modules or importlib.util.find_spec("dlt") is not None:
        yield
        return
    import mlplatform.dlt

    sys.modules["dlt"] = mlplatform.dlt
    try:
        yield
    finally:
        sys.modules.pop("dlt", None)


@contextlib.contextmanager
def _cwd(path: Path):
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def _import(file: Path) -> None:
    module_spec = importlib.util.spec_from_file_location(file.stem, str(file))
    module = importlib.util.module_from_spec(module_spec)
    module.__dict__["spark"] = spark_proxy
    module_spec.loader.exec_module(module)
