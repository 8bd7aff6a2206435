"""DLT-style expectations: named SQL predicates with an action, enforced through pandera.

A row passes a rule only when the predicate is TRUE: NULL fails (``coalesce(predicate, false)``).
Actions: ``warn`` keeps the row and records it, ``drop`` drops it, ``fail`` fails the update before
anything is committed, ``quarantine`` moves it to ``<table>_quarantine`` with the names of the
rules it broke.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property

import polars as pl

_RULE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
FAILED_EXPECTATIONS = "_failed_expectations"
QUARANTINED_AT = "_quarantined_at"


class ExpectationError(ValueError):
    """An expectation is defined wrongly (bad name, bad predicate, duplicate)."""


class ExpectationFailed(Exception):
    """An ``expect_or_fail`` rule failed: the update is aborted and nothing is committed."""

    def __init__(self, message: str, results: list[RuleResult]):
        super().__init__(message)
        self.results = results


class Action(StrEnum):
    WARN = "warn"
    DROP = "drop"
    FAIL = "fail"
    QUARANTINE = "quarantine"


@dataclass(frozen=True)
class Expectation:
    """One named rule: a SQL boolean predicate and what to do with rows that do not satisfy it."""

    name: str
    predicate: str
    action: Action

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _RULE_NAME.match(self.name):
            raise ExpectationError(
                f"expectation name {self.name!r} must be an identifier (letters, digits, _)"
            )
        if not isinstance(self.predicate, str) or not self.predicate.strip():
            raise ExpectationError(f"expectation {self.name!r} has an empty predicate")
        try:
            pl.sql_expr(self.predicate)
        except Exception as err:  # polars raises several error types for bad SQL
            raise ExpectationError(
                f"expectation {self.name!r}: predicate {self.predicate!r} is not valid SQL: {err}"
            ) from err

    @cached_property
    def expr(self) -> pl.Expr:
        """The row mask: TRUE passes, FALSE and NULL fail."""
        return pl.sql_expr(self.predicate).fill_null(False).cast(pl.Boolean)


def expectations_from_dict(rules: dict[str, str], action: Action) -> list[Expectation]:
    """The ``expect_all*`` forms: one expectation per ``{name: predicate}`` entry."""
    if not isinstance(rules, dict) or not rules:
        raise ExpectationError("expect_all* takes a non-empty dict of {rule name: SQL predicate}")
    return [Expectation(name, predicate, action) for name, predicate in rules.items()]


def check_unique(expectations: list[Expectation], table: str) -> None:
    seen: set[str] = set()
    for exp in expectations:
        if exp.name in seen:
            raise ExpectationError(f"table {table!r} defines expectation {exp.name!r} twice")
        seen.add(exp.name)


@dataclass
class RuleResult:
    """Counts and a sample of failing rows for one expectation on one batch."""

    expectation: Expectation
    passed_records: int
    failed_records: int
    failing_sample: list[dict] = field(default_factory=list)

    @property
    def failed_fraction(self) -> float:
        total = self.passed_records + self.failed_records
        return self.failed_records / total if total else 0.0


@dataclass
class Evaluation:
    """The outcome of applying a table's expectations to one batch."""

    kept: pl.DataFrame
    quarantined: pl.DataFrame
    results: list[RuleResult]
    dropped_records: int

    def result(self, name: str) -> RuleResult:
        return next(r for r in self.results if r.expectation.name == name)


def _mask_column(name: str) -> str:
    return f"__expect_{name}"


def _pandera_schema(expectations: list[Expectation]):
    """One pandera check per rule, reading the rule's precomputed null-safe mask."""
    import pandera.polars as pa  # imported on use: it pulls in pandas and pyspark (about 1 s)

    # a rule passes when its whole mask holds: pandera decides pass/fail per rule, the masks
    # give the counts and samples (row-level failure cases would cost a Python row per failure)
    checks = [
        pa.Check(
            lambda data, col=_mask_column(e.name): bool(
                data.lazyframe.select(pl.col(col).all()).collect().item()
            ),
            name=e.name,
            error=f"{e.name}: {e.predicate}",
            ignore_na=False,
        )
        for e in expectations
    ]
    return pa.DataFrameSchema(checks=checks, name="expectations")


