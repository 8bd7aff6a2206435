"""Names as Unity Catalog has them: ``catalog.schema.table``, one rule for the whole platform.

A name has one, two or three parts separated by dots; a part may be backquoted
(``cat.`my schema`.t``, a backquote inside one is doubled). Partial names resolve as Databricks
resolves them: a two-part name ``schema.table`` takes the default catalog, a one-part name the
default catalog and schema (a pipeline's ``catalog``/``schema``, else the target's).

The lakehouse location of a resolved name is ``<root>/<catalog>/<schema>/<table>``. A name with no
catalog (no default catalog set) or in the legacy ``hive_metastore`` catalog maps to
``<root>/<schema>/<table>``, so two-level tables keep their paths (``silver/cleaned_events``).
The same rule gives the table's key in the table layer (``catalog/schema/table`` or
``schema/table``) and its Dagster asset key (the key's parts).

Pure Python: the table layer, the pipelines, the feature store and the registry all import it.
"""

from __future__ import annotations

from dataclasses import dataclass

HIVE_METASTORE = "hive_metastore"
"""The legacy catalog: its tables live at ``<root>/<schema>/<table>``, as names without one."""

_FORBIDDEN = ("/", "\\")


class TableNameError(ValueError):
    """A name that is not a valid one-, two- or three-level name, or cannot be resolved."""


@dataclass(frozen=True)
class TableName:
    """A resolved name: ``catalog`` is None for a table outside any catalog (or in
    ``hive_metastore``)."""

    catalog: str | None
    schema: str
    name: str

    @property
    def parts(self) -> tuple[str, ...]:
        """The path segments under the lakehouse root (and the asset key's parts)."""
        return (self.schema, self.name) if self.catalog is None else self.parts3

    @property
    def parts3(self) -> tuple[str, str, str]:
        return (self.catalog or HIVE_METASTORE, self.schema, self.name)

    @property
    def key(self) -> str:
        """The table layer's key: ``catalog/schema/table`` or ``schema/table``."""
        return "/".join(self.parts)

    @property
    def full_name(self) -> str:
        """The name as SQL writes it, backquoting parts that need it."""
        return ".".join(quote(p) for p in self.parts3 if self.catalog or p != HIVE_METASTORE)

    def location(self, root):
        """The table's folder under ``root`` (a ``Path`` or anything with ``/``)."""
        out = root
        for part in self.parts:
            out = out / part
        return out

    def __str__(self) -> str:
        return self.full_name


def quote(part: str) -> str:
    """``part`` as an identifier: backquoted unless it is letters, digits and underscores."""
    if part and all(c.isalnum() or c == "_" for c in part) and part.isascii():
        return part
    return "`" + part.replace("`", "``") + "`"


def parse_name(text: str) -> tuple[str, ...]:
    """The parts of a one-, two- or three-level name; backquoted parts are unquoted.

    Raises:
        TableNameError: naming ``text``: more than three parts, an empty part, an unclosed
            backquote, a path separator or a ``.``/``..`` part.
    """
    if not isinstance(text, str):
        raise TableNameError(f"a table name must be a string, got {text!r}")
    parts: list[str] = []
    current: list[str] = []
    quoted = False  # the current part was backquoted
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "`":
            if current or quoted:
                raise TableNameError(f"table name {text!r}: a backquote inside a part")
            end = i + 1
            while True:
                end = text.find("`", end)
                if end < 0:
                    raise TableNameError(f"table name {text!r}: unclosed backquote")
                if text.startswith("``", end):
                    end += 2
                    continue
                break
            current.append(text[i + 1 : end].replace("``", "`"))
            quoted = True
            i = end + 1
            continue
        if ch == ".":
            parts.append(_part(text, "".join(current), quoted))
            current, quoted = [], False
        elif quoted:
            raise TableNameError(f"table name {text!r}: text after a backquoted part")
        elif ch.isspace():
            raise TableNameError(f"table name {text!r}: spaces need backquotes (`my table`)")
        else:
            current.append(ch)
        i += 1
    parts.append(_part(text, "".join(current), quoted))
    if len(parts) > 3:
        raise TableNameError(
            f"table name {text!r} has {len(parts)} parts; a name is table, schema.table or "
            "catalog.schema.table"
        )
    return tuple(parts)


def _part(text: str, part: str, quoted: bool) -> str:
    if not part:
        raise TableNameError(f"table name {text!r} has an empty part")
    if any(s in part for s in _FORBIDDEN) or part in (".", ".."):
        raise TableNameError(
            f"table name {text!r}: part {part!r} would leave its folder "
            "(no '/', '\\', '.' or '..' in a part)"
        )
    return part


def resolve_name(text: str, catalog: str | None = None, schema: str | None = None) -> TableName:
    """Resolve ``text`` against a default ``catalog`` and ``schema``, as Databricks does.

    Args:
        text: a one-, two- or three-level name.
        catalog: the default catalog (the pipeline's, else the target's); None when unset.
        schema: the default schema; needed only by one-part names.

    Raises:
        TableNameError: an invalid name, or a one-part name with no default schema.
    """
    parts = parse_name(text)
    if len(parts) == 1:
        if not schema:
            raise TableNameError(
                f"table name {text!r} has no schema and no default schema is set: "
                "write schema.table or catalog.schema.table"
            )
        parts = (catalog, schema, parts[0])
    elif len(parts) == 2:
        parts = (catalog, *parts)
    if catalog is not None:
        parse_name(quote(catalog))  # a default catalog is checked like a written one
    cat, sch, name = parts
    return TableName(None if cat in (None, HIVE_METASTORE) else cat, sch, name)


def table_key(text: str, catalog: str | None = None, schema: str | None = None) -> str:
    """The table layer's key of a name: ``catalog/schema/table`` or ``schema/table``."""
    return resolve_name(text, catalog, schema).key


def table_location(root, text: str, catalog: str | None = None, schema: str | None = None):
    """Where the name's Delta table lives under the lakehouse ``root``:
    ``<root>/<catalog>/<schema>/<table>``, or ``<root>/<schema>/<table>`` with no catalog."""
    return resolve_name(text, catalog, schema).location(root)
