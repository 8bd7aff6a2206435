"""Live aggregate tables refreshed from their per-key state: same rows as a recomputation."""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from mlplatform.lakehouse import incremental
from mlplatform.lakehouse.delta import DeltaStore
from mlplatform.lakehouse.engines import get_engine
from mlplatform.lakehouse.engines.base import sql
from mlplatform.lakehouse.engines.polars_sql import execute
from mlplatform.lakehouse.table import expect_or_fail, read, table
from mlplatform.lakehouse.update.runner import RunOptions, TableRunner
from mlplatform.settings import get_settings
from tests.unit.test_incremental_tables import raw, rows, write_file

QUERY = """
    SELECT customer_id,
           CAST(COUNT(*) AS BIGINT) AS n,
           SUM(CAST(amount AS DOUBLE)) AS spend,
           AVG(CAST(amount AS DOUBLE)) AS avg_amount,
           CAST(SUM(CASE WHEN CAST(amount AS DOUBLE) > 4 THEN 1 ELSE 0 END) AS DOUBLE) / COUNT(*)
               AS big_share,
           MIN(amount) AS lowest, MAX(amount) AS highest
    FROM raw
    WHERE customer_id <> 'ignored'
    GROUP BY customer_id
    ORDER BY customer_id
"""


@table(layer="gold", name="spend", inputs=[read("bronze/raw")])
@expect_or_fail("has_customer", "customer_id IS NOT NULL")
def spend(raw):
    return sql(QUERY)


def expected(home) -> pl.DataFrame:
    bronze = pl.read_delta(str(home / "lakehouse" / "bronze" / "raw"))
    return execute(QUERY, {"raw": bronze.lazy()}).collect()


def gold(home) -> pl.DataFrame:
    return pl.read_delta(str(home / "lakehouse" / "gold" / "spend"))


def amounts(n, start, amount):
    return [r | {"amount": amount + i % 3} for i, r in enumerate(rows(n, start=start))]


def test_plans_only_for_mergeable_aggregate_queries():
    plan = incremental.plan_for(QUERY)
    assert plan.keys == ("customer_id",) and plan.source == "raw"
    assert "WHERE customer_id <> 'ignored'" in plan.state_sql
    assert {func for _, func in plan.merges} == {"COUNT", "SUM", "MIN", "MAX"}
    for query in [
        "SELECT a, COUNT(DISTINCT b) AS n FROM t GROUP BY a",
        "SELECT a, COUNT(*) FROM t GROUP BY a",  # an unnamed aggregate
        "SELECT a, COUNT(*) AS n FROM t GROUP BY a HAVING COUNT(*) > 1",
        "SELECT a, COUNT(*) AS n FROM t JOIN u ON t.a = u.a GROUP BY a",
        "SELECT a, b FROM t",
        "SELECT a, MEDIAN(b) AS m FROM t GROUP BY a",  # no aggregate it can merge
        "SELECT a, SUM(MAX(b)) AS m FROM t GROUP BY a",
        "SELECT a, COUNT(*) AS n FROM (SELECT * FROM t) GROUP BY a",
    ]:
        assert incremental.plan_for(query) is None, query


def test_updates_merge_only_the_new_rows_and_equal_a_recomputation(home):
    settings = get_settings()
    write_file(home, "a.json", amounts(40, 0, 3.0) + [{"customer_id": "ignored", "amount": 1}])
    TableRunner(raw, settings).run()
    first = TableRunner(spend, settings).run()
    assert first.counts == {"refresh": "full"}
    assert_frame_equal(gold(home), expected(home))
    write_file(home, "b.json", amounts(10, 35, 7.0) + [{"customer_id": None, "amount": 2}])
    TableRunner(raw, settings).run()
    second = TableRunner(spend, settings).run()
    assert second.counts == {"refresh": "incremental", "rows_aggregated": 11, "keys_changed": 10}
    assert second.written_rows == 45  # NULL <> 'ignored' is not true: WHERE drops the null id
    assert_frame_equal(gold(home), expected(home))
    assert gold(home).filter(pl.col("customer_id") == "36").row(0, named=True) == {
        "customer_id": "36",
        "n": 2,
        "spend": 3.0 + 8.0,
        "avg_amount": 5.5,
        "big_share": 0.5,
        "lowest": "3.0",
        "highest": "8.0",
    }
    forced = TableRunner(spend, settings).run(RunOptions(full_refresh=True))
    assert forced.counts == {"refresh": "full"}
    assert_frame_equal(gold(home), expected(home))


def test_a_rewritten_input_or_a_state_ahead_of_its_table_rebuilds_the_state(home, monkeypatch):
    settings = get_settings()
    write_file(home, "a.json", amounts(20, 0, 3.0))
    TableRunner(raw, settings).run()
    TableRunner(spend, settings).run()
    TableRunner(raw, settings).run(RunOptions(full_refresh=True))  # bronze rewritten
    again = TableRunner(spend, settings).run()
    assert again.counts == {"refresh": "full"}
    assert_frame_equal(gold(home), expected(home))

    write_file(home, "b.json", amounts(5, 100, 9.0))
    TableRunner(raw, settings).run()
    original = DeltaStore.write

    def crash_on_table(store, df, batch_id, **kw):
        if store.app_id == "gold/spend":
            raise KeyboardInterrupt("killed between the state and the table")
        return original(store, df, batch_id, **kw)

    monkeypatch.setattr(DeltaStore, "write", crash_on_table)
    with pytest.raises(KeyboardInterrupt):
        TableRunner(spend, settings).run()
    monkeypatch.setattr(DeltaStore, "write", original)
    runner = TableRunner(spend, settings)
    assert runner.aggregate_state.committed_batch() == runner.main.committed_batch() + 1
    redo = runner.run()
    assert redo.counts == {"refresh": "full"}
    assert_frame_equal(gold(home), expected(home))
    assert len(gold(home)) == 25


