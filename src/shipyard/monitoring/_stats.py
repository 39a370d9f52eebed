"""Statistical kernels for drift, written for one vectorised pass over a window.

Every function takes plain numpy arrays (or counts) and returns floats. The reference side
arrives already sorted (a reference profile keeps it that way), so a window costs one sort of
the current values plus linear work:

* `ks_wasserstein` merges the two sorted samples once and reads both the two-sample
  Kolmogorov-Smirnov statistic and the Wasserstein-1 distance off the merged empirical CDFs.
  The arithmetic mirrors ``scipy.stats.ks_2samp`` (``searchsorted(..., side="right") / n``)
  and ``scipy.stats.wasserstein_distance`` (sum of ``|F1 - F2| * gap``), so the statistic is
  the same to the last bit and the distance agrees to rounding.
* `ks_pvalue` is SciPy's: the exact distribution when both samples are in hand and at most
  10,000 values each (what ``ks_2samp(method="auto")`` does), else Smirnov's asymptotic
  ``kstwo.sf(d, round(n1 n2 / (n1 + n2)))``.
* `psi` and `jensen_shannon` work on bin proportions; `chi2_homogeneity` is
  ``scipy.stats.chi2_contingency`` on the 2 x k table of counts.

numpy and scipy are imported inside the functions, so importing this module is free.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]

PSI_EPSILON = 1e-4
"""Proportions below this are raised to it before the PSI logarithm (zero bins are common)."""
EXACT_KS_MAX_N = 10_000
"""SciPy's ``ks_2samp(method="auto")`` computes the exact p-value up to this size."""


def ks_wasserstein(ref_sorted: FloatArray, cur_sorted: FloatArray, *,
                   prefix: FloatArray | None = None,
                   center: float | None = None) -> tuple[float, float]:
    """The two-sample KS statistic and the Wasserstein-1 distance of two sorted samples.

    Both arrays must be sorted ascending, finite and non-empty. Same results as
    ``scipy.stats.ks_2samp(...).statistic`` and ``scipy.stats.wasserstein_distance`` (to
    rounding). A window at most an eighth of its reference searches the reference
    (`ks_wasserstein_search`, O(n2 log n1): the cost follows the window); otherwise the two
    samples are merged (`ks_wasserstein_merge`, O(n1 + n2)).
    """
    if 8 * cur_sorted.size <= ref_sorted.size:
        return ks_wasserstein_search(ref_sorted, cur_sorted, prefix=prefix, center=center)
    return ks_wasserstein_merge(ref_sorted, cur_sorted)


def ks_wasserstein_merge(ref_sorted: FloatArray,
                         cur_sorted: FloatArray) -> tuple[float, float]:
    """KS statistic and Wasserstein-1 distance by merging the two samples: O(n1 + n2).

    One stable merge of the two sorted runs (linear: the sort finds the two runs) gives, at
    every merged point, the counts ``c1`` and ``c2`` of each sample at or below it;
    ``n1 n2 (F1 - F2) = c1 n2 - c2 n1`` is then an exact integer (held in float64, exact
    below 2**53). The statistic is its largest magnitude at the last point of each tie group
    (SciPy's ``side="right"`` ECDFs), the distance the sum of its magnitude times the gap to
    the next point (zero-width gaps of ties add nothing), as
    ``scipy.stats.wasserstein_distance`` sums it.
    """
    import numpy as np

    n1, n2 = int(ref_sorted.size), int(cur_sorted.size)
    merged = np.concatenate([ref_sorted, cur_sorted])
    order = np.argsort(merged, kind="stable")
    merged = merged[order]
    # n1 n2 (F1 - F2) = c1 n2 - c2 n1: +n2 at each reference point, -n1 at each current one
    num = np.where(order < n1, float(n2), float(-n1))
    del order
    np.cumsum(num, out=num)
    np.abs(num, out=num)
    gaps = np.diff(merged)
    del merged
    scale = float(n1) * float(n2)
    stat = float(np.max(num[:-1], where=gaps > 0, initial=float(num[-1]))) / scale
    gaps *= num[:-1]  # not np.dot: BLAS threads cost more than they save here
    distance = float(gaps.sum()) / scale
    return stat, distance


