"""Data drift: compare each column of a current window with the reference.

Methods (all computed for every column; one of them decides):

========== ============ ============================================= =================
method     column kind  statistic                                     drifted when
========== ============ ============================================= =================
ks         numeric      two-sample Kolmogorov-Smirnov p-value          p (BH) < 0.05
wasserstein numeric     Wasserstein-1 / reference std ("normed")       >= 0.1
psi        both         Population Stability Index, 10 quantile bins  >= 0.2
js         both         Jensen-Shannon distance (natural log)         >= 0.1
chi2       categorical  chi-square homogeneity test p-value            p (BH) < 0.05
========== ============ ============================================= =================

``method="auto"`` (the default) picks a test when the smaller of the two samples has at most
``small_sample`` (1000) values, where a p-value is meaningful, and an effect size above that,
because with many rows every negligible difference is "significant": ``ks`` then
``wasserstein`` for numbers, ``chi2`` then ``js`` for categories. The p-values of all tested
columns are adjusted together with Benjamini-Hochberg (``fdr=True``), so the expected share of
false alarms among flagged columns stays at the threshold. ``drift_share`` is the share of
compared columns that drifted; the dataset drifted when it reaches ``share_threshold`` (0.5).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shipyard.entities._ids import utc_now
from shipyard.errors import InvalidArgumentError
from shipyard.monitoring import _stats
from shipyard.monitoring._deps import need
from shipyard.monitoring._frames import (
    NUMERIC,
    category_counts,
    numeric_values,
    to_frame,
)
from shipyard.monitoring._reference import (
    OTHER,
    CategoricalReference,
    NumericReference,
    ReferenceProfile,
    _parallel,
)

METHODS = ("ks", "wasserstein", "psi", "js", "chi2")
TESTS = ("ks", "chi2")
"""Methods whose score is a p-value (drifted below the threshold)."""
DEFAULT_THRESHOLDS: dict[str, float] = {
    "ks": 0.05, "chi2": 0.05, "wasserstein": 0.1, "psi": 0.2, "js": 0.1,
}
SMALL_SAMPLE = 1000
SHARE_THRESHOLD = 0.5
UNSEEN = "__unseen__"
RARE = "__rare__"
MIN_EXPECTED = 5.0
_NUMERIC_METHODS = ("ks", "wasserstein", "psi", "js")
_CATEGORICAL_METHODS = ("chi2", "psi", "js")
_CHART_CATEGORIES = 15


@dataclass(frozen=True, slots=True, kw_only=True)
class ColumnDrift:
    """The drift result of one column.

    ``score`` is what decided: a (Benjamini-Hochberg adjusted) p-value for ``ks``/``chi2``,
    else the distance. ``drifted`` is None when a side has no values. ``stats`` holds every
    statistic computed for the column; ``chart`` the binned counts of both sides."""

    column: str
    kind: str
    method: str
    score: float | None
    threshold: float
    drifted: bool | None
    p_value: float | None = None
    stats: dict[str, float | None] = field(default_factory=dict)
    n_reference: int = 0
    n_current: int = 0
    missing_reference: float = 0.0
    missing_current: float = 0.0
    reference_summary: dict[str, Any] = field(default_factory=dict)
    current_summary: dict[str, Any] = field(default_factory=dict)
    chart: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column, "kind": self.kind, "method": self.method,
            "score": self.score, "threshold": self.threshold, "drifted": self.drifted,
            "p_value": self.p_value, "stats": dict(self.stats),
            "n_reference": self.n_reference, "n_current": self.n_current,
            "missing_reference": self.missing_reference,
            "missing_current": self.missing_current,
            "reference": dict(self.reference_summary), "current": dict(self.current_summary),
            "chart": self.chart, "note": self.note,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class DriftReport:
    """Per-column drift and the dataset-level share. ``to_dict``/``to_json`` for scripts,
    ``to_frame`` for a pandas table, ``values`` for a monitor's time series."""

    columns: tuple[ColumnDrift, ...]
    n_reference: int
    n_current: int
    share_threshold: float = SHARE_THRESHOLD
    options: dict[str, Any] = field(default_factory=dict)
    created_at: datetime = field(default_factory=utc_now)

    @property
    def compared(self) -> list[ColumnDrift]:
        return [c for c in self.columns if c.drifted is not None]

    @property
    def drifted_columns(self) -> list[str]:
        return [c.column for c in self.columns if c.drifted]

    @property
    def drift_share(self) -> float:
        compared = self.compared
        return len(self.drifted_columns) / len(compared) if compared else 0.0

    @property
    def dataset_drift(self) -> bool:
        return bool(self.compared) and self.drift_share >= self.share_threshold

    def __getitem__(self, column: str) -> ColumnDrift:
        for col in self.columns:
            if col.column == column:
                return col
        msg = f"The drift report has no column {column!r}."
        raise KeyError(msg)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "drift", "created_at": self.created_at.isoformat(),
            "n_reference": self.n_reference, "n_current": self.n_current,
            "drift_share": self.drift_share, "drifted_columns": self.drifted_columns,
            "n_columns": len(self.compared), "dataset_drift": self.dataset_drift,
            "share_threshold": self.share_threshold, "options": self.options,
            "columns": [c.to_dict() for c in self.columns],
        }

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(_json_safe(self.to_dict()), **kwargs)

    def to_frame(self) -> Any:
        """One row per column: method, score, threshold, drifted and every statistic."""
        pd = need("pandas")
        rows = []
        for c in self.columns:
            rows.append({"column": c.column, "kind": c.kind, "method": c.method,
                         "score": c.score, "threshold": c.threshold, "drifted": c.drifted,
                         "p_value": c.p_value, **c.stats, "n_reference": c.n_reference,
                         "n_current": c.n_current, "missing_reference": c.missing_reference,
                         "missing_current": c.missing_current})
        return pd.DataFrame(rows)

    def values(self, prefix: str = "drift") -> dict[str, float | None]:
        """Flat values for a monitor: ``drift_share``, ``<prefix>.<column>.<stat>`` ..."""
        share_key = "drift_share" if prefix == "drift" else f"{prefix}_share"
        out: dict[str, float | None] = {
            share_key: self.drift_share,
            f"{prefix}.drifted_columns": float(len(self.drifted_columns)),
            f"{prefix}.dataset_drift": float(self.dataset_drift),
        }
        for c in self.columns:
            base = f"{prefix}.{c.column}"
            out[f"{base}.score"] = c.score
            out[f"{base}.drifted"] = None if c.drifted is None else float(c.drifted)
            for key, value in c.stats.items():
                out[f"{base}.{key}"] = value
        return out


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


