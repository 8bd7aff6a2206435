"""Expectation semantics: the seven actions, NULL handling, definition-time errors."""

import polars as pl
import pytest

from mlplatform.lakehouse.expectations import (
    FAILED_EXPECTATIONS,
    Action,
    Expectation,
    ExpectationError,
    ExpectationFailed,
    evaluate,
)
from mlplatform.lakehouse.table import (
    expect,
    expect_all,
    expect_all_or_drop,
    expect_all_or_fail,
    expect_all_or_quarantine,
    expect_or_drop,
    expect_or_fail,
    expect_or_quarantine,
    table,
)

ROWS = pl.DataFrame(
    {
        "customer_id": ["a", None, "c", "d", "e"],
        "amount": [10.0, 5.0, None, -1.0, 3.0],
    }
)
POSITIVE = "amount > 0"
PRESENT = "customer_id IS NOT NULL"


def _wrap(func):
    from mlplatform.lakehouse.table import read

    return table(layer="silver", name="t", inputs=[read("bronze/x")])(func)


def test_expect_warn_keeps_rows_and_counts_nulls_as_failures():
    defn = _wrap(expect("valid_amount", POSITIVE)(lambda x: x))
    ev = evaluate(ROWS, defn.expectations, "silver/t")
    assert len(ev.kept) == 5
    res = ev.result("valid_amount")
    assert (res.passed_records, res.failed_records) == (3, 2)  # NULL amount fails
    assert {r["customer_id"] for r in res.failing_sample} == {"c", "d"}


def test_expect_or_drop_drops_without_failing():
    defn = _wrap(expect_or_drop("valid_amount", POSITIVE)(lambda x: x))
    ev = evaluate(ROWS, defn.expectations, "silver/t")
    assert ev.kept.get_column("customer_id").to_list() == ["a", None, "e"]
    assert ev.dropped_records == 2
    assert len(ev.quarantined) == 0


def test_expect_or_fail_names_rule_and_row():
    defn = _wrap(expect_or_fail("valid_amount", POSITIVE)(lambda x: x))
    with pytest.raises(ExpectationFailed) as info:
        evaluate(ROWS, defn.expectations, "silver/t")
    msg = str(info.value)
    assert "'valid_amount'" in msg and "failed on 2 of 5 rows" in msg
    assert "'customer_id': 'c'" in msg
    assert [r.failed_records for r in info.value.results] == [2]


def test_expect_or_quarantine_moves_rows_with_rule_names():
    func = expect_or_quarantine("valid_amount", POSITIVE)(lambda x: x)
    func = expect_or_quarantine("valid_customer_id", PRESENT)(func)
    defn = _wrap(func)
    ev = evaluate(ROWS, defn.expectations, "silver/t")
    assert ev.kept.get_column("customer_id").to_list() == ["a", "e"]
    q = ev.quarantined.sort("amount", nulls_last=True)
    assert q.get_column("amount").to_list() == [-1.0, 5.0, None]
    assert q.get_column(FAILED_EXPECTATIONS).to_list() == [
        ["valid_amount"],
        ["valid_customer_id"],
        ["valid_amount"],
    ]


def test_expect_all_is_warn_only_for_several_rules():
    defn = _wrap(expect_all({"valid_amount": POSITIVE, "valid_customer_id": PRESENT})(lambda x: x))
    ev = evaluate(ROWS, defn.expectations, "silver/t")
    assert len(ev.kept) == 5
    assert ev.result("valid_amount").failed_records == 2
    assert ev.result("valid_customer_id").failed_records == 1
    assert {e.action for e in defn.expectations} == {Action.WARN}


def test_expect_all_or_drop_drops_a_row_failing_any_rule():
    defn = _wrap(
        expect_all_or_drop({"valid_amount": POSITIVE, "valid_customer_id": PRESENT})(lambda x: x)
    )
    ev = evaluate(ROWS, defn.expectations, "silver/t")
    assert ev.kept.get_column("customer_id").to_list() == ["a", "e"]
    assert ev.dropped_records == 3


def test_expect_all_or_fail_fails_on_any_rule():
    defn = _wrap(
        expect_all_or_fail({"valid_customer_id": PRESENT, "small": "amount < 100"})(lambda x: x)
    )
    with pytest.raises(ExpectationFailed, match="'valid_customer_id'"):
        evaluate(ROWS, defn.expectations, "silver/t")


def test_expect_all_or_quarantine_lists_every_broken_rule():
    defn = _wrap(
        expect_all_or_quarantine({"valid_amount": POSITIVE, "big": "amount > 4"})(lambda x: x)
    )
    ev = evaluate(ROWS, defn.expectations, "silver/t")
    broken = {r["customer_id"]: r[FAILED_EXPECTATIONS] for r in ev.quarantined.to_dicts()}
    assert broken == {"c": ["valid_amount", "big"], "d": ["valid_amount", "big"], "e": ["big"]}


def test_drop_wins_over_quarantine_and_warn_keeps():
    func = expect_or_drop("valid_customer_id", PRESENT)(lambda x: x)
    func = expect_or_quarantine("valid_amount", POSITIVE)(func)
    func = expect("small", "amount < 8")(func)
    ev = evaluate(ROWS, _wrap(func).expectations, "silver/t")
    assert ev.kept.get_column("customer_id").to_list() == ["a", "e"]
    assert ev.quarantined.get_column("customer_id").to_list() == ["c", "d"]
    assert ev.dropped_records == 1
    assert ev.result("small").failed_records == 2  # 10.0 and the NULL amount


@pytest.mark.parametrize(
    ("name", "predicate", "message"),
    [
        ("valid_amount", "amount >", "is not valid SQL"),
        ("valid_amount", "   ", "empty predicate"),
        ("valid amount", "amount > 0", "must be an identifier"),
    ],
)
def test_bad_expectation_fails_at_definition_time(name, predicate, message):
    with pytest.raises(ExpectationError, match=message):
        expect(name, predicate)


def test_duplicate_rule_names_are_refused():
    with pytest.raises(ExpectationError, match="twice"):
        _wrap(expect("r", POSITIVE)(expect_or_drop("r", PRESENT)(lambda x: x)))


def test_predicate_on_missing_column_names_the_rule():
    exps = [Expectation("valid_price", "price > 0", Action.DROP)]
    with pytest.raises(ExpectationError, match="'valid_price'.*cannot be evaluated"):
        evaluate(ROWS, exps, "silver/t")


def test_expectations_applied_above_the_table_decorator_too():
    defn = expect_or_drop("valid_amount", POSITIVE)(_wrap(lambda x: x))
    assert [e.name for e in defn.expectations] == ["valid_amount"]
