"""Incremental refresh of live aggregate tables (what Databricks' Enzyme does for DLT views).

A live table whose SQL is one ``GROUP BY`` over one input read in full, with ``COUNT``, ``SUM``,
``MIN``, ``MAX`` and ``AVG`` as its aggregates, is computed in two steps on the polars engine:
the aggregates per key (its *state*, a Delta table under the table's checkpoints), then the
SELECT list over the state. An update aggregates only the input rows appended since the state
was committed, merges them into the state, and evaluates the SELECT list again: the keys
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
import os
from dataclasses import dataclass

import polars as pl

from mlplatform.lakehouse.engines import polars_sql
from mlplatform.lakehouse.engines.base import SqlQuery

STATE_VIEW = "__aggregate_state"
REBUILD_FACTOR = 3  # a rebuild reads groups of this many byte budgets
_MERGEABLE = {"Count": "COUNT", "Sum": "SUM", "Min": "MIN", "Max": "MAX"}
_UNSUPPORTED = ("Join", "Having", "Distinct", "Window", "Limit", "With", "Union")


class NotIncremental(ValueError):
    """Why a query cannot be refreshed incrementally (it is recomputed instead)."""


@dataclass(frozen=True)
class AggregatePlan:
    """The table's SQL split into the per-key state and the SELECT list over it."""

    source: str
    keys: tuple[str, ...]
    state_sql: str  # SELECT keys, aggregates FROM source [WHERE ...] GROUP BY keys
    merges: tuple[tuple[str, str], ...]  # (state column, COUNT | SUM | MIN | MAX)
    final_sql: str  # the SELECT list over the state view


def plan_for(query: str) -> AggregatePlan | None:
    """The plan of an aggregate query, or None when the query is not one this module refreshes
    (``explain`` says why)."""
    try:
        return analyse(query)
    except NotIncremental:
        return None


def explain(query: str) -> str | None:
    """Why ``query`` cannot be refreshed incrementally (None: it can)."""
    try:
        analyse(query)
    except NotIncremental as err:
        return str(err)
    return None


def analyse(query: str) -> AggregatePlan:
    """Split one ``SELECT keys, aggregates FROM input [WHERE] GROUP BY keys [ORDER BY]`` into its
    state and final queries, with SQL parsed by sqlglot (not taken apart with patterns).

    Raises:
        NotIncremental: the query is of another shape, naming what is in the way.
    """
    import sqlglot  # on use: the definitions import stays light
    from sqlglot import exp

    unsupported = tuple(getattr(exp, name) for name in _UNSUPPORTED)
    try:
        tree = sqlglot.parse_one(query)
    except sqlglot.errors.ParseError as err:
        raise NotIncremental(f"the query does not parse: {err}") from err
    if not isinstance(tree, exp.Select):
        raise NotIncremental(f"not a single SELECT ({type(tree).__name__})")
    for node in tree.walk():
        if isinstance(node, unsupported) or (isinstance(node, exp.Select) and node is not tree):
            raise NotIncremental(f"{type(node).__name__.upper()} is not refreshed incrementally")
    source = tree.args.get("from_")
    if source is None or not isinstance(source.this, exp.Table) or source.this.args.get("db"):
        raise NotIncremental("the query reads other than one input by name")
    group = tree.args.get("group")
    keys = [k.name for k in group.expressions] if group else []
    if not keys or not all(isinstance(k, exp.Column) for k in group.expressions):
        raise NotIncremental("GROUP BY must list plain columns")
    states: dict[str, tuple] = {}
    finals = []
    for item in tree.expressions:
        inner = item.this if isinstance(item, exp.Alias) else item
        if isinstance(inner, exp.Column) and inner.name in keys:
            finals.append(exp.alias_(exp.column(inner.name), item.alias_or_name))
            continue
        if not isinstance(item, exp.Alias):
            raise NotIncremental(f"the aggregate {item.sql()} has no name (AS ...)")
        finals.append(exp.alias_(_rewrite(inner.copy(), states), item.alias))
    if not states:
        raise NotIncremental("no COUNT, SUM, MIN, MAX or AVG to merge")
    state = exp.select(*keys, *[exp.alias_(call, name) for name, (_, call) in states.items()])
    state = state.from_(source.this.copy()).group_by(*keys)
    if tree.args.get("where") is not None:
        state = state.where(tree.args["where"].this.copy())
    final = exp.select(*finals).from_(STATE_VIEW)
    if tree.args.get("order") is not None:
        final.set("order", tree.args["order"].copy())
    merges = tuple((name, func) for name, (func, _) in states.items())
    return AggregatePlan(source.this.name, tuple(keys), state.sql(), merges, final.sql())


