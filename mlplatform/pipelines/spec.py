"""``spark-pipeline.yml`` specs (pyspark 4.3's format): one pipeline from Python and SQL files.

``name`` and ``storage`` are required; ``libraries`` are ``- glob: {include: ...}`` patterns
relative to the spec's folder; the tables live under the schema ``database`` (else ``name``);
``catalog`` is the one a three-part name may carry; ``configuration`` entries are Spark settings
of the pipeline's session. mlplatform keeps its ledgers under ``$MLPLATFORM_HOME``, so ``storage``
is checked but not used.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from mlplatform.dlt.analysis import DltDefinitionError
from mlplatform.dlt.columns import load_time_columns
from mlplatform.dlt.pipeline import Pipeline, spec_pipeline
from mlplatform.dlt.spark_proxy import spark as spark_proxy

SPEC_FILE_NAMES = ("spark-pipeline.yml", "spark-pipeline.yaml")


class PipelineSpecError(DltDefinitionError):
    """A spec file that cannot be loaded, with the reason."""


@dataclass(frozen=True)
class LoadedPipeline:
    spec_path: Path
    spec: object  # pyspark.pipelines.cli.PipelineSpec
    pipeline: Pipeline
    files: tuple[Path, ...]


def find_spec(folder: Path | None = None) -> Path:
    """The ``spark-pipeline.yml`` (or ``.yaml``) of ``folder`` (default: the current one)."""
    folder = Path(folder or Path.cwd())
    found = [folder / n for n in SPEC_FILE_NAMES if (folder / n).is_file()]
    if len(found) != 1:
        what = "no" if not found else "two"
        raise PipelineSpecError(
            f"{what} pipeline spec ({' or '.join(SPEC_FILE_NAMES)}) in {folder}; pass --spec FILE"
        )
    return found[0]


def read_spec(path: Path):
    """The spec, validated by pyspark's own loader (its errors reworded with the file)."""
    from pyspark.errors import PySparkException
    from pyspark.pipelines.cli import load_pipeline_spec

    path = Path(path)
    if not path.is_file():
        raise PipelineSpecError(f"pipeline spec {path} does not exist")
    try:
        return load_pipeline_spec(path)
    except (PySparkException, KeyError, TypeError, AttributeError) as err:
        raise PipelineSpecError(f"pipeline spec {path} is not valid: {err}") from err
    except Exception as err:  # yaml errors
        raise PipelineSpecError(f"pipeline spec {path} cannot be read: {err}") from err


@contextlib.contextmanager
def _cwd(path: Path):
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def load(path: Path) -> LoadedPipeline:
    """Load every library file of the spec into one pipeline."""
    from pyspark.pipelines.graph_element_registry import graph_element_registration_context

    from mlplatform.pipelines.graph_registry import MlplatformGraphRegistry
    from mlplatform.pipelines.sql_files import register

    path = Path(path).resolve()
    spec = read_spec(path)
    schema = spec.database or spec.name
    pipeline = Pipeline({"__name__": f"spec:{spec.name}"}, schema, spec.name, spec.catalog)
    pipeline.configuration = dict(spec.configuration)
    pipeline.deferred = True
    registry = MlplatformGraphRegistry(pipeline)
    root = path.parent
    files: list[Path] = []
    with (
        spec_pipeline(pipeline),
        load_time_columns(),
        graph_element_registration_context(registry),
        _cwd(root),
    ):
        for library in spec.libraries:
            matched = sorted(
                p
                for p in root.glob(library.include)
                if p.is_file() and "__pycache__" not in p.parts
            )
            if not matched:
                raise PipelineSpecError(f"{path.name}: {library.include!r} matches no file")
            for file in matched:
                if file.suffix == ".py":
                    _import(file)
                elif file.suffix == ".sql":
                    register(pipeline, file.read_text(), file)
                else:
                    raise PipelineSpecError(f"{file}: library files are .py or .sql")
                files.append(file)
    registry.finish()
    pipeline.deferred = False
    return LoadedPipeline(path, spec, pipeline, tuple(files))


def _import(file: Path) -> None:
    module_spec = importlib.util.spec_from_file_location(file.stem, str(file))
    module = importlib.util.module_from_spec(module_spec)
    module.__dict__["spark"] = spark_proxy
    module_spec.loader.exec_module(module)
