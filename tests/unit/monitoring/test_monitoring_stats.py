"""The drift statistics agree with SciPy's reference implementations, and have the algebra
they should: zero for identical samples, symmetric where the measure is symmetric."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial.distance import jensenshannon

from shipyard.monitoring import _stats
from shipyard.monitoring._drift import category_table, pool_rare
from shipyard.monitoring._reference import categorical_reference

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
samples = st.lists(finite, min_size=1, max_size=60)
tied = st.lists(st.integers(-3, 3).map(float), min_size=1, max_size=60)


def _scipy_ks(a: object, b: object) -> object:
    with warnings.catch_warnings():  # SciPy notes when its exact method falls back
        warnings.simplefilter("ignore", RuntimeWarning)
        return stats.ks_2samp(a, b)


def _ksw(a: list[float] | np.ndarray, b: list[float] | np.ndarray) -> tuple[float, float]:
    """Both algorithms (merge and search), which must agree with each other."""
    rs, cs = np.sort(np.asarray(a, float)), np.sort(np.asarray(b, float))
    merged = _stats.ks_wasserstein_merge(rs, cs)
    searched = _stats.ks_wasserstein_search(rs, cs)
    assert searched[0] == pytest.approx(merged[0], abs=1e-15)
    assert searched[1] == pytest.approx(merged[1], rel=1e-9, abs=1e-9)
    return merged


@pytest.mark.parametrize("seed", range(30))
def test_ks_and_wasserstein_equal_scipy_on_generated_data(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n1, n2 = int(rng.integers(1, 400)), int(rng.integers(1, 400))
    if seed % 3 == 0:  # heavy ties
        a, b = rng.integers(0, 6, n1).astype(float), rng.integers(0, 7, n2).astype(float)
    else:
        a, b = rng.normal(0, 1, n1), rng.normal(0.3, 1.4, n2)
    d, w = _ksw(a, b)
    ref = _scipy_ks(a, b)  # exact p-value mode rounds d to its 1/lcm lattice
    assert d == pytest.approx(ref.statistic, abs=1e-12)
    assert w == pytest.approx(stats.wasserstein_distance(a, b), rel=1e-12, abs=1e-12)


def test_a_small_window_against_a_large_reference_searches_it() -> None:
    rng = np.random.default_rng(8)
    a, b = rng.normal(1e4, 3, size=300_000), rng.normal(1e4 + 0.5, 3, size=5_000)
    d, w = _stats.ks_wasserstein(np.sort(a), np.sort(b))
    assert d == pytest.approx(stats.ks_2samp(a, b).statistic, abs=1e-15)
    assert w == pytest.approx(stats.wasserstein_distance(a, b), rel=1e-9)


def test_large_samples_agree_with_scipy() -> None:
    rng = np.random.default_rng(7)
    a, b = rng.normal(size=200_000), rng.normal(0.02, 1.05, size=150_000)
    d, w = _ksw(a, b)
    ref = stats.ks_2samp(a, b)
    assert d == pytest.approx(ref.statistic, abs=1e-15)
    assert w == pytest.approx(stats.wasserstein_distance(a, b), rel=1e-10)
    _, p = _stats.ks_pvalue(d, a.size, b.size)  # deciding: SciPy's asymptotic, exactly
    assert p == pytest.approx(ref.pvalue, rel=1e-12)
    _, p_fast = _stats.ks_pvalue(d, a.size, b.size, decides=False)
    assert p_fast == pytest.approx(ref.pvalue, rel=0.02)


@pytest.mark.parametrize(("n1", "n2"), [(30, 40), (500, 500), (2000, 300)])
def test_small_sample_p_values_are_scipys_exact_ones(n1: int, n2: int) -> None:
    rng = np.random.default_rng(n1)
    a, b = rng.normal(size=n1), rng.normal(0.2, 1, size=n2)
    d, _ = _ksw(a, b)
    stat, p = _stats.ks_pvalue(d, n1, n2, ref=np.sort(a), cur=b)
    ref = stats.ks_2samp(a, b)
    assert (stat, p) == (pytest.approx(ref.statistic), pytest.approx(ref.pvalue, rel=1e-12))


def test_chi2_is_scipys_contingency_test() -> None:
    ref, cur = [500, 300, 200], [420, 330, 250]
    chi2, p, dof = _stats.chi2_homogeneity(ref, cur)
    expected = stats.chi2_contingency(np.array([ref, cur]))
    assert (chi2, p, dof) == (pytest.approx(expected.statistic), pytest.approx(expected.pvalue),
                              expected.dof)


def test_chi2_is_a_homogeneity_test_not_goodness_of_fit() -> None:
    """Sampling noise in a small reference must not count as drift the way a goodness-of-fit
    test against reference frequencies taken as exact would count it."""
    ref, cur = [30, 20], [5000, 5000]
    _, p, _ = _stats.chi2_homogeneity(ref, cur)
    gof = stats.chisquare(cur, f_exp=np.array(ref) / 50 * 10_000)
    assert p > 0.1
    assert gof.pvalue < 1e-10


def test_unseen_categories_are_their_own_column() -> None:
    ref = categorical_reference("c", {"a": 600, "b": 400}, 0)
    labels, r, c = category_table(ref, {"a": 300, "b": 200, "new1": 50, "new2": 50})
    assert labels == ["a", "b", "__unseen__"]
    assert (r, c) == ([600.0, 400.0, 0.0], [300.0, 200.0, 100.0])
    chi2, p, dof = _stats.chi2_homogeneity(r, c)
    expected = stats.chi2_contingency(np.array([r, c]))
    assert (chi2, dof) == (pytest.approx(expected.statistic), 2)
    assert p < 1e-10


def test_rare_columns_are_pooled_for_the_chi2_approximation() -> None:
    r, c = pool_rare([1000, 500, 2, 1], [1000, 500, 1, 3])
    assert (r, c) == ([1000, 500, 3.0], [1000, 500, 4.0])
    assert pool_rare([10, 10], [10, 10]) == ([10, 10], [10, 10])


def test_js_and_psi_against_definitions() -> None:
    p, q = np.array([0.5, 0.3, 0.2]), np.array([0.2, 0.3, 0.5])
    assert _stats.jensen_shannon(p, q) == pytest.approx(jensenshannon(p, q))
    assert _stats.psi(p, q) == pytest.approx(float(np.sum((q - p) * np.log(q / p))))
    assert _stats.psi([1.0, 0.0], [0.5, 0.5]) == pytest.approx(
        (0.5 - 1) * np.log(0.5) + (0.5 - 1e-4) * np.log(0.5 / 1e-4))


def test_benjamini_hochberg_is_scipys() -> None:
    ps = [0.01, 0.04, 0.03, 0.2, 0.5]
    assert _stats.benjamini_hochberg(ps) == pytest.approx(
        list(stats.false_discovery_control(ps)))
    assert _stats.benjamini_hochberg([]) == []


@settings(max_examples=40, deadline=None)
@given(samples)
def test_identical_samples_show_no_drift(xs: list[float]) -> None:
    d, w = _ksw(xs, xs)
    assert (d, w) == (0.0, 0.0)
    counts = np.histogram(xs, bins=5)[0].astype(float)
    props = _stats.proportions(counts)
    assert _stats.psi(props, props) == 0.0
    assert _stats.jensen_shannon(props, props) == pytest.approx(0.0, abs=1e-7)
    if len(set(xs)) > 1:
        assert _stats.chi2_homogeneity(counts + 5, counts + 5)[1] == pytest.approx(1.0)


@settings(max_examples=40, deadline=None)
@given(samples, samples)
def test_symmetric_measures_are_symmetric(a: list[float], b: list[float]) -> None:
    assert _ksw(a, b) == (pytest.approx(_ksw(b, a)[0], abs=1e-15),
                          pytest.approx(_ksw(b, a)[1], rel=1e-9, abs=1e-9))


@settings(max_examples=40, deadline=None)
@given(tied, tied)
def test_ties_match_scipy(a: list[float], b: list[float]) -> None:
    d, w = _ksw(a, b)
    assert d == pytest.approx(_scipy_ks(a, b).statistic, abs=1e-12)
    assert w == pytest.approx(stats.wasserstein_distance(a, b), abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0.01, 1.0), min_size=2, max_size=8),
       st.lists(st.floats(0.01, 1.0), min_size=2, max_size=8))
def test_psi_and_js_are_symmetric(p: list[float], q: list[float]) -> None:
    n = min(len(p), len(q))
    pp, qq = _stats.proportions(p[:n]), _stats.proportions(q[:n])
    assert _stats.psi(pp, qq) == pytest.approx(_stats.psi(qq, pp))
    assert _stats.jensen_shannon(pp, qq) == pytest.approx(_stats.jensen_shannon(qq, pp))