# -- options ------------------------------------------------------------------------------
def _resolve_method(column: str, kind: str, method: str | Mapping[str, str], n1: int, n2: int,
                    small_sample: int) -> str:
    chosen = method.get(column, "auto") if isinstance(method, Mapping) else method
    if chosen == "auto":
        small = min(n1, n2) <= small_sample
        if kind == NUMERIC:
            return "ks" if small else "wasserstein"
        return "chi2" if small else "js"
    allowed = _NUMERIC_METHODS if kind == NUMERIC else _CATEGORICAL_METHODS
    if chosen not in allowed:
        msg = (f"Drift method {chosen!r} does not apply to {kind} column {column!r}; "
               f"use one of {['auto', *allowed]}.")
        raise InvalidArgumentError(msg)
    return chosen


def _threshold(column: str, method: str, thresholds: Mapping[str, float]) -> float:
    if column in thresholds:
        return float(thresholds[column])
    if method in thresholds:
        return float(thresholds[method])
    return DEFAULT_THRESHOLDS[method]


def check_options(method: str | Mapping[str, str], thresholds: Mapping[str, float] | None,
                  share_threshold: float) -> None:
    """Validate the options shared by `drift_report` and monitors."""
    methods = method.values() if isinstance(method, Mapping) else [method]
    for m in methods:
        if m != "auto" and m not in METHODS:
            msg = f"Unknown drift method {m!r}; use one of {['auto', *METHODS]}."
            raise InvalidArgumentError(msg)
    for key, value in (thresholds or {}).items():
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            msg = f"The drift threshold for {key!r} must be a number >= 0. Got {value!r}."
            raise InvalidArgumentError(msg)
    if not 0 < share_threshold <= 1:
        msg = f"share_threshold must be in (0, 1]. Got {share_threshold!r}."
        raise InvalidArgumentError(msg)


