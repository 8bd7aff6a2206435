"""Drift metrics between a reference sample and a current one, numeric or categorical.

Pure functions on numpy and polars (no Dagster, no Delta). The metric names are Lakehouse
Monitoring's: numeric columns get `ks_test` (statistic and p-value), `wasserstein_distance`,
`population_stability_index` and `js_distance`; categorical columns get `chi_squared_test`
(statistic and p-value), `tv_distance`, `l_infinity_distance` and `js_distance`.

Definitions (what the tests hold the code to):

- KS and Wasserstein are scipy's `ks_2samp` (method "auto") and `wasserstein_distance`, computed
  from sorted samples so a reference is sorted once and reused for every window.
- PSI and numeric JS use ten bins cut at the reference's deciles (`np.quantile`, duplicate edges
  dropped); bins are right-closed, `(-inf, e1], (e1, e2], ..., (ek, inf)`. PSI is
  `sum((c - r) * ln(c / r))` over bin shares with empty shares replaced by `PSI_EPSILON`.
- JS distance is `sqrt` of the Jensen-Shannon divergence in base 2 (in [0, 1]), as scipy's
  `jensenshannon(r, c, base=2)`.
- chi-squared is the test of homogeneity on the 2 x k table of counts (scipy's
  `chi2_contingency(table, correction=False)`); TV is half the L1 distance of the shares and
  L-infinity their largest absolute difference.
- Nulls, NaN and infinities are left out of the distributions; `percent_null_delta` reports them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from mlplatform.catalog.schemas import METRIC_SCHEMA, TEST_STRUCT  # noqa: F401

QUANTILE_BINS = 10
PSI_EPSILON = 1e-4
EXACT_KS_MAX_N = 10_000
"""scipy's `ks_2samp` computes the exact p-value up to this sample size ("auto"), then Smirnov's
asymptotic one; so do we."""
MAX_CATEGORIES = 20
"""An integer column with at most this many distinct values is categorical."""

NUMERIC, CATEGORICAL = "numeric", "categorical"


def column_kind(series: pl.Series, max_categories: int = MAX_CATEGORIES) -> str:
    """`categorical` for text, categorical, boolean and low-cardinality integer columns, else
    `numeric`.

    Raises:
        TypeError: a column that is neither (dates, lists...).
    """
    dtype = series.dtype
    if dtype in (pl.String, pl.Categorical, pl.Boolean) or isinstance(dtype, pl.Enum):
        return CATEGORICAL
    if dtype.is_integer():
        return CATEGORICAL if series.n_unique() <= max_categories else NUMERIC
    if dtype.is_float() or dtype.is_decimal():
        return NUMERIC
    raise TypeError(f"column {series.name!r} of type {dtype} is neither numeric nor categorical")


@dataclass(frozen=True)
class NumericReference:
    """A numeric sample prepared for comparisons: sorted finite values and decile bins."""

    values: np.ndarray  # sorted, finite
    total: int  # rows, nulls and non-finite values included
    edges: np.ndarray  # inner bin edges (the deciles, unique)
    shares: np.ndarray  # share of `values` in each bin

    kind = NUMERIC

    @classmethod
    def of(cls, values: pl.Series | np.ndarray, bins: int = QUANTILE_BINS) -> NumericReference:
        """Prepare `values` (a polars series or numpy array; nulls and NaN allowed)."""
        array = finite(values)
        total = len(values)
        array.sort()
        if array.size:
            edges = np.unique(np.quantile(array, np.arange(1, bins) / bins))
        else:
            edges = np.empty(0)
        return cls(array, total, edges, bin_shares(array, edges))

    @property
    def null_fraction(self) -> float:
        return 1.0 - self.values.size / self.total if self.total else 0.0


@dataclass(frozen=True)
class CategoricalReference:
    """A categorical sample prepared for comparisons: the count of each value."""

    counts: dict[str, int]
    total: int  # rows, nulls included

    kind = CATEGORICAL

    @classmethod
    def of(cls, values: pl.Series) -> CategoricalReference:
        """Count the values of `values` (compared as text; nulls left out)."""
        text = values.cast(pl.String).drop_nulls()
        counted = text.value_counts(name="n")
        counts = dict(zip(counted[text.name].to_list(), counted["n"].to_list(), strict=True))
        return cls(counts, len(values))

    @property
    def null_fraction(self) -> float:
        return 1.0 - sum(self.counts.values()) / self.total if self.total else 0.0


Reference = NumericReference | CategoricalReference


def reference(values: pl.Series, kind: str | None = None) -> Reference:
    """Prepare a reference sample of the right kind (by dtype when `kind` is None)."""
    kind = kind or column_kind(values)
    return NumericReference.of(values) if kind == NUMERIC else CategoricalReference.of(values)


def finite(values: pl.Series | np.ndarray) -> np.ndarray:
    """The finite values as a new float64 array (nulls, NaN and infinities dropped)."""
    if isinstance(values, pl.Series):
        array = values.cast(pl.Float64).to_numpy()
    else:
        array = np.asarray(values, dtype=np.float64)
    return array[np.isfinite(array)]


def bin_shares(sorted_values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Share of sorted values in the right-closed bins cut at `edges` (all zero when empty)."""
    cuts = np.searchsorted(sorted_values, edges, side="right")
    counts = np.diff(np.concatenate(([0], cuts, [sorted_values.size])))
    return counts / sorted_values.size if sorted_values.size else counts.astype(np.float64)


