"""Drift metrics against scipy and hand computations; false alarms and detection on drawn data."""

import math
from datetime import date

import numpy as np
import polars as pl
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from mlplatform.monitoring import metrics as m
from mlplatform.monitoring.config import DriftRules
from mlplatform.monitoring.thresholds import breaches
from tests.serving_models import feature_frame

RNG = np.random.default_rng(42)


@pytest.mark.parametrize(
    "n1,n2,shift",
    [(300, 200, 0.0), (300, 200, 0.4), (9000, 800, 0.1), (20000, 700, 0.0), (50000, 3000, 0.05)],
)
def test_ks_and_wasserstein_equal_scipy(n1, n2, shift):
    # exact p-values (both samples <= 10000) and Smirnov's asymptotic ones (above)
    a = RNG.normal(size=n1)
    b = RNG.normal(shift, 1.2, n2)
    out = m.numeric_drift(m.NumericReference.of(a), b)
    ks = stats.ks_2samp(a, b)
    assert out["ks_test"]["statistic"] == ks.statistic
    assert out["ks_test"]["pvalue"] == ks.pvalue
    assert out["wasserstein_distance"] == stats.wasserstein_distance(a, b)
    assert (out["count"], out["count_cmp"]) == (n2, n1)
    assert out["avg_delta"] == pytest.approx(b.mean() - a.mean(), rel=1e-12)


def test_ks_and_wasserstein_with_ties_equal_scipy():
    a = RNG.integers(0, 8, 30000).astype(float)
    b = RNG.integers(1, 9, 2000).astype(float)
    out = m.numeric_drift(m.NumericReference.of(a), b)
    ks = stats.ks_2samp(a, b)
    assert (out["ks_test"]["statistic"], out["ks_test"]["pvalue"]) == (ks.statistic, ks.pvalue)
    assert out["wasserstein_distance"] == stats.wasserstein_distance(a, b)


def test_psi_and_js_by_hand():
    # reference 0..99: deciles cut it into ten bins of 10% each; the current sample sits half in
    # the first bin and half in the last, the other eight are empty (PSI_EPSILON)
    ref = m.NumericReference.of(np.arange(100.0))
    assert ref.shares.tolist() == pytest.approx([0.1] * 10)
    out = m.numeric_drift(ref, np.array([5.0] * 50 + [95.0] * 50))
    eps = 1e-4
    psi = 2 * (0.5 - 0.1) * math.log(0.5 / 0.1) + 8 * (eps - 0.1) * math.log(eps / 0.1)
    assert out["population_stability_index"] == pytest.approx(psi, rel=1e-12)
    # JS: m = (0.3, 0.05 x 8, 0.3); D = 1/2 KL(p||m) + 1/2 KL(q||m) in bits
    kl_p = 2 * 0.1 * math.log2(0.1 / 0.3) + 8 * 0.1 * math.log2(0.1 / 0.05)
    kl_q = 2 * 0.5 * math.log2(0.5 / 0.3)
    assert out["js_distance"] == pytest.approx(math.sqrt((kl_p + kl_q) / 2), rel=1e-12)
    assert out["js_distance"] == pytest.approx(
        jensenshannon([0.1] * 10, [0.5] + [0] * 8 + [0.5], base=2), rel=1e-12
    )


def test_psi_and_js_are_zero_for_the_same_sample():
    a = RNG.lognormal(size=5000)
    out = m.numeric_drift(m.NumericReference.of(a), a)
    assert out["population_stability_index"] == 0.0
    assert out["js_distance"] == 0.0
    assert out["ks_test"]["statistic"] == 0.0 and out["wasserstein_distance"] == 0.0


def test_categorical_metrics_by_hand_and_against_scipy():
    ref = pl.Series("c", ["a"] * 6 + ["b"] * 5 + ["c"] * 5)
    cur = pl.Series("c", ["a", "c", "c", "d", None])  # "d" is new, "b" is gone, one null
    out = m.categorical_drift(m.CategoricalReference.of(ref), cur)
    table = np.array([[6, 5, 5, 0], [1, 0, 2, 1]])
    chi2, p, _, _ = stats.chi2_contingency(table, correction=False)
    assert out["chi_squared_test"]["statistic"] == pytest.approx(chi2, rel=1e-12)
    assert out["chi_squared_test"]["pvalue"] == pytest.approx(p, rel=1e-12)
    r, c = [6 / 16, 5 / 16, 5 / 16, 0], [1 / 4, 0, 2 / 4, 1 / 4]
    assert out["tv_distance"] == pytest.approx(
        0.5 * sum(abs(x - y) for x, y in zip(r, c, strict=True))
    )
    assert out["tv_distance"] == pytest.approx(0.4375)
    assert out["l_infinity_distance"] == pytest.approx(0.3125)  # "b": 5/16 - 0
    assert out["js_distance"] == pytest.approx(jensenshannon(r, c, base=2), rel=1e-12)
    assert (out["count"], out["count_cmp"]) == (4, 16)
    assert out["percent_null_delta"] == pytest.approx(20.0)
    assert out["ks_test"] is None and out["population_stability_index"] is None


