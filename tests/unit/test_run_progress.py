"""The quickstart's progress lines, from the events of a real run of a small graph."""

from __future__ import annotations

import re

import dagster as dg

from mlplatform.run_progress import RunProgress


@dg.multi_asset(
    specs=[dg.AssetSpec(["silver", "clean"]), dg.AssetSpec(["silver", "clean_quarantine"])],
    check_specs=[dg.AssetCheckSpec("valid", asset=["silver", "clean"])],
)
def clean():
    yield dg.MaterializeResult(asset_key=["silver", "clean"], metadata={"dagster/row_count": 1200})
    yield dg.MaterializeResult(
        asset_key=["silver", "clean_quarantine"], metadata={"dagster/row_count": 3}
    )
    yield dg.AssetCheckResult(asset_key=["silver", "clean"], check_name="valid", passed=True)


@dg.asset(key=["ml", "model"], deps=[["silver", "clean"]])
def model():
    return dg.MaterializeResult()


@dg.asset_check(asset=model)
def auc_floor():
    return dg.AssetCheckResult(passed=False)


@dg.asset_check(asset=model)
def no_nan():
    return dg.AssetCheckResult(passed=True)


@dg.asset(key=["ml", "broken"], deps=[model])
def broken():
    raise ValueError("the store is gone\nsecond line")


def test_one_line_per_finished_step_with_rows_checks_and_seconds():
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [clean, model, auc_floor, no_nan, broken], instance=instance, raise_on_error=False
        )
        entries = instance.all_logs(result.run_id)
    progress = RunProgress()
    lines = progress.feed(entries[:5]) + progress.feed(entries[5:])  # fed in two parts
    text = "\n".join(lines)
    seconds = r"\d+\.\d s"
    assert re.search(
        rf"^  silver/clean, silver/clean_quarantine: 1,200 \+ 3 rows; "
        rf"checks 1 passed, 0 failed; {seconds}$",
        text,
        re.M,
    ), text
    assert re.search(rf"^  ml/model: {seconds}$", text, re.M), text
    # two steps checking one asset: each line names its check, so no line is printed twice
    assert re.search(
        rf"^  ml/model checks \(no_nan\): checks 1 passed, 0 failed; {seconds}$", text, re.M
    ), text
    assert re.search(
        rf"^  ml/model checks \(auc_floor\): checks 0 passed, 1 failed; {seconds}$", text, re.M
    ), text
    assert len(set(lines)) == len(lines), text
    assert re.search(
        rf"^  ml__broken: FAILED: ValueError: the store is gone; {seconds}$", text, re.M
    )
    assert len(lines) == 5
    assert (progress.steps_done, progress.steps_failed) == (5, 1)


@dg.multi_asset_check(
    specs=[dg.AssetCheckSpec("freshness", asset=["t", f"t{n}"]) for n in range(5)],
)
def all_freshness():
    for n in range(5):
        yield dg.AssetCheckResult(asset_key=["t", f"t{n}"], check_name="freshness", passed=True)


def test_a_step_checking_many_tables_is_one_short_line():
    specs = [dg.AssetSpec(["t", f"t{n}"]) for n in range(5)]

    @dg.multi_asset(specs=specs)
    def tables():
        for spec in specs:
            yield dg.MaterializeResult(asset_key=spec.key)

    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize([tables, all_freshness], instance=instance)
        entries = instance.all_logs(result.run_id)
    lines = RunProgress().feed(entries)
    assert re.search(
        r"^  freshness checks of 5 tables: checks 5 passed, 0 failed; \d+\.\d s$",
        "\n".join(lines),
        re.M,
    ), lines