def _rewrite(node, states: dict):
    """``node`` with each aggregate call replaced by its state column (AVG: SUM / COUNT)."""
    import sqlglot
    from sqlglot import exp

    def state_of(func: str, call):
        text = call.sql()
        for name, (_, known) in states.items():  # equal calls share one state column
            if known.sql() == text:
                return exp.column(name)
        name = f"__state_{len(states)}"
        states[name] = (func, call)
        return exp.column(name)

    def replace(sub):
        if not isinstance(sub, exp.AggFunc):
            return sub
        if any(isinstance(a, exp.AggFunc) for a in sub.find_all(exp.AggFunc) if a is not sub):
            raise NotIncremental(f"an aggregate inside an aggregate: {sub.sql()}")
        if isinstance(sub, exp.Avg):
            arg = sub.this
            total = state_of("SUM", exp.Sum(this=arg.copy()))
            count = state_of("COUNT", exp.Count(this=arg.copy()))
            return sqlglot.parse_one(
                f"(CASE WHEN {count.sql()} = 0 THEN NULL "
                f"ELSE CAST({total.sql()} AS DOUBLE) / {count.sql()} END)"
            )
        func = _MERGEABLE.get(type(sub).__name__)
        if func is None:
            raise NotIncremental(f"{sub.sql()} cannot be merged (COUNT, SUM, MIN, MAX, AVG can)")
        return state_of(func, sub)

    return node.transform(replace, copy=False)


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


def cached_plan(defn, folder) -> tuple[AggregatePlan | None, str | None]:
    """``plan_for_table`` with its answer (the plan, or why there is none) kept in ``folder``
    per query text: parsing the SQL (sqlglot's import alone) costs more than a run with nothing
    new, so it happens once per definition change, not in every process."""
    text = table_sql(defn)
    if text is None:
        return None, "the table is a function, not sql(...)"
    digest = hashlib.sha256(text.encode()).hexdigest()
    path = folder / f"{defn.name}__plan.json"
    try:
        known = json.loads(path.read_text())
    except (OSError, ValueError):
        known = {}
    if known.get("digest") == digest:
        plan = known["plan"]
        if plan is None:
            return None, known["reason"]
        plan["keys"], plan["merges"] = tuple(plan["keys"]), tuple(map(tuple, plan["merges"]))
        return (AggregatePlan(**plan) if plan["source"] == defn.param_names[0] else None), None
    plan, reason = plan_for_table(defn), explain(text)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    body = {"plan": plan.__dict__ if plan else None, "reason": reason}
    tmp.write_text(json.dumps({"digest": digest, **body}))
    os.replace(tmp, path)
    return plan, reason


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
        recorded = recorded_state(state_store)
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
    if not budget or engine.name != "polars":
        return aggregate(plan, engine.read_table(store, end)), {"refresh": "full"}
    # the whole input, a group of its files at a time: memory is the state and one group
    schema = dict(store.scan(end).collect_schema())
    state = None
    # groups of 3x the budget: each merge costs the whole state (1.2M keys at 60M events), the
    # streaming aggregation of a group about 5x its Parquet bytes
    groups = store.file_chunks(end, REBUILD_FACTOR * budget) or [[]]
    for files in groups:
        rows = store.scan_files(files, schema) if files else pl.LazyFrame(schema=schema)
        more = aggregate(plan, rows)
        state = more if state is None else merge(plan, state, more)
    return state, {"refresh": "full"} | ({"chunks": len(groups)} if len(groups) > 1 else {})


def finish(plan: AggregatePlan, state: pl.DataFrame) -> pl.DataFrame:
    """The table's rows: its SELECT list over the state."""
    return polars_sql.execute(plan.final_sql, {STATE_VIEW: state.lazy()}).collect()


def recorded_state(store) -> dict:
    """What the state in ``store`` (a ``DeltaStore``) reflects (input versions, its SQL), from its
    last commit."""
    try:
        last = store.table().history(1)[0]
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
