"""SQL files of a pipeline spec: ``CREATE MATERIALIZED VIEW``, ``CREATE STREAMING TABLE ... AS
SELECT ... FROM STREAM(...)`` and ``CREATE TEMPORARY VIEW``, with ``CONSTRAINT name EXPECT (...)
[ON VIOLATION DROP ROW | FAIL UPDATE]`` expectations, parsed with sqlglot (Databricks dialect).

Each statement declares a dataset whose query runs as the table layer's ``sql(...)`` body on the
pipeline's engine; ``STREAM(x)`` is an incremental read, any other table a full read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import sqlglot
from sqlglot import exp

from mlplatform.dlt import runtime
from mlplatform.dlt.analysis import DltDefinitionError, QueryAnalysis, strip_live
from mlplatform.dlt.pipeline import Dataset, Pipeline
from mlplatform.lakehouse.engines.base import SqlQuery
from mlplatform.lakehouse.expectations import Action, Expectation
from mlplatform.lakehouse.names import quote

_CONSTRAINT = re.compile(
    r"CONSTRAINT\s+(?P<name>\w+)\s+EXPECT\s*\((?P<pred>.*)\)"
    r"(\s+ON\s+VIOLATION\s+(?P<action>DROP\s+ROW|FAIL\s+UPDATE))?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_ACTIONS = {None: Action.WARN, "DROP ROW": Action.DROP, "FAIL UPDATE": Action.FAIL}


@dataclass
class SqlFlow:
    """The query of a SQL dataset: its reads are known from the parse tree."""

    query: exp.Expression
    file: str

    def analysis(self) -> QueryAnalysis:
        out = QueryAnalysis()
        for name, stream in _references(self.query):
            target = out.streams if stream else out.reads
            if name not in target:
                target.append(name)
        return out

    def __call__(self) -> SqlQuery:
        """The query with each dataset replaced by the view the engine registers for it."""
        tree = self.query.copy()
        for node in list(tree.find_all(exp.Stream)):
            inner = node.this
            if node.args.get("alias") is not None and isinstance(inner, exp.Table):
                inner.set("alias", node.args["alias"])
            node.replace(inner)
        ctes = {c.alias for c in tree.find_all(exp.CTE)}
        for table in list(tree.find_all(exp.Table)):
            name = _table_name(table)
            if name in ctes:
                continue
            view = runtime_view(name)
            alias = table.args.get("alias") or exp.TableAlias(this=exp.to_identifier(table.name))
            if isinstance(view, SqlQuery):  # a SQL temporary view: inlined as a subquery
                inlined = sqlglot.parse_one(view.text, read="spark")
                table.replace(exp.Subquery(this=inlined, alias=alias))
            else:
                table.replace(exp.Table(this=exp.to_identifier(view), alias=alias))
        return SqlQuery(tree.sql("spark"))


def runtime_view(name: str) -> str | SqlQuery:
    """The name the engine knows the frame read as ``name`` by, in the running update (or the
    query of a SQL temporary view)."""
    frames = runtime.current_frames()
    frame = runtime.resolve(name, stream=True)
    if isinstance(frame, SqlQuery):
        return frame
    for table in (frames["stream"], frames["read"]):
        for key, value in table.items():
            if value is frame and re.fullmatch(r"in\d+", key):
                return key
    if hasattr(frame, "createOrReplaceTempView"):  # a temporary view, computed for this query
        view = "__view_" + re.sub(r"\W", "_", name)
        frame.createOrReplaceTempView(view)
        return view
    raise DltDefinitionError(f"SQL query reads the temporary view {name!r}: run it on Spark")


def _table_name(table: exp.Table) -> str:
    """The table's name as written, each part backquoted where it needs it (``cat.`my s`.t``)."""
    return ".".join(quote(p) for p in (table.catalog, table.db, table.name) if p)


def _references(query: exp.Expression) -> list[tuple[str, bool]]:
    ctes = {c.alias for c in query.find_all(exp.CTE)}
    out = []
    for table in query.find_all(exp.Table):
        name = strip_live(_table_name(table))
        if name in ctes:
            continue
        out.append((name, table.find_ancestor(exp.Stream) is not None))
    for func in query.find_all(exp.Anonymous):
        if str(func.this).lower() in ("read_files", "cloud_files"):
            raise DltDefinitionError(
                f"{func.this}() in SQL is not supported: ingest files with a Python table "
                "(spark.readStream.format('cloudFiles'))"
            )
    return out


