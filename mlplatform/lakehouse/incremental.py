"""Incremental refresh of live aggregate tables (what Databricks' Enzyme does for DLT views).

A live table whose SQL is one ``GROUP BY`` over one input read in full, with ``COUNT``, ``SUM``,
``MIN``, ``MAX`` and ``AVG`` as its aggregates, is computed in two steps on the polars engine:
the aggregates per key (its *state*, a Delta table under the table's checkpoints), then the
SELECT list over the state. An update aggregates only the input rows appended since the state
was committed, merges them into the state, and evaluates the SELECT list again: the customers
that changed get new values, the others keep theirs. Counts, integer sums, minima and maxima
equal a recomputation exactly; floating-point sums and averages up to summation order.

The state commits before the table, with the same batch id and the input version it reflects;
a state that is not at the table's batch, an input that was rewritten (overwrite, compaction) or
``full_refresh`` rebuild it from the whole input.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import re
from dataclasses import dataclass

import polars as pl
from deltalake import DeltaTable

from mlplatform.lakehouse.engines import polars_sql
from mlplatform.lakehouse.engines.base import SqlQuery

STATE_VIEW = "__aggregate_state"
_AGGREGATE = re.compile(r"\b(COUNT|SUM|MIN|MAX|AVG)\s*\(", re.IGNORECASE)
_SHAPE = re.compile(
    r"^\s*SELECT\s+(?P<items>.+?)\s+FROM\s+(?P<source>[A-Za-z_]\w*)"
    r"(?:\s+WHERE\s+(?P<where>.+?))?\s+GROUP\s+BY\s+(?P<keys>.+?)"
    r"(?:\s+ORDER\s+BY\s+(?P<order>.+?))?\s*;?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_UNSUPPORTED = re.compile(r"\b(JOIN|UNION|HAVING|DISTINCT|OVER|LIMIT|WITH)\b", re.IGNORECASE)
_IDENT = re.compile(r"^[A-Za-z_]\w*$")
_LITERAL = re.compile(r"'(?:[^']|'')*'")
_ALIASED = re.compile(r"^(?P<expr>.+)\s+AS\s+(?P<alias>[A-Za-z_]\w*)$", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class AggregatePlan:
    """The table's SQL split into the per-key state and the SELECT list over it."""

    source: str
    keys: tuple[str, ...]
    state_sql: str  # SELECT keys, aggregates FROM source [WHERE ...] GROUP BY keys
    merges: tuple[tuple[str, str], ...]  # (state column, COUNT | SUM | MIN | MAX)
    final_sql: str  # the SELECT list over the state view


def plan_for(query: str) -> AggregatePlan | None:
    """The plan of an aggregate query, or None when the query is not one this module refreshes."""
    literals: list[str] = []

    def hide(m: re.Match) -> str:
        literals.append(m.group(0))
        return f"__literal{len(literals) - 1}__"

    text = _LITERAL.sub(hide, query)
    shape = _SHAPE.match(text)
    if not shape or _UNSUPPORTED.search(text) or len(re.findall(r"\bSELECT\b", text, re.I)) != 1:
        return None
    keys = [k.strip() for k in _split(shape["keys"])]
    if not keys or not all(_IDENT.match(k) for k in keys):
        return None

    def show(sql: str) -> str:
        return re.sub(r"__literal(\d+)__", lambda m: literals[int(m.group(1))], sql)

    states: dict[tuple[str, str], str] = {}
    finals = []
    for item in _split(shape["items"]):
        item = item.strip()
        aliased = _ALIASED.match(item)
        expr, alias = (aliased["expr"], aliased["alias"]) if aliased else (item, None)
        if aliased and not _balanced(expr):
            expr, alias = item, None
        if expr.strip() in keys:
            finals.append(f"{expr.strip()} AS {alias or expr.strip()}")
            continue
        if alias is None:
            return None  # an unnamed aggregate: engines name it differently
        rewritten = _rewrite_aggregates(expr, states, show)
        if rewritten is None:
            return None
        finals.append(f"{rewritten} AS {alias}")
    if not states:
        return None

    where = f" WHERE {shape['where']}" if shape["where"] else ""
    aggregates = ", ".join(f"{call} AS {name}" for (_, call), name in states.items())
    key_list = ", ".join(keys)
    state_sql = f"SELECT {key_list}, {aggregates} FROM {shape['source']}{where} GROUP BY {key_list}"
    order = f" ORDER BY {shape['order']}" if shape["order"] else ""
    final_sql = f"SELECT {', '.join(finals)} FROM {STATE_VIEW}{order}"
    merges = tuple((name, func) for (func, _), name in states.items())
    return AggregatePlan(shape["source"], tuple(keys), show(state_sql), merges, show(final_sql))