def psi(ref_shares: np.ndarray, cur_shares: np.ndarray, epsilon: float = PSI_EPSILON) -> float:
    """Population stability index of two share vectors (empty shares become `epsilon`)."""
    r = np.maximum(ref_shares, epsilon)
    c = np.maximum(cur_shares, epsilon)
    return float(np.sum((c - r) * np.log(c / r)))


def js_distance(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon distance in base 2 of two (not necessarily normalized) distributions."""
    from scipy.spatial.distance import jensenshannon  # imported on use (slow to import)

    return float(jensenshannon(np.asarray(p, np.float64), np.asarray(q, np.float64), base=2))


def ks_and_wasserstein(ref: np.ndarray, cur: np.ndarray) -> tuple[float, float, float]:
    """KS statistic, its p-value and the Wasserstein distance of two sorted, non-empty samples."""
    n1, n2 = ref.size, cur.size
    merged = np.sort(np.concatenate([ref, cur]), kind="stable")  # two sorted runs: a merge
    cdf1 = np.searchsorted(ref, merged[:-1], side="right") / n1
    cdf2 = np.searchsorted(cur, merged[:-1], side="right") / n2
    diff = cdf1 - cdf2
    wasserstein = float(np.vecdot(np.abs(diff), np.diff(merged)))
    from scipy import stats  # imported on use: scipy.stats costs 1.5 s when definitions load

    if max(n1, n2) <= EXACT_KS_MAX_N:
        result = stats.ks_2samp(ref, cur)
        return float(result.statistic), float(result.pvalue), wasserstein
    # at the last point both CDFs are 1, so the differences above hold the statistic
    d = float(max(diff.max(initial=0.0), np.clip(-diff.min(initial=0.0), 0, 1)))
    m, n = sorted([float(n1), float(n2)], reverse=True)
    pvalue = float(np.clip(stats.distributions.kstwo.sf(d, np.round(m * n / (m + n))), 0, 1))
    return d, pvalue, wasserstein


def _empty_metrics(count: int, count_cmp: int) -> dict:
    return {name: None for name in METRIC_SCHEMA} | {"count": count, "count_cmp": count_cmp}


def numeric_drift(ref: NumericReference, current: pl.Series | np.ndarray) -> dict:
    """Drift metrics of a numeric column (`current` against the reference)."""
    cur = finite(current)
    cur.sort()
    out = _empty_metrics(cur.size, ref.values.size)
    cur_null = 1.0 - cur.size / len(current) if len(current) else 0.0
    out["percent_null_delta"] = 100.0 * (cur_null - ref.null_fraction)
    if not cur.size or not ref.values.size:
        return out
    d, pvalue, wasserstein = ks_and_wasserstein(ref.values, cur)
    shares = bin_shares(cur, ref.edges)
    return out | {
        "avg_delta": float(cur.mean() - ref.values.mean()),
        "ks_test": {"statistic": d, "pvalue": pvalue},
        "wasserstein_distance": wasserstein,
        "population_stability_index": psi(ref.shares, shares),
        "js_distance": js_distance(ref.shares, shares),
    }


def categorical_drift(ref: CategoricalReference, current: pl.Series) -> dict:
    """Drift metrics of a categorical column (`current` against the reference)."""
    cur = CategoricalReference.of(current)
    out = _empty_metrics(sum(cur.counts.values()), sum(ref.counts.values()))
    out["percent_null_delta"] = 100.0 * (cur.null_fraction - ref.null_fraction)
    if not out["count"] or not out["count_cmp"]:
        return out
    categories = sorted(set(ref.counts) | set(cur.counts))
    table = np.array(
        [[ref.counts.get(c, 0) for c in categories], [cur.counts.get(c, 0) for c in categories]],
        dtype=np.float64,
    )
    statistic, pvalue = chi_squared(table)
    r, c = table[0] / table[0].sum(), table[1] / table[1].sum()
    return out | {
        "chi_squared_test": {"statistic": statistic, "pvalue": pvalue},
        "tv_distance": float(0.5 * np.abs(r - c).sum()),
        "l_infinity_distance": float(np.abs(r - c).max()),
        "js_distance": js_distance(r, c),
    }


def chi_squared(table: np.ndarray) -> tuple[float, float]:
    """Pearson's chi-squared test of homogeneity of a 2 x k table of counts (no correction)."""
    if table.shape[1] < 2:
        return 0.0, 1.0
    from scipy.stats import chi2_contingency  # imported on use (slow to import)

    result = chi2_contingency(table, correction=False)
    return float(result.statistic), float(result.pvalue)


def drift(ref: Reference, current: pl.Series) -> dict:
    """Drift metrics of `current` against a prepared reference of either kind."""
    if ref.kind == NUMERIC:
        return numeric_drift(ref, current)
    return categorical_drift(ref, current)


def drift_table(
    reference_frame: pl.DataFrame, current: pl.DataFrame, columns: list[str] | None = None
) -> pl.DataFrame:
    """Drift of each column of `current` against `reference_frame` (kinds by dtype).

    Returns:
        One row per column: `column_name`, `kind`, then the columns of `METRIC_SCHEMA`.
    """
    rows = []
    for name in columns or reference_frame.columns:
        ref = reference(reference_frame[name])
        rows.append({"column_name": name, "kind": ref.kind, **drift(ref, current[name])})
    schema = {"column_name": pl.String, "kind": pl.String, **METRIC_SCHEMA}
    return pl.DataFrame(rows, schema=schema, orient="row")