def test_tables_defined_by_a_function_are_recomputed(home):
    assert TableRunner(spend, get_settings(), get_engine("polars")).aggregate_plan() is not None

    @table(layer="gold", name="counts", inputs=[read("bronze/raw")])
    def counts(raw):
        return raw.group_by("customer_id").len()

    assert TableRunner(counts, get_settings()).aggregate_plan() is None


def test_a_changed_query_recomputes_the_table_and_rebuilds_its_state(home):
    settings = get_settings()
    write_file(home, "a.json", amounts(6, 0, 3.0))
    TableRunner(raw, settings).run()
    TableRunner(spend, settings).run()
    assert TableRunner(spend, settings).run().nothing_new  # same query, same input

    @table(layer="gold", name="spend", inputs=[read("bronze/raw")])
    def spend_v2(raw):
        return sql("SELECT customer_id, MAX(amount) AS top FROM raw GROUP BY customer_id")

    changed = TableRunner(spend_v2, settings).run()
    assert not changed.nothing_new and changed.counts == {"refresh": "full"}
    assert gold(home).columns == ["customer_id", "top"] and len(gold(home)) == 6
    assert TableRunner(spend_v2, settings).run().nothing_new


def test_null_keys_form_one_group_across_merges():
    plan = incremental.plan_for("SELECT k, COUNT(*) AS n, SUM(x) AS s FROM t GROUP BY k")
    first = pl.DataFrame({"k": ["a", None, None], "x": [1.0, None, None]})
    later = pl.DataFrame({"k": [None, "b"], "x": [2.0, None]})
    state = incremental.merge(
        plan, incremental.aggregate(plan, first.lazy()), incremental.aggregate(plan, later.lazy())
    )
    out = incremental.finish(plan, state).sort("k", nulls_last=True)
    assert out.rows() == [("a", 1, 1.0), ("b", 1, None), (None, 3, 2.0)]


def test_each_definition_gets_its_own_plan_even_after_others_are_freed():
    def definition(i):
        @table(layer="gold", name=f"t{i}", inputs=[read("bronze/raw")])
        def agg(raw):
            return sql(f"SELECT customer_id, COUNT(*) AS n{i} FROM raw GROUP BY customer_id")

        return agg

    for i in range(50):  # throwaway definitions: a freed one's id must not answer for the next
        assert f"AS n{i}" in incremental.plan_for_table(definition(i)).final_sql


def test_explains_why_a_query_is_not_refreshed_incrementally():
    cases = {
        "SELECT a, COUNT(DISTINCT b) AS n FROM t GROUP BY a": "DISTINCT is not refreshed",
        "SELECT a, COUNT(*) FROM t GROUP BY a": "the aggregate COUNT(*) has no name (AS ...)",
        "SELECT a, COUNT(*) AS n FROM t GROUP BY a HAVING COUNT(*) > 1": "HAVING is not",
        "SELECT a, COUNT(*) AS n FROM t JOIN u ON t.a = u.a GROUP BY a": "JOIN is not",
        "SELECT a, MEDIAN(b) AS m FROM t GROUP BY a": "MEDIAN(b) cannot be merged",
        "SELECT a, SUM(MAX(b)) AS m FROM t GROUP BY a": "an aggregate inside an aggregate",
        "SELECT a, b FROM t": "GROUP BY must list plain columns",
        "SELECT a, COUNT(*) AS n FROM (SELECT * FROM t) GROUP BY a": "SELECT is not refreshed",
        "SELECT a, COUNT(* AS n FROM t GROUP BY a": "does not parse",
        "SELEKT nothing": "not a single SELECT",
    }
    for query, reason in cases.items():
        assert reason in incremental.explain(query), query
    assert incremental.explain(QUERY) is None
    # a string literal with SQL words in it is data, not syntax (patterns took it apart)
    tricky = "SELECT k, COUNT(*) AS n FROM t WHERE note <> 'a JOIN b GROUP BY c' GROUP BY k"
    plan = incremental.plan_for(tricky)
    assert plan.keys == ("k",) and "'a JOIN b GROUP BY c'" in plan.state_sql


def test_a_rebuild_and_an_update_in_chunks_equal_a_recomputation(home):
    """With a byte budget of one file, the state is built and merged a file (version) at a
    time: memory is bounded by the state and a chunk, the rows are the same."""
    settings = get_settings()
    for i in range(4):
        write_file(home, f"f{i}.json", amounts(12, 8 * i, 1.0 + i))
        TableRunner(raw, settings).run()  # one bronze version (and data file) each
    tiny = RunOptions(max_bytes_per_trigger="1")  # groups of 3 bytes: one file each
    first = TableRunner(spend, settings).run(tiny)
    assert first.counts == {"refresh": "full", "chunks": 4}
    assert_frame_equal(gold(home), expected(home), check_exact=False)
    for i in range(4, 7):
        write_file(home, f"f{i}.json", amounts(5, 10 * i, 2.0))
        TableRunner(raw, settings).run()
    second = TableRunner(spend, settings).run(tiny)
    assert second.counts == {
        "refresh": "incremental",
        "rows_aggregated": 15,
        "keys_changed": 15,
        "chunks": 3,
    }
    assert_frame_equal(gold(home), expected(home), check_exact=False)