# -- per-column computation ----------------------------------------------------------------
def _numeric_drift(ref: NumericReference, values: Any, *, decides: bool) -> dict[str, Any]:
    np = need("numpy")
    cur = np.sort(values)  # NaN (missing) sorts last
    n2 = int(np.searchsorted(cur, np.nan, side="left")) if cur.size else 0
    cur = cur[:n2]
    out: dict[str, Any] = {"n_current": n2, "missing": int(values.size - n2)}
    if n2 == 0 or ref.count == 0 or ref.sample is None or ref.sample.size == 0:
        return out
    finite = cur
    prefix, center = ref.prefix_sums() if 8 * n2 <= ref.sample.size else (None, None)
    stat, distance = _stats.ks_wasserstein(ref.sample, cur, prefix=prefix, center=center)
    # SciPy's exact p-value only where the test decides; an informing p-value is asymptotic
    samples = {"ref": ref.values, "cur": finite} if ref.exact and decides else {}
    stat, pvalue = _stats.ks_pvalue(stat, ref.count, n2, decides=decides, **samples)
    norm = max(ref.std or 0.0, 1e-3)
    cur_props = _stats.proportions(_stats.bin_counts_sorted(cur, ref.bin_edges))
    out["stats"] = {
        "ks": stat, "ks_pvalue": pvalue, "wasserstein": distance,
        "wasserstein_normed": distance / norm,
        "psi": _stats.psi(ref.bin_props, cur_props),
        "js": _stats.jensen_shannon(ref.bin_props, cur_props),
    }
    edges = ref.hist_edges
    chart: dict[str, Any] = {"type": "histogram", "edges": [], "reference": [], "current": []}
    if edges is not None and edges.size:
        cuts = np.searchsorted(cur, edges[1:-1], side="left")
        counts = np.diff(np.concatenate([[0], cuts, [n2]])).astype(np.float64)
        below = int(np.searchsorted(cur, edges[0], side="left"))
        above = int(n2 - np.searchsorted(cur, edges[-1], side="right"))
        counts[0] -= below
        counts[-1] -= above
        chart = {"type": "histogram", "edges": [float(e) for e in edges],
                 "reference": _props(ref.hist_counts), "current": _props(counts, n2),
                 "current_below": below / n2, "current_above": above / n2}
    out["chart"] = chart
    out["summary"] = {"mean": float(cur.mean()), "std": float(cur.std()),
                      "min": float(cur[0]), "max": float(cur[-1])}
    return out


def _props(counts: Any, total: float | None = None) -> list[float]:
    denom = float(total if total is not None else sum(counts))
    return [float(c) / denom if denom > 0 else 0.0 for c in counts]


def category_table(ref: CategoricalReference, cur_counts: Mapping[str, int]
                   ) -> tuple[list[str], list[float], list[float]]:
    """Aligned (labels, reference counts, current counts): reference categories first, then
    ``__other__`` when the reference pooled some, then ``__unseen__`` for current values the
    reference never had (pooled into ``__other__`` instead when the reference is truncated,
    since they may be among its pooled categories)."""
    labels = list(ref.counts)
    ref_vec = [ref.counts[k] for k in labels]
    cur_vec = [float(cur_counts.get(k, 0)) for k in labels]
    unseen = float(sum(v for k, v in cur_counts.items() if k not in ref.counts))
    if ref.truncated:
        labels.append(OTHER)
        ref_vec.append(ref.other)
        cur_vec.append(unseen)
    elif unseen:
        labels.append(UNSEEN)
        ref_vec.append(0.0)
        cur_vec.append(unseen)
    return labels, ref_vec, cur_vec


