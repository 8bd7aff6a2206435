"""The declarative table layer: a table is a decorated function returning a frame, as in DLT.

    @table(layer="silver", comment="...", properties={"quality": "silver"},
           inputs=[read_stream("bronze/raw_orders")], columns=[...])
    @expect_or_quarantine("valid_amount", "amount > 0")
    def cleaned_orders(raw_orders):
        return raw_orders.with_columns(...)

Inputs: ``files(...)`` (incremental ingestion of landing files, the Auto Loader equivalent),
``read_stream(key)`` (only upstream rows not yet processed) and ``read(key)`` (the full upstream
table). A table with a files or stream input is a streaming table (appends batches, ledgered); one
with only full reads is a live table, recomputed on every run.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mlplatform.lakehouse.expectations import (
    Action,
    Expectation,
    ExpectationError,
    check_unique,
    expectations_from_dict,
)
from mlplatform.lakehouse.json_lines import SCHEMA_MODES

_EXPECTATIONS_ATTR = "__mlplatform_expectations__"
INGESTION_COLUMNS = {
    "_rescued_data": "string",
    "_source_file": "string",
    "_ingested_at": "timestamp",
}
QUARANTINE_COLUMNS = {"_failed_expectations": "array<string>", "_quarantined_at": "timestamp"}


class TableDefinitionError(ValueError):
    """A table is declared wrongly (names, inputs, parameters)."""


@dataclass(frozen=True)
class FilesInput:
    """Incremental ingestion of JSON-lines files under ``$MLPLATFORM_HOME/landing/<folder>``."""

    folder: str
    fields: tuple[str, ...]  # empty: inferred from the first files, in order of appearance
    format: str = "json"
    pattern: str = "*.json"
    schema_evolution_mode: str = "rescue"
    max_files_per_trigger: int | None = None
    max_bytes_per_trigger: int | str | None = None  # bytes or a Spark-style size ("512m")
    ignore_corrupt_files: bool = False
    ignore_missing_files: bool = False
    relative_to: str = "landing"  # "landing" or "home" ($MLPLATFORM_HOME) for relative folders

    def location(self, settings) -> Path:
        """The folder the files arrive in."""
        folder = Path(self.folder)
        if folder.is_absolute():
            return folder
        return (settings.landing if self.relative_to == "landing" else settings.home) / folder

    def __post_init__(self) -> None:
        if self.format != "json":
            raise TableDefinitionError(f"files(format={self.format!r}): only 'json' is supported")
        if self.schema_evolution_mode not in SCHEMA_MODES:
            raise TableDefinitionError(
                f"schema evolution mode {self.schema_evolution_mode!r} is not one of "
                f"{', '.join(SCHEMA_MODES)}"
            )


@dataclass(frozen=True)
class TableInput:
    """An upstream table, read incrementally (``stream``) or in full."""

    key: str
    stream: bool

    @property
    def layer(self) -> str:
        """``schema``, or ``catalog/schema`` for a table in a catalog."""
        return self.key.rsplit("/", 1)[0]

    @property
    def name(self) -> str:
        return self.key.rsplit("/", 1)[1]


def files(
    folder: str,
    fields: list[str],
    *,
    pattern: str = "*.json",
    schema_evolution_mode: str = "rescue",
) -> FilesInput:
    """Ingest new JSON-lines files from ``landing/<folder>`` (each file exactly once)."""
    return FilesInput(
        folder, tuple(fields), pattern=pattern, schema_evolution_mode=schema_evolution_mode
    )


def read_stream(key: str) -> TableInput:
    """Read only the rows of table ``layer/name`` that this table has not yet processed."""
    _check_key(key)
    return TableInput(key, stream=True)


def read(key: str) -> TableInput:
    """Read the whole current snapshot of table ``layer/name``."""
    _check_key(key)
    return TableInput(key, stream=False)


def _check_key(key: str) -> None:
    parts = key.split("/") if isinstance(key, str) else []
    if len(parts) not in (2, 3) or not all(parts):
        raise TableDefinitionError(
            f"table key {key!r} must look like 'layer/table' (or 'catalog/schema/table')"
        )


@dataclass
class TableDefinition:
    """Everything the layer needs to build the asset, its checks and its Delta storage."""

    name: str
    layer: str
    func: Callable
    inputs: list[FilesInput | TableInput]
    comment: str = ""
    properties: dict[str, str] = field(default_factory=dict)
    expectations: list[Expectation] = field(default_factory=list)
    columns: list[str] | None = None
    group: str | None = None
    schema: dict[str, str] | None = None  # column -> Delta type, shown before the first run

    @property
    def key(self) -> str:
        return f"{self.layer}/{self.name}"

    @property
    def param_names(self) -> list[str]:
        """The function's parameter names: the view names of its inputs in SQL bodies."""
        return list(inspect.signature(self.func).parameters)

    @property
    def quarantine_name(self) -> str:
        return f"{self.name}_quarantine"

    @property
    def has_quarantine(self) -> bool:
        return any(e.action is Action.QUARANTINE for e in self.expectations)

    @property
    def streaming(self) -> bool:
        return any(isinstance(i, FilesInput) or i.stream for i in self.inputs)

    @property
    def upstream(self) -> list[TableInput]:
        return [i for i in self.inputs if isinstance(i, TableInput)]

    @property
    def files_input(self) -> FilesInput | None:
        return next((i for i in self.inputs if isinstance(i, FilesInput)), None)

    def column_schema(self) -> dict[str, str] | None:
        """The table's columns and Delta types as declared (a files input declares its own:
        the fields as text and the ingestion columns)."""
        if self.schema:
            return self.schema
        fin = self.files_input
        if fin is not None and fin.fields and fin.schema_evolution_mode != "addNewColumns":
            return {f: "string" for f in fin.fields} | INGESTION_COLUMNS
        return None

    def add_expectations(self, new: list[Expectation]) -> None:
        self.expectations = [*new, *self.expectations]
        check_unique(self.expectations, self.key)


