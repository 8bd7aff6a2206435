"""Dataset names in pipeline code: a dataset of the pipeline, or a lakehouse table.

``name`` (or ``LIVE.name``) is a dataset of the pipeline. ``schema.name`` is the dataset ``name``
when ``schema`` is the pipeline's, else the lakehouse Delta table ``lakehouse/schema/name``;
``catalog.schema.name`` needs the pipeline's catalog (or none declared).
"""

from __future__ import annotations

from mlplatform.dlt.analysis import DltDefinitionError, strip_live

EVENT_LOG = "event_log"


def check_dataset_name(name: str, schema: str, catalog: str | None = None) -> str:
    """A name a pipeline may define: one part (or its own schema's two, or its catalog's three),
    never ``event_log``."""
    if not isinstance(name, str) or not name:
        raise DltDefinitionError(f"a dataset name must be a non-empty string, got {name!r}")
    parts = name.split(".")
    if len(parts) == 3 and (catalog is None or parts[0] == catalog):
        parts = parts[1:]
    if len(parts) == 2 and parts[0] == schema:
        name = parts[1]
    elif len(parts) != 1:
        raise DltDefinitionError(
            f"dataset {name!r}: a pipeline defines datasets of its own schema {schema!r}; "
            "name them without a schema"
        )
    if name == EVENT_LOG:
        raise DltDefinitionError(
            f"dataset name {EVENT_LOG!r} is reserved: the pipeline writes its event log there "
            f"(lakehouse/{schema}/{EVENT_LOG}); choose another name"
        )
    return name


def resolve(raw: str, schema: str, catalog: str | None, datasets: dict) -> tuple[str, str]:
    """``("dataset", name)`` or ``("table", "schema/table")`` for a name a query reads."""
    name = strip_live(raw)
    parts = name.split(".")
    if len(parts) == 3:
        if catalog is not None and parts[0] != catalog:
            raise DltDefinitionError(
                f"{raw!r}: catalog {parts[0]!r} is not the pipeline's catalog {catalog!r}"
            )
        parts = parts[1:]
    if len(parts) == 1:
        return "dataset", parts[0]
    if len(parts) == 2 and all(parts):
        if parts[0] == schema:
            return "dataset", parts[1]
        return "table", f"{parts[0]}/{parts[1]}"
    raise DltDefinitionError(f"{raw!r} is not a dataset or table name")