def pool_rare(ref_vec: Sequence[float], cur_vec: Sequence[float]
              ) -> tuple[list[float], list[float]]:
    """Merge the columns whose expected count is below 5 in either row into one, so the
    chi-square approximation holds (Cochran's rule); tables without such columns are
    returned unchanged."""
    n_ref, n_cur = float(sum(ref_vec)), float(sum(cur_vec))
    total = n_ref + n_cur
    if total <= 0:
        return list(ref_vec), list(cur_vec)
    keep_r, keep_c, pool_r, pool_c, pooled = [], [], 0.0, 0.0, 0
    for r, c in zip(ref_vec, cur_vec, strict=True):
        col = r + c
        if min(col * n_ref / total, col * n_cur / total) < MIN_EXPECTED:
            pool_r += r
            pool_c += c
            pooled += 1
        else:
            keep_r.append(r)
            keep_c.append(c)
    if pooled:
        keep_r.append(pool_r)
        keep_c.append(pool_c)
    return keep_r, keep_c


def _categorical_drift(ref: CategoricalReference, series: Any) -> dict[str, Any]:
    counts, missing = category_counts(series)
    n2 = int(sum(counts.values()))
    out: dict[str, Any] = {"n_current": n2, "missing": missing}
    if n2 == 0 or ref.count == 0:
        return out
    labels, ref_vec, cur_vec = category_table(ref, counts)
    ref_props, cur_props = _stats.proportions(ref_vec), _stats.proportions(cur_vec)
    chi2, pvalue, dof = _stats.chi2_homogeneity(*pool_rare(ref_vec, cur_vec))
    unseen = sum(v for k, v in counts.items() if k not in ref.counts)
    out["stats"] = {"chi2": chi2, "chi2_pvalue": pvalue, "chi2_dof": float(dof),
                    "psi": _stats.psi(ref_props, cur_props),
                    "js": _stats.jensen_shannon(ref_props, cur_props),
                    "unseen_share": unseen / n2}
    order = sorted(range(len(labels)), key=lambda i: -max(ref_props[i], cur_props[i]))
    shown = order[:_CHART_CATEGORIES]
    rest = order[_CHART_CATEGORIES:]
    chart: dict[str, Any] = {"type": "categories", "labels": [labels[i] for i in shown],
                             "reference": [float(ref_props[i]) for i in shown],
                             "current": [float(cur_props[i]) for i in shown]}
    if rest:
        chart["labels"].append(f"({len(rest)} more)")
        chart["reference"].append(float(sum(ref_props[i] for i in rest)))
        chart["current"].append(float(sum(cur_props[i] for i in rest)))
    out["chart"] = chart
    top = sorted(counts.items(), key=lambda kv: -kv[1])[:5]
    out["summary"] = {"categories": len(counts), "top": {k: v / n2 for k, v in top}}
    return out


def _reference_summary(ref: NumericReference | CategoricalReference) -> dict[str, Any]:
    if isinstance(ref, NumericReference):
        return {"mean": ref.mean, "std": ref.std, "min": ref.min, "max": ref.max,
                "exact": ref.exact, "approximate": ref.approximate}
    total = ref.count or 1
    top = sorted(ref.counts.items(), key=lambda kv: -kv[1])[:5]
    return {"categories": len(ref.counts), "top": {k: v / total for k, v in top},
            "truncated": ref.truncated}


