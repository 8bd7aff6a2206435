"""Dataset names in pipeline code: a dataset of the pipeline, or a lakehouse table.

Names follow the platform's one rule (``mlplatform.lakehouse.names``): a name resolves against
the pipeline's catalog and schema as Databricks resolves it. ``name`` (or ``LIVE.name``) is a
dataset of the pipeline; ``schema.name`` and ``catalog.schema.name`` are the dataset ``name``
when they resolve to the pipeline's own catalog and schema, else the lakehouse Delta table at
``<root>/<catalog>/<schema>/<name>`` (``<root>/<schema>/<name>`` with no catalog), read as an
external input (``samples.nyctaxi.trips`` -> ``samples/nyctaxi/trips``).
"""

from __future__ import annotations

from mlplatform.dlt.analysis import DltDefinitionError, strip_live
from mlplatform.lakehouse.names import HIVE_METASTORE, TableName, TableNameError, resolve_name

EVENT_LOG = "event_log"


def _home(schema: str, catalog: str | None) -> tuple[str | None, str]:
    """The catalog and schema the pipeline publishes to (``hive_metastore`` is no catalog)."""
    return (None if catalog in (None, HIVE_METASTORE) else catalog), schema


def dataset_key(schema: str, catalog: str | None, name: str) -> str:
    """Where a pipeline publishes its dataset ``name``: ``catalog/schema/name`` when the pipeline
    has a catalog (other than ``hive_metastore``), else ``schema/name``."""
    return TableName(_home(schema, catalog)[0], schema, name).key


def _resolve(raw: str, schema: str, catalog: str | None) -> TableName:
    try:
        return resolve_name(strip_live(raw), catalog, schema)
    except TableNameError as err:
        raise DltDefinitionError(str(err)) from err


def check_dataset_name(name: str, schema: str, catalog: str | None = None) -> str:
    """A name a pipeline may define: one part, or two or three that resolve to the pipeline's
    own schema and catalog; never ``event_log``."""
    if not isinstance(name, str) or not name:
        raise DltDefinitionError(f"a dataset name must be a non-empty string, got {name!r}")
    found = _resolve(name, schema, catalog)
    home = _home(schema, catalog)
    if (found.catalog, found.schema) != home:
        where = ".".join(p for p in home if p)
        raise DltDefinitionError(
            f"dataset {name!r}: a pipeline publishes its datasets to its own "
            f"{'catalog and schema' if home[0] else 'schema'} {where!r}; name them "
            "without a schema, or set the pipeline's catalog/schema"
        )
    if found.name == EVENT_LOG:
        raise DltDefinitionError(
            f"dataset name {EVENT_LOG!r} is reserved: the pipeline writes its event log there "
            f"(lakehouse/{found.key}); choose another name"
        )
    return found.name


def resolve(raw: str, schema: str, catalog: str | None, datasets: dict) -> tuple[str, str]:
    """``("dataset", name)`` for a dataset of the pipeline, or ``("table", key)`` for a
    lakehouse table (``key`` is ``catalog/schema/table`` or ``schema/table``)."""
    found = _resolve(raw, schema, catalog)
    if (found.catalog, found.schema) == _home(schema, catalog):
        return "dataset", found.name
    return "table", found.key