def table(
    *,
    layer: str,
    name: str | None = None,
    comment: str | None = None,
    properties: dict[str, str] | None = None,
    inputs: list[FilesInput | TableInput] | None = None,
    columns: list[str] | None = None,
    group: str | None = None,
    schema: dict[str, str] | None = None,
) -> Callable[[Callable], TableDefinition]:
    """Declare a table. The function takes one parameter per input, in order; returns a frame."""

    def decorate(func: Callable) -> TableDefinition:
        ins = list(inputs or [])
        params = list(inspect.signature(func).parameters)
        if len(params) != len(ins):
            raise TableDefinitionError(
                f"table {layer}/{name or func.__name__}: function {func.__name__} takes "
                f"{len(params)} parameters but {len(ins)} inputs are declared"
            )
        if sum(isinstance(i, FilesInput) for i in ins) > 1:
            raise TableDefinitionError("a table ingests from at most one files() input")
        defn = TableDefinition(
            name=name or func.__name__,
            layer=layer,
            func=func,
            inputs=ins,
            comment=comment or inspect.getdoc(func) or "",
            properties=dict(properties or {}),
            columns=columns,
            group=group or layer,
            schema=dict(schema) if schema else None,
        )
        defn.add_expectations(getattr(func, _EXPECTATIONS_ATTR, []))
        return defn

    return decorate


def _expectation_decorator(new: list[Expectation]) -> Callable:
    def decorate(target):
        if isinstance(target, TableDefinition):
            target.add_expectations(new)
            return target
        existing = getattr(target, _EXPECTATIONS_ATTR, [])
        combined = [*new, *existing]
        check_unique(combined, getattr(target, "__name__", "table"))
        setattr(target, _EXPECTATIONS_ATTR, combined)
        return target

    return decorate


def expect(name: str, predicate: str) -> Callable:
    """Warn: keep rows that fail ``predicate`` and record them."""
    return _expectation_decorator([Expectation(name, predicate, Action.WARN)])


def expect_or_drop(name: str, predicate: str) -> Callable:
    """Drop rows that fail ``predicate`` (the update succeeds)."""
    return _expectation_decorator([Expectation(name, predicate, Action.DROP)])


def expect_or_fail(name: str, predicate: str) -> Callable:
    """Fail the update, committing nothing, if any row fails ``predicate``."""
    return _expectation_decorator([Expectation(name, predicate, Action.FAIL)])


def expect_or_quarantine(name: str, predicate: str) -> Callable:
    """Move rows that fail ``predicate`` to ``<table>_quarantine`` with the rules they broke."""
    return _expectation_decorator([Expectation(name, predicate, Action.QUARANTINE)])


def expect_all(rules: dict[str, str]) -> Callable:
    """Warn-only form for several rules."""
    return _expectation_decorator(expectations_from_dict(rules, Action.WARN))


def expect_all_or_drop(rules: dict[str, str]) -> Callable:
    """Drop a row failing any of the rules."""
    return _expectation_decorator(expectations_from_dict(rules, Action.DROP))


def expect_all_or_fail(rules: dict[str, str]) -> Callable:
    """Fail the update if any row fails any of the rules."""
    return _expectation_decorator(expectations_from_dict(rules, Action.FAIL))


def expect_all_or_quarantine(rules: dict[str, str]) -> Callable:
    """Quarantine a row failing any of the rules."""
    return _expectation_decorator(expectations_from_dict(rules, Action.QUARANTINE))


__all__ = [
    "ExpectationError",
    "TableDefinition",
    "TableDefinitionError",
    "expect",
    "expect_all",
    "expect_all_or_drop",
    "expect_all_or_fail",
    "expect_all_or_quarantine",
    "expect_or_drop",
    "expect_or_fail",
    "expect_or_quarantine",
    "files",
    "read",
    "read_stream",
    "table",
]