def _split(text: str) -> list[str]:
    """Split at the commas outside parentheses."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if depth < 0:
            return False
    return depth == 0


def _rewrite_aggregates(expr: str, states: dict, show) -> str | None:
    """``expr`` with each aggregate call replaced by its state columns (None: not mergeable)."""
    out, pos = [], 0
    for m in _AGGREGATE.finditer(expr):
        if m.start() < pos:
            return None  # an aggregate inside an aggregate
        func = m.group(1).upper()
        end = _closing(expr, m.end() - 1)
        if end is None:
            return None
        arg = expr[m.end() : end].strip()
        if _AGGREGATE.search(arg) or re.search(r"\bDISTINCT\b", arg, re.I):
            return None
        if func == "AVG":
            total = _state(states, "SUM", f"SUM({arg})", show)
            count = _state(states, "COUNT", f"COUNT({arg})", show)
            text = f"(CASE WHEN {count} = 0 THEN NULL ELSE CAST({total} AS DOUBLE) / {count} END)"
        else:
            text = _state(states, func, f"{func}({arg})", show)
        out.append(expr[pos : m.start()] + text)
        pos = end + 1
    out.append(expr[pos:])
    return "".join(out)


def _closing(text: str, open_at: int) -> int | None:
    depth = 0
    for i in range(open_at, len(text)):
        depth += (text[i] == "(") - (text[i] == ")")
        if depth == 0:
            return i
    return None


def _state(states: dict, func: str, call: str, show) -> str:
    key = (func, show(" ".join(call.split())))  # equal calls share one state column
    return states.setdefault(key, f"__state_{len(states)}")


_MEMO: dict[tuple[str, int], tuple[object, object]] = {}
"""Per-definition results, keyed by id and holding the definition, so an id is never reused."""


def _memo(kind: str, defn, compute):
    key = (kind, id(defn))
    if key not in _MEMO:
        _MEMO[key] = (defn, compute())
    return _MEMO[key][1]


def table_sql(defn) -> str | None:
    """The query of a table defined by ``sql(...)``: its function is called once with None for
    its inputs (a SQL table's function only returns its query; others fail and give None).
    Functions without parameters (DLT-style, reading inputs themselves) are never called."""
    return _memo("sql", defn, lambda: _call_for_sql(defn))


def _call_for_sql(defn) -> str | None:
    if not defn.param_names or len(defn.param_names) != len(defn.inputs):
        return None
    try:
        out = defn.func(*[None] * len(defn.param_names))
    except Exception:
        return None
    return out.text if isinstance(out, SqlQuery) else None


def plan_for_table(defn) -> AggregatePlan | None:
    """The plan of a SQL table over its one input (None: the table is recomputed)."""

    def plan() -> AggregatePlan | None:
        text = table_sql(defn)
        found = plan_for(text) if text else None
        return found if found and found.source == defn.param_names[0] else None

    return _memo("plan", defn, plan)


def aggregate(plan: AggregatePlan, rows: pl.LazyFrame) -> pl.DataFrame:
    """The state of ``rows``: one row per key with the aggregates (unsigned counts as Int64,
    which Delta stores)."""
    state = polars_sql.execute(plan.state_sql, {plan.source: rows}).collect(engine="streaming")
    unsigned = [c for c, t in state.schema.items() if t.is_unsigned_integer()]
    return state.with_columns(pl.col(unsigned).cast(pl.Int64)) if unsigned else state


def merge(plan: AggregatePlan, state: pl.DataFrame, more: pl.DataFrame) -> pl.DataFrame:
    """Two states of disjoint rows as one (SQL's NULL for a sum over no non-null value)."""
    if more.is_empty():
        return state
    exprs = []
    for name, func in plan.merges:
        col = pl.col(name)
        if func == "COUNT":
            exprs.append(col.sum().alias(name))
        elif func == "SUM":
            exprs.append(pl.when(col.count() > 0).then(col.sum()).alias(name))
        else:
            exprs.append((col.min() if func == "MIN" else col.max()).alias(name))
    both = pl.concat([state, more.select(state.columns).cast(state.schema)])
    return both.group_by(list(plan.keys)).agg(exprs).cast(state.schema)


def refresh(
    plan: AggregatePlan, engine, source, state_store, done: int, rebuild: bool, budget=None
):
    """The state for the input ``source`` = (key, store, version): the rows appended since the
    state at batch ``done`` merged into it, or the whole input aggregated when the state is not
    at that batch, was built by other SQL, the input was rewritten, or ``rebuild`` is set.

    The appended rows are read and merged in chunks of at most ``budget`` bytes of the input's
    data files (soft: at least one version), so memory is bounded by the state and a chunk; a
    rebuild aggregates the input's snapshot on polars' streaming engine.

    Returns the state and the counts reported as materialization metadata."""
    key, store, end = source
    recorded = {}
    if not rebuild and state_store.exists() and state_store.committed_batch() == done:
        recorded = recorded_state(state_store.path)
    start = None
    if recorded.get("state_sql") == plan.state_sql:  # else the state's columns differ
        start = recorded.get("input_versions", {}).get(key)
    if start is not None and start <= end:
        try:
            state, rows, keys = state_store.read(), 0, []
            chunks = 0
            while start < end:
                stop = store.chunk_end(start, end, budget) if budget else end
                chunk = engine.read_increment(store, start, stop)
                more = aggregate(plan, chunk.lazy())
                state = merge(plan, state, more)
                rows, chunks, start = rows + len(chunk), chunks + 1, stop
                keys.append(more.select(plan.keys))
        except RuntimeError:  # the input was rewritten (overwrite, compaction)
            state = None
        if state is not None:
            changed = pl.concat(keys).unique().height if keys else 0
            counts = {"refresh": "incremental", "rows_aggregated": rows, "keys_changed": changed}
            return state, counts | ({"chunks": chunks} if chunks > 1 else {})
    return aggregate(plan, engine.read_table(store, end)), {"refresh": "full"}


def finish(plan: AggregatePlan, state: pl.DataFrame) -> pl.DataFrame:
    """The table's rows: its SELECT list over the state."""
    return polars_sql.execute(plan.final_sql, {STATE_VIEW: state.lazy()}).collect()


def recorded_state(path) -> dict:
    """What the state at ``path`` reflects (input versions, its SQL), from its last commit."""
    try:
        last = DeltaTable(str(path)).history(1)[0]
    except Exception:  # no table, or an unreadable log: the state is rebuilt
        return {}
    meta = last.get("mlplatform.metadata")
    return json.loads(meta) if meta else {}


DEFINITION = "#definition"
"""The ledger source under which a live table records the fingerprint of its definition."""


def definition_fingerprint(defn) -> int | None:
    """A number that changes when a live table's query or function source changes."""
    return _memo("fingerprint", defn, lambda: _fingerprint(defn))


def _fingerprint(defn) -> int | None:
    text = table_sql(defn)
    if text is None:
        try:
            text = inspect.getsource(defn.func)
        except (OSError, TypeError):
            return None
    return int(hashlib.sha256(text.encode()).hexdigest()[:15], 16)