# -- the report ---------------------------------------------------------------------------
def drift_report(reference: Any, current: Any, *, columns: list[str] | None = None,
                 categorical: Sequence[str] = (), numeric: Sequence[str] = (),
                 method: str | Mapping[str, str] = "auto",
                 thresholds: Mapping[str, float] | None = None,
                 small_sample: int = SMALL_SAMPLE, fdr: bool = True,
                 share_threshold: float = SHARE_THRESHOLD,
                 threads: int | None = None) -> DriftReport:
    """Compare ``current`` with ``reference`` column by column.

    ``reference``: a DataFrame (or pyarrow Table, dict of columns, .parquet/.csv path), a
    `ReferenceProfile`, or a profile dict/JSON file (a model version's
    ``reference_profile.json`` works). ``current``: a DataFrame or the same kinds of data.
    ``columns`` defaults to the reference's columns that the current data has.

    ``method``: ``"auto"`` or one of ``ks``, ``wasserstein``, ``psi``, ``js``, ``chi2``, for
    every column or as ``{column: method}``. ``thresholds``: ``{column or method: value}``
    (p-value level for ks/chi2, minimum distance for the others). ``fdr``: adjust test
    p-values across columns with Benjamini-Hochberg.
    """
    check_options(method, thresholds, share_threshold)
    profile = ReferenceProfile.load(reference, columns=columns, categorical=list(categorical),
                                    numeric=list(numeric), threads=threads)
    frame = to_frame(current, what="current")
    present = {str(c) for c in frame.columns}
    names = columns if columns is not None else [n for n in profile.names if n in present]
    missing = [n for n in names if n not in profile.columns or n not in present]
    if missing:
        msg = f"Columns {missing!r} are missing from the reference or the current data."
        raise InvalidArgumentError(msg, hint="pass columns= with names both sides have")

    def compute(name: str) -> dict[str, Any]:
        ref = profile.columns[name]
        if isinstance(ref, NumericReference):
            values = numeric_values(frame[name])
            chosen = method.get(name, "auto") if isinstance(method, Mapping) else method
            decides = chosen == "ks" or (chosen == "auto" and min(ref.count, values.size)
                                         <= small_sample)
            return _numeric_drift(ref, values, decides=decides)
        return _categorical_drift(ref, frame[name])

    results = _parallel(compute, names, threads)
    return assemble(profile, names, results, n_current=len(frame), method=method,
                    thresholds=thresholds or {}, small_sample=small_sample, fdr=fdr,
                    share_threshold=share_threshold)


def assemble(profile: ReferenceProfile, names: list[str], results: list[dict[str, Any]], *,
             n_current: int, method: str | Mapping[str, str], thresholds: Mapping[str, float],
             small_sample: int, fdr: bool, share_threshold: float) -> DriftReport:
    """Pick each column's method, adjust p-values across columns and decide."""
    chosen: list[tuple[str, str, float | None]] = []
    for name, res in zip(names, results, strict=True):
        ref = profile.columns[name]
        m = _resolve_method(name, ref.kind, method, ref.count, res["n_current"], small_sample)
        stats = res.get("stats")
        raw = None if stats is None else stats[f"{m}_pvalue" if m in TESTS else (
            "wasserstein_normed" if m == "wasserstein" else m)]
        chosen.append((name, m, raw))
    tested = {i: raw for i, (_, m, raw) in enumerate(chosen) if m in TESTS and raw is not None}
    pvalues = list(tested.values())
    adjusted = dict(zip(tested, _stats.benjamini_hochberg(pvalues) if fdr else pvalues,
                        strict=True))
    out = []
    for i, ((name, m, raw), res) in enumerate(zip(chosen, results, strict=True)):
        ref = profile.columns[name]
        threshold = _threshold(name, m, thresholds)
        score = adjusted.get(i, raw)
        if score is None:
            drifted = None
        elif m in TESTS:
            drifted = bool(score < threshold)
        else:
            drifted = bool(score >= threshold)
        n_cur_rows = res["n_current"] + res["missing"]
        ref_rows = ref.count + ref.missing
        out.append(ColumnDrift(
            column=name, kind=ref.kind, method=m, score=score, threshold=threshold,
            drifted=drifted, p_value=raw if m in TESTS else None,
            stats=res.get("stats", {}), n_reference=ref.count, n_current=res["n_current"],
            missing_reference=ref.missing / ref_rows if ref_rows else 0.0,
            missing_current=res["missing"] / n_cur_rows if n_cur_rows else 0.0,
            reference_summary=_reference_summary(ref), current_summary=res.get("summary", {}),
            chart=res.get("chart", {}),
            note="" if drifted is not None else "no values on one side"))
    options = {"method": dict(method) if isinstance(method, Mapping) else method,
               "thresholds": dict(thresholds), "small_sample": small_sample, "fdr": fdr,
               "reference_source": profile.source}
    return DriftReport(columns=tuple(out), n_reference=profile.num_rows, n_current=n_current,
                       share_threshold=share_threshold, options=options)