def test_single_category_and_empty_samples():
    one = m.categorical_drift(m.CategoricalReference.of(pl.Series(["x"] * 5)), pl.Series(["x"]))
    assert one["chi_squared_test"] == {"statistic": 0.0, "pvalue": 1.0}
    empty = m.numeric_drift(m.NumericReference.of(np.arange(10.0)), pl.Series([None, None]))
    assert empty["count"] == 0 and empty["ks_test"] is None
    assert empty["percent_null_delta"] == pytest.approx(100.0)


def test_nan_and_null_are_left_out():
    ref = m.NumericReference.of(pl.Series([1.0, 2.0, None, float("nan"), 3.0]))
    assert ref.values.tolist() == [1.0, 2.0, 3.0] and ref.null_fraction == pytest.approx(0.4)


def test_column_kind_by_dtype():
    assert m.column_kind(pl.Series(["a", "b"])) == m.CATEGORICAL
    assert m.column_kind(pl.Series([True, False])) == m.CATEGORICAL
    assert m.column_kind(pl.Series(["a"], dtype=pl.Categorical)) == m.CATEGORICAL
    assert m.column_kind(pl.Series([0, 1, 1, 0])) == m.CATEGORICAL
    assert m.column_kind(pl.Series(range(100))) == m.NUMERIC
    assert m.column_kind(pl.Series([0.5, 1.0])) == m.NUMERIC
    with pytest.raises(TypeError, match="neither numeric nor categorical"):
        m.column_kind(pl.Series("d", [date(2026, 1, 1)]))


def test_drift_table_is_generic_over_kinds():
    base = pl.DataFrame({"x": RNG.normal(size=2000), "k": RNG.choice(["u", "v"], 2000)})
    cur = pl.DataFrame({"x": RNG.normal(size=500), "k": RNG.choice(["u", "v"], 500)})
    table = m.drift_table(base, cur)
    assert table["column_name"].to_list() == ["x", "k"]
    assert table["kind"].to_list() == [m.NUMERIC, m.CATEGORICAL]
    assert table.schema["ks_test"] == m.TEST_STRUCT


def _judged(table: pl.DataFrame) -> pl.DataFrame:
    return breaches(
        table.with_columns(
            pl.lit("1 hour").alias("granularity"),
            pl.lit(None, pl.Datetime("us", "UTC")).alias("window_start"),
            pl.lit(None, pl.Datetime("us", "UTC")).alias("window_cmp_start"),
            pl.lit("1").alias("model_version"),
            pl.lit("BASELINE").alias("drift_type"),
        ),
        DriftRules(),
    )


def _with_label(frame: pl.DataFrame, seed: int, p_one: float = 0.3) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    labels = np.where(rng.uniform(size=frame.height) < p_one, "1", "0")
    return frame.with_columns(pl.Series("predicted_label", labels))


BASE = _with_label(pl.from_pandas(feature_frame(20000, seed=0)), seed=0)
REFS = {c: m.reference(BASE[c]) for c in BASE.columns}


def _table(current: pl.DataFrame) -> pl.DataFrame:
    rows = [{"column_name": c, "kind": r.kind, **m.drift(r, current[c])} for c, r in REFS.items()]
    return pl.DataFrame(
        rows, schema={"column_name": pl.String, "kind": pl.String, **m.METRIC_SCHEMA}
    )


def test_false_alarm_rate_on_draws_from_the_baseline_distribution():
    """Windows of 500 and 1000 rows drawn from the baseline's distribution: how many alarm."""
    draws, alarms = 0, 0
    for n in (500, 1000):
        for seed in range(1, 41):
            current = _with_label(pl.from_pandas(feature_frame(n, seed=1000 + seed)), seed)
            draws += 1
            alarms += not _judged(_table(current)).is_empty()
    rate = alarms / draws
    print(f"false alarm rate: {alarms}/{draws} windows = {rate:.1%}")
    assert rate <= 0.025


def test_detects_a_shift_in_one_numeric_and_one_categorical_feature():
    current = pl.from_pandas(feature_frame(1000, seed=7))
    current = _with_label(current, seed=7, p_one=0.5)  # 30% -> 50% predicted churners
    current = current.with_columns(pl.col("avg_amount") * 1.5)
    found = _judged(_table(current))
    assert sorted(set(found["column_name"])) == ["avg_amount", "predicted_label"]
    levels = dict(found.group_by("column_name").agg(pl.col("level").min()).iter_rows())
    assert levels == {"avg_amount": "ERROR", "predicted_label": "ERROR"}