def ks_wasserstein_search(ref_sorted: FloatArray, cur_sorted: FloatArray, *,
                          prefix: FloatArray | None = None,
                          center: float | None = None) -> tuple[float, float]:
    """KS statistic and Wasserstein-1 distance by searching the current values in the
    reference: O(n2 log n1), for a window much smaller than its reference.

    ``prefix`` are the cumulative sums of ``ref_sorted - center`` (``[0, r0, r0 + r1, ...]``;
    a reference profile keeps them). The KS statistic is read at each current value and just
    before it (exact integers ``|c1 n2 - c2 n1|``); the distance integrates ``|F1 - F2|``
    between consecutive current values in closed form from the prefix sums, splitting an
    interval where the reference ECDF crosses the current one. Values are centred first so
    the sums keep their precision.
    """
    import numpy as np

    n1, n2 = int(ref_sorted.size), int(cur_sorted.size)
    rs, cs = ref_sorted, cur_sorted
    if prefix is None or center is None:
        center = float(rs[n1 // 2])
        prefix = np.concatenate(([0.0], np.cumsum(rs - center)))
    right = np.searchsorted(rs, cs, side="right")
    prev = rs[np.maximum(right - 1, 0)]
    tie = prev == cs
    tie &= right > 0
    if tie.any():
        left = right.copy()
        left[tie] = np.searchsorted(rs, cs[tie], side="left")
    else:
        left = right
    j = np.arange(n2, dtype=np.int64)
    step = cs[1:] != cs[:-1]
    a = right * n2 - (j + 1) * n1
    np.abs(a, out=a)
    b = left * n2 - j * n1
    np.abs(b, out=b)
    d = max(int(a[-1]), int(a[:-1].max(where=step, initial=0)) if n2 > 1 else 0,
            int(b[0]), int(b[1:].max(where=step, initial=0)) if n2 > 1 else 0)
    stat = d / (float(n1) * float(n2))
    c = cs - center
    dist = (left[0] * c[0] - prefix[left[0]]) / n1
    last = right[-1]
    dist += ((prefix[n1] - prefix[last]) - (n1 - last) * c[-1]) / n1
    if n2 > 1:
        lo, hi = c[:-1], c[1:]
        r0, l1 = right[:-1], left[1:]
        level_num = (j[:-1] + 1) * n1  # n1 n2 F2 on the interval, compared in integers
        level = (j[:-1] + 1) / n2
        s_r, s_l = prefix[r0], prefix[l1]
        delta = hi - lo
        area = (r0 * delta + (l1 - r0) * hi - (s_l - s_r)) / n1  # integral of F1
        below = l1 * n2 <= level_num
        above = r0 * n2 >= level_num
        contrib = np.where(below, level * delta - area, area - level * delta)
        cross = np.nonzero(~(below | above))[0]
        if cross.size:
            k = (level_num[cross] + n2 - 1) // n2
            xs = rs[k - 1] - center
            rr, ll, lo_, hi_, lv = r0[cross], l1[cross], lo[cross], hi[cross], level[cross]
            left_area = (rr * (xs - lo_) + (k - 1 - rr) * xs
                         - (prefix[k - 1] - s_r[cross])) / n1
            right_area = (k * (hi_ - xs) + (ll - k) * hi_ - (s_l[cross] - prefix[k])) / n1
            contrib[cross] = lv * (xs - lo_) - left_area + right_area - lv * (hi_ - xs)
        dist += float(contrib.sum())
    return stat, float(dist)


def ks_pvalue(statistic: float, n1: int, n2: int, *, ref: FloatArray | None = None,
              cur: FloatArray | None = None, decides: bool = True) -> tuple[float, float]:
    """Two-sided p-value of a KS statistic, as ``scipy.stats.ks_2samp`` computes it; returns
    ``(statistic, p-value)``.

    With both samples given and ``max(n1, n2) <= 10000`` SciPy's exact method runs on them
    (it reports the statistic rounded to its lattice of ``1/lcm(n1, n2)``, returned here);
    otherwise Smirnov's asymptotic distribution is used (SciPy's ``method="asymp"``).

    SciPy's finite-n asymptotic (``kstwo``) can take a second or more per call when
    ``n1 n2 / (n1 + n2)`` is large and the statistic sits in its tail. When the p-value only
    informs (``decides=False``) and that effective size exceeds 10,000, the limiting
    Kolmogorov distribution ``kstwobign.sf(sqrt(en) d)`` is used instead; it differs from
    ``kstwo`` by well under 1% (relative) at those sizes.
    """
    from scipy import stats

    if ref is not None and cur is not None and max(n1, n2) <= EXACT_KS_MAX_N:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # exact -> asymp fallback notice
            res = stats.ks_2samp(ref, cur)
        return float(res.statistic), float(res.pvalue)
    m, n = sorted([float(n1), float(n2)], reverse=True)
    en = m * n / (m + n)
    if not decides and en > EXACT_KS_MAX_N:
        return statistic, float(stats.kstwobign.sf(math.sqrt(en) * statistic))
    return statistic, float(min(max(stats.kstwo.sf(statistic, round(en)), 0.0), 1.0))


def psi(ref_props: FloatArray, cur_props: FloatArray, *, epsilon: float = PSI_EPSILON) -> float:
    """Population Stability Index ``sum((c - r) * ln(c / r))`` over shared bins.

    Proportions below ``epsilon`` are raised to it (an empty bin would be infinite). Symmetric
    in its arguments; 0 for identical distributions."""
    import numpy as np

    r = np.maximum(np.asarray(ref_props, dtype=np.float64), epsilon)
    c = np.maximum(np.asarray(cur_props, dtype=np.float64), epsilon)
    return float(np.sum((c - r) * np.log(c / r)))


def jensen_shannon(ref_props: FloatArray, cur_props: FloatArray) -> float:
    """Jensen-Shannon *distance* (square root of the divergence, natural log) of two
    distributions over the same bins: ``scipy.spatial.distance.jensenshannon``. 0 when
    equal, at most sqrt(ln 2) ~ 0.833, symmetric."""
    import numpy as np
    from scipy.spatial.distance import jensenshannon

    r = np.asarray(ref_props, dtype=np.float64)
    c = np.asarray(cur_props, dtype=np.float64)
    if r.sum() <= 0 or c.sum() <= 0:
        return 0.0
    value = float(jensenshannon(r, c))
    return 0.0 if math.isnan(value) else value


def chi2_homogeneity(ref_counts: Sequence[float] | FloatArray,
                     cur_counts: Sequence[float] | FloatArray) -> tuple[float, float, int]:
    """Chi-square test of homogeneity on the 2 x k table of reference and current counts:
    ``scipy.stats.chi2_contingency`` (Yates' correction only when k == 2, SciPy's default).

    Both samples are treated as samples (not the reference as known frequencies). Columns
    empty in both rows are dropped; a category seen in only one row is a column like any
    other. Returns (statistic, p-value, degrees of freedom); fewer than two non-empty columns
    means no evidence of a difference (0.0, 1.0, 0)."""
    import numpy as np
    from scipy.stats import chi2_contingency

    table = np.vstack([np.asarray(ref_counts, dtype=np.float64),
                       np.asarray(cur_counts, dtype=np.float64)])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return 0.0, 1.0, 0
    res = chi2_contingency(table)
    return float(res.statistic), float(res.pvalue), int(res.dof)


def benjamini_hochberg(pvalues: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (``scipy.stats.false_discovery_control``):
    reject where adjusted <= alpha to keep the false discovery rate at alpha."""
    if not pvalues:
        return []
    import numpy as np
    from scipy.stats import false_discovery_control

    adjusted = false_discovery_control(np.asarray(pvalues, dtype=np.float64), method="bh")
    return [float(v) for v in np.atleast_1d(adjusted)]


def bin_counts_sorted(sorted_values: FloatArray, inner_edges: FloatArray) -> Any:
    """Counts of a sorted sample in the bins ``(-inf, e1], (e1, e2], ..., (ek, inf)``."""
    import numpy as np

    cuts = np.searchsorted(sorted_values, inner_edges, side="right")
    return np.diff(np.concatenate([[0], cuts, [sorted_values.size]]))


def proportions(counts: Any) -> Any:
    import numpy as np

    arr = np.asarray(counts, dtype=np.float64)
    total = arr.sum()
    return arr / total if total > 0 else arr