def evaluate(
    df: pl.DataFrame, expectations: list[Expectation], table: str, sample_size: int = 5
) -> Evaluation:
    """Apply ``expectations`` to ``df``.

    Raises:
        ExpectationFailed: a ``fail`` rule has failing rows (names the rule and one failing row).
        ExpectationError: a predicate cannot be evaluated on this table's columns.
    """
    if not expectations:
        return Evaluation(df, _empty_quarantine(df), [], 0)
    try:
        masks = df.select([e.expr.alias(_mask_column(e.name)) for e in expectations])
    except pl.exceptions.PolarsError as err:
        bad = _first_unevaluable(df, expectations)
        raise ExpectationError(
            f"table {table!r}: expectation {bad.name!r} ({bad.predicate}) cannot be evaluated "
            f"on columns {df.columns}: {err}"
        ) from err
    failed_checks = _pandera_failed_checks(masks, expectations)
    data_columns = [c for c in df.columns if not c.startswith("_mlplatform_")]
    results = []
    for exp in expectations:
        mask = masks.get_column(_mask_column(exp.name))
        failed = int((~mask).sum())
        if (failed > 0) != (exp.name in failed_checks):
            raise RuntimeError(f"pandera and the mask disagree on rule {exp.name!r}")
        sample = []
        if failed:  # the first failing rows by position (no filtered copy of the batch)
            first = (~mask).arg_true().head(sample_size)
            sample = df.select(data_columns)[first].to_dicts()
        results.append(RuleResult(exp, len(df) - failed, failed, sample))
    raise_for_failures(results, len(df), table)
    return _apply_actions(df, masks, expectations, results)


def _apply_actions(df, masks, expectations, results) -> Evaluation:
    drop_cols = [_mask_column(e.name) for e in expectations if e.action is Action.DROP]
    quar = [e for e in expectations if e.action is Action.QUARANTINE]
    quar_cols = [_mask_column(e.name) for e in quar]
    drop_ok = pl.all_horizontal(drop_cols) if drop_cols else pl.lit(True)
    quar_ok = pl.all_horizontal(quar_cols) if quar_cols else pl.lit(True)
    flags = masks.select(drop_ok.alias("drop_ok"), quar_ok.alias("quar_ok"))
    keep = flags.get_column("drop_ok") & flags.get_column("quar_ok")
    to_quarantine = flags.get_column("drop_ok") & ~flags.get_column("quar_ok")
    dropped = int((~flags.get_column("drop_ok")).sum())
    kept = df.filter(keep)
    if quar:
        names = pl.concat_list(
            [
                pl.when(~pl.col(c)).then(pl.lit(e.name)).otherwise(None)
                for e, c in zip(quar, quar_cols, strict=True)
            ]
        ).list.drop_nulls()
        failed_names = (
            masks.filter(to_quarantine)
            .select(names.alias(FAILED_EXPECTATIONS))
            .get_column(FAILED_EXPECTATIONS)
        )
        quarantined = df.filter(to_quarantine).with_columns(failed_names)
    else:
        quarantined = _empty_quarantine(df)
    return Evaluation(kept, quarantined, results, dropped)


def _empty_quarantine(df: pl.DataFrame) -> pl.DataFrame:
    return df.clear().with_columns(pl.lit(None, pl.List(pl.String)).alias(FAILED_EXPECTATIONS))


def _pandera_failed_checks(masks: pl.DataFrame, expectations: list[Expectation]) -> set[str]:
    import pandera.polars as pa

    try:
        _pandera_schema(expectations).validate(masks, lazy=True)
    except pa.errors.SchemaErrors as err:
        return set(err.failure_cases.get_column("check").str.split(":").list.first().to_list())
    return set()


def _first_unevaluable(df: pl.DataFrame, expectations: list[Expectation]) -> Expectation:
    for exp in expectations:
        try:
            df.head(1).select(exp.expr)
        except pl.exceptions.PolarsError:
            return exp
    return expectations[0]


def raise_for_failures(results: list[RuleResult], total: int, table: str) -> None:
    """Raise ExpectationFailed for the first ``fail`` rule with failing rows (any engine)."""
    for res in results:
        if res.expectation.action is Action.FAIL and res.failed_records:
            exp = res.expectation
            raise ExpectationFailed(
                f"table {table!r}: expectation {exp.name!r} ({exp.predicate}) failed on "
                f"{res.failed_records} of {total} rows; first failing row: "
                f"{_short(res.failing_sample[0])}. "
                "Nothing was committed; the table keeps its previous version.",
                results,
            )


def _short(row: dict) -> str:
    text = repr(row)
    return text if len(text) <= 300 else text[:297] + "..."
