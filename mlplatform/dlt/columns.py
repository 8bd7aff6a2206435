"""Column expressions in declarative pipeline code: built when a module loads, read as SQL.

Databricks' examples build columns when the pipeline file loads (``sequence_by=col("ts")``,
``apply_as_deletes=expr("op = 'DELETE'")``). In pyspark's classic mode ``col()`` needs a running
SparkContext (it raises AssertionError without one), and mlplatform starts no JVM to load a file.
So, while no SparkContext is running, pyspark's functions build Spark Connect expressions
(``pyspark.sql.connect``: plain Python objects, no session needed); once a session runs, they
are classic columns again. mlplatform reads either kind as SQL text where its API takes a
condition or a column name.
"""

from __future__ import annotations

import contextlib
import functools
import re

from mlplatform.dlt.analysis import DltDefinitionError

_BINARY = {
    "==": "=",
    "<=>": "<=>",
    "!=": "!=",
    "<": "<",
    "<=": "<=",
    ">": ">",
    ">=": ">=",
    "+": "+",
    "-": "-",
    "*": "*",
    "/": "/",
    "%": "%",
    "and": "AND",
    "or": "OR",
}
_FUNCTION_FORM = re.compile(r"^(and|or|not|[=<>!+\-*/%]+)\(")
_FORCED = [0]  # > 0 while a spec's files load: Connect columns even if a session runs
_POSTFIX = {"isnull": "IS NULL", "isnotnull": "IS NOT NULL"}  # lower-cased names


def install_load_time_columns() -> None:
    """Let ``pyspark.sql.functions`` build Spark Connect columns while no SparkContext runs.

    pyspark's own dispatch (``try_remote_functions``) already chooses the Connect functions when
    ``is_remote()`` is true; this widens that test to "no classic context is running". A running
    classic session keeps classic columns, and a Connect session is remote anyway.
    """
    import pyspark.sql  # noqa: F401 (bind every module that imported is_remote before the change)
    from pyspark import SparkContext
    from pyspark.sql import utils

    if getattr(utils.is_remote, "_mlplatform", False):
        return
    original = utils.is_remote

    @functools.wraps(original)
    def is_remote() -> bool:
        return original() or _FORCED[0] > 0 or SparkContext._active_spark_context is None

    is_remote._mlplatform = True
    utils.is_remote = is_remote


@contextlib.contextmanager
def load_time_columns():
    """Build Spark Connect columns inside the block, even while a classic session runs."""
    install_load_time_columns()
    _FORCED[0] += 1
    try:
        yield
    finally:
        _FORCED[0] -= 1


def is_column(value) -> bool:
    """Whether ``value`` is a pyspark Column (classic or Connect)."""
    return type(value).__name__ == "Column" and type(value).__module__.startswith("pyspark")


def to_sql(value, where: str) -> str:
    """A condition or expression as SQL text: a string as it is, a Column unparsed."""
    if isinstance(value, str):
        return value
    if is_column(value):
        if _is_connect(value):  # an expression tree
            return _unparse(value._expr, where)
        return _classic_sql(value)
    raise DltDefinitionError(
        f"{where}: pass the condition as a SQL string or a pyspark Column, got "
        f"{type(value).__name__}"
    )


def to_name(value, where: str) -> str:
    """A column name: a string, or a Column that names one column (``col("id")``)."""
    if isinstance(value, str):
        return value
    if is_column(value):
        if _is_connect(value):
            name = getattr(value._expr, "_unparsed_identifier", None)
        else:
            name = _classic_sql(value).strip("`")
        if name and "(" not in name and " " not in name:
            return name.split(".")[-1] if "." in name else name
    raise DltDefinitionError(f"{where}: {value!r} is not a column name")


def to_names(values, where: str) -> list[str] | None:
    if values is None:
        return None
    if isinstance(values, str):
        values = [values]
    return [to_name(v, where) for v in values]


def _is_connect(column) -> bool:
    return type(column).__module__.startswith("pyspark.sql.connect")


def _classic_sql(column) -> str:
    text = str(column)  # Spark 4: Column<'<the column node's text>'>
    text = text[len("Column<'") : -len("'>")] if text.startswith("Column<'") else text
    if _FUNCTION_FORM.match(text):  # an operator tree: no SQL text from a classic column
        raise DltDefinitionError(
            f"the column {text} cannot be read as SQL while a classic Spark session runs; "
            "pass the condition as a SQL string or expr('...')"
        )
    return text


def _unparse(node, where: str) -> str:
    from pyspark.sql.connect import expressions as ce

    if isinstance(node, ce.ColumnReference):
        return node._unparsed_identifier
    if isinstance(node, ce.SQLExpression):
        return node._expr
    if isinstance(node, ce.LiteralExpression):
        value = node._value
        if value is None:
            return "NULL"
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        if isinstance(value, str):
            return "'" + value.replace("'", "''") + "'"
        return repr(value)
    if isinstance(node, ce.CastExpression):
        target = node._data_type
        type_sql = target if isinstance(target, str) else target.simpleString()
        return f"CAST({_unparse(node._expr, where)} AS {type_sql.upper()})"
    if isinstance(node, ce.UnresolvedFunction):
        name = node._name.lower()
        args = [_unparse(a, where) for a in node._args]
        if name in _BINARY and len(args) == 2:
            return f"({args[0]} {_BINARY[name]} {args[1]})"
        if name in _POSTFIX and len(args) == 1:
            return f"({args[0]} {_POSTFIX[name]})"
        if name == "not" and len(args) == 1:
            return f"(NOT {args[0]})"
        distinct = "DISTINCT " if node._is_distinct else ""
        return f"{name}({distinct}{', '.join(args)})"
    raise DltDefinitionError(
        f"{where}: the column expression {node} cannot be turned into SQL; pass it as a SQL "
        "string (expr(...) text)"
    )