def split_statements(text: str) -> list[str]:
    """Statements separated by ``;`` outside quotes and comments."""
    out, current, quote, i = [], [], None, 0
    while i < len(text):
        ch = text[i]
        if quote:
            current.append(ch)
            if ch == quote:
                quote = None
        elif text.startswith("--", i):
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
            continue
        elif ch in "'\"`":
            quote = ch
            current.append(ch)
        elif ch == ";":
            out.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    out.append("".join(current))
    return [s.strip() for s in out if s.strip()]


def _columns_clause(statement: str) -> tuple[str, str | None]:
    """Split ``CREATE ... name (<clause>) rest`` into the statement without the clause and the
    clause (column definitions and constraints), if there is one before ``AS``."""
    match = re.search(r"\(", statement)
    as_match = re.search(r"\bAS\b", statement, re.IGNORECASE)
    if match is None or (as_match is not None and as_match.start() < match.start()):
        return statement, None
    depth = 0
    for j in range(match.start(), len(statement)):
        depth += {"(": 1, ")": -1}.get(statement[j], 0)
        if depth == 0:
            return statement[: match.start()] + statement[j + 1 :], statement[match.start() + 1 : j]
    raise DltDefinitionError(f"unbalanced parentheses in {statement[:80]!r}")


def _split_top(clause: str) -> list[str]:
    parts, depth, current = [], 0, []
    for ch in clause:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def _expectations(clause: str | None, where: str) -> list[Expectation]:
    out = []
    for part in _split_top(clause or ""):
        match = _CONSTRAINT.match(part)
        if match is None:
            raise DltDefinitionError(
                f"{where}: {part!r} is not supported in the column list; declare expectations "
                "as CONSTRAINT name EXPECT (predicate) [ON VIOLATION DROP ROW | FAIL UPDATE]"
            )
        action = match.group("action")
        action = " ".join(action.upper().split()) if action else None
        out.append(Expectation(match.group("name"), match.group("pred").strip(), _ACTIONS[action]))
    return out


def register(pipeline: Pipeline, text: str, path: Path) -> list[str]:
    """Declare the datasets of a SQL file in ``pipeline``; returns their names."""
    declared = []
    for statement in split_statements(text):
        where = f"{path.name}: {' '.join(statement.split())[:60]!r}"
        rest, clause = _columns_clause(statement)
        try:
            tree = sqlglot.parse_one(rest, read="databricks")
        except sqlglot.errors.ParseError as err:
            raise DltDefinitionError(f"{where}: not valid SQL: {err}") from err
        kind = _kind(tree, where)
        props = {type(p).__name__: p for p in _properties(tree)}
        comment = props.get("SchemaCommentProperty")
        table_properties = {
            p.this.name: p.args["value"].name for p in _properties(tree) if type(p) is exp.Property
        }
        name = _table_name(tree.this)
        ds = Dataset(
            name=name,
            kind=kind,
            func=SqlFlow(tree.expression, str(path)),
            comment=comment.this.name if comment is not None else f"Defined in {path.name}",
            properties=table_properties,
            expectations=_expectations(clause, where),
        )
        pipeline.add(ds)
        declared.append(ds.name)
    return declared


def _properties(tree: exp.Expression) -> list:
    props = tree.args.get("properties")
    return list(props.expressions) if props is not None else []


def _kind(tree: exp.Expression, where: str) -> str:
    if not isinstance(tree, exp.Create) or tree.expression is None:
        raise DltDefinitionError(
            f"{where}: a pipeline SQL file holds CREATE MATERIALIZED VIEW, CREATE STREAMING "
            "TABLE or CREATE TEMPORARY VIEW ... AS SELECT statements"
        )
    props = {type(p).__name__ for p in _properties(tree)}
    kind = str(tree.args.get("kind", "")).upper()
    if kind == "VIEW" and "MaterializedProperty" in props:
        return "materialized_view"
    if kind == "VIEW":
        return "view"
    if kind == "TABLE" and "StreamingTableProperty" in props:
        return "table"
    raise DltDefinitionError(
        f"{where}: use CREATE MATERIALIZED VIEW, CREATE STREAMING TABLE or CREATE TEMPORARY VIEW"
    )
