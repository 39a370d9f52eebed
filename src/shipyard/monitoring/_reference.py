"""Reference profiles: everything drift and quality checks need from the reference side,
computed once so each window costs one pass over the current data.

A numeric column keeps either its **sorted values** (built from data: the statistics are then
exact, equal to SciPy's on the same data) or a **quantile grid** of ``m`` equal-weight points
at probabilities ``(i + 0.5) / m`` (read from a stored profile). The grid stands in for the
sample it summarises, with these error bounds (``F`` the reference ECDF, ``n`` its size)::

    |KS(grid) - KS(exact)|                  <= 1 / (2m) + 1 / n
    |Wasserstein(grid) - Wasserstein(exact)| <= (max - min) / m      (typically far less)

so with the default ``m = 512`` the KS statistic is within 0.001 + 1/n. Both kinds also keep
mean, std, min, max, the quantile bins used by PSI and Jensen-Shannon (10 bins of equal
reference mass), and a 20-bin histogram for charts. A categorical column keeps its value
counts (the ``max_categories`` most frequent; the rest pooled as ``__other__``).

The JSON form (`ReferenceProfile.to_dict`) stores grids, never raw values. The reference
profile logged with every model version (``reference_profile.json``, see
``shipyard.models.compute_profile``) is read by `ReferenceProfile.from_model_profile`: its
``grid`` when present, else a grid rebuilt from its 20-bin histogram (coarser; flagged
``approximate="histogram"``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipyard.errors import InvalidArgumentError
from shipyard.monitoring._deps import need
from shipyard.monitoring._frames import (
    CATEGORICAL,
    NUMERIC,
    category_counts,
    column_kind,
    numeric_values,
    to_frame,
)

FORMAT = "shipyard.reference/1"
GRID_POINTS = 512
PSI_BINS = 10
HIST_BINS = 20
MAX_CATEGORIES = 1000
OTHER = "__other__"


@dataclass(slots=True, kw_only=True)
class NumericReference:
    """The reference side of one numeric column (arrays are numpy float64)."""

    name: str
    count: int
    """Non-missing values."""
    missing: int
    mean: float | None
    std: float | None
    """Population standard deviation (ddof=0), the Wasserstein normaliser."""
    min: float | None
    max: float | None
    values: Any = None
    """All non-missing values, sorted (exact mode), or None."""
    grid: Any = None
    """Equal-weight quantiles at (i + 0.5) / m (grid mode), or None."""
    bin_edges: Any = None
    """Inner edges of the PSI/JS bins: (-inf, e1], (e1, e2], ..., (ek, inf)."""
    bin_props: Any = None
    hist_edges: Any = None
    hist_counts: Any = None
    integer: bool = False
    approximate: str | None = None
    """None (exact values), "grid" or "histogram" (a v1 model profile without a grid)."""
    kind: str = NUMERIC
    _prefix: Any = None
    _center: float = 0.0

    def prefix_sums(self) -> tuple[Any, float]:
        """Cumulative sums of the centred sample (computed once), for windows far smaller
        than the reference (see ``_stats.ks_wasserstein_search``)."""
        if self._prefix is None:
            np = need("numpy")
            sample = self.sample
            self._center = float(sample[sample.size // 2])
            self._prefix = np.concatenate(([0.0], np.cumsum(sample - self._center)))
        return self._prefix, self._center

    @property
    def sample(self) -> Any:
        """What the KS/Wasserstein kernels compare with: the values, else the grid."""
        return self.values if self.values is not None else self.grid

    @property
    def exact(self) -> bool:
        return self.values is not None


@dataclass(slots=True, kw_only=True)
class CategoricalReference:
    """The reference side of one categorical column."""

    name: str
    count: int
    missing: int
    counts: dict[str, float] = field(default_factory=dict)
    other: float = 0.0
    """Count pooled under ``__other__`` (categories beyond ``max_categories``)."""
    kind: str = CATEGORICAL

    @property
    def truncated(self) -> bool:
        return self.other > 0


ColumnReference = NumericReference | CategoricalReference


def _clean(value: Any) -> float | None:
    out = float(value)
    return None if math.isnan(out) or math.isinf(out) else out


def _midpoint_probs(m: int) -> Any:
    np = need("numpy")
    return (np.arange(m, dtype=np.float64) + 0.5) / m


def sorted_quantiles(sorted_values: Any, probs: Any) -> Any:
    """``numpy.quantile`` (linear interpolation) of an already sorted array, without the
    partition numpy would do."""
    np = need("numpy")
    pos = np.asarray(probs, dtype=np.float64) * (sorted_values.size - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, sorted_values.size - 1)
    frac = pos - lo
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * frac


def _finish_numeric(ref: NumericReference, sample: Any) -> NumericReference:
    """Bins and chart histogram from a sorted sample (the values or the grid)."""
    np = need("numpy")
    if sample is None or sample.size == 0:
        ref.bin_edges = np.empty(0)
        ref.bin_props = np.ones(1)
        ref.hist_edges = np.empty(0)
        ref.hist_counts = np.empty(0)
        return ref
    from shipyard.monitoring._stats import bin_counts_sorted, proportions

    qs = np.arange(1, PSI_BINS, dtype=np.float64) / PSI_BINS
    edges = np.unique(sorted_quantiles(sample, qs))
    edges = edges[(edges >= sample[0]) & (edges < sample[-1])]
    ref.bin_edges = edges
    ref.bin_props = proportions(bin_counts_sorted(sample, edges))
    lo = ref.min if ref.min is not None else float(sample[0])
    hi = ref.max if ref.max is not None else float(sample[-1])
    hist_edges = np.linspace(lo, hi if hi > lo else lo + 1.0, HIST_BINS + 1)
    cuts = np.searchsorted(sample, hist_edges[1:-1], side="left")
    counts = np.diff(np.concatenate([[0], cuts, [sample.size]])).astype(np.float64)
    if ref.values is None and sample.size:  # a grid: scale point counts to the real count
        counts *= ref.count / sample.size
    ref.hist_edges, ref.hist_counts = hist_edges, counts
    return ref


def numeric_reference(name: str, values: Any) -> NumericReference:
    """Exact reference of one column from its float64 values (NaN = missing)."""
    np = need("numpy")
    finite = values[~np.isnan(values)]
    finite.sort()
    n = int(finite.size)
    ref = NumericReference(
        name=name, count=n, missing=int(values.size - n),
        mean=_clean(finite.mean()) if n else None,
        std=_clean(finite.std()) if n else None,
        min=float(finite[0]) if n else None, max=float(finite[-1]) if n else None,
        values=finite, integer=bool(n and np.all(np.floor(finite[:1000]) == finite[:1000])),
    )
    return _finish_numeric(ref, finite)


def categorical_reference(name: str, counts: dict[str, int], missing: int, *,
                          max_categories: int = MAX_CATEGORIES) -> CategoricalReference:
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    kept = dict(ordered[:max_categories])
    other = float(sum(v for _, v in ordered[max_categories:]))
    return CategoricalReference(name=name, count=int(sum(counts.values())), missing=missing,
                                counts={k: float(v) for k, v in kept.items()}, other=other)


@dataclass(slots=True, kw_only=True)
class ReferenceProfile:
    """The reference side of a drift comparison, one entry per column."""

    columns: dict[str, ColumnReference]
    num_rows: int
    source: str = "data"

    # -- construction -------------------------------------------------------------------
    @classmethod
    def from_data(cls, data: Any, *, columns: list[str] | None = None,
                  categorical: list[str] | tuple[str, ...] = (),
                  numeric: list[str] | tuple[str, ...] = (),
                  max_categories: int = MAX_CATEGORIES, threads: int | None = None,
                  ) -> ReferenceProfile:
        """An exact profile of a DataFrame (or anything `drift_report` accepts).

        Column kinds are inferred (numbers and datetimes numeric; strings, booleans and
        pandas categoricals categorical); ``categorical=``/``numeric=`` override."""
        frame = to_frame(data, what="reference")
        names = _select(frame, columns)
        kinds = {n: _kind(frame[n], n, categorical, numeric) for n in names}

        def build(name: str) -> ColumnReference:
            if kinds[name] == NUMERIC:
                return numeric_reference(name, numeric_values(frame[name]))
            counts, missing = category_counts(frame[name])
            return categorical_reference(name, counts, missing, max_categories=max_categories)

        built = _parallel(build, names, threads)
        return cls(columns=dict(zip(names, built, strict=True)), num_rows=len(frame),
                   source="data")

    @classmethod
    def load(cls, source: Any, **kwargs: Any) -> ReferenceProfile:
        """A profile from a profile, a profile dict/JSON file, a model profile, or data."""
        if isinstance(source, ReferenceProfile):
            return source
        if isinstance(source, dict) and ("format" in source or "quantiles" in source):
            return cls.from_dict(source)
        if isinstance(source, str | Path) and str(source).lower().endswith(".json"):
            import json

            path = Path(source).expanduser()
            if not path.exists():
                msg = f"Reference profile {str(path)!r} does not exist."
                raise InvalidArgumentError(msg)
            return cls.from_dict(json.loads(path.read_text()))
        return cls.from_data(source, **kwargs)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReferenceProfile:
        """Read `to_dict` output, or a model version's ``reference_profile.json``."""
        if data.get("format") != FORMAT:
            return cls.from_model_profile(data)
        np = need("numpy")
        columns: dict[str, ColumnReference] = {}
        for name, col in data["columns"].items():
            if col["kind"] == CATEGORICAL:
                columns[name] = CategoricalReference(
                    name=name, count=int(col["count"]), missing=int(col["missing"]),
                    counts={str(k): float(v) for k, v in col["counts"].items()},
                    other=float(col.get("other", 0.0)))
                continue
            grid = np.asarray(col.get("grid") or [], dtype=np.float64)
            ref = NumericReference(
                name=name, count=int(col["count"]), missing=int(col["missing"]),
                mean=col.get("mean"), std=col.get("std"), min=col.get("min"),
                max=col.get("max"), grid=grid, integer=bool(col.get("integer", False)),
                approximate="grid")
            columns[name] = _finish_numeric(ref, grid)
        return cls(columns=columns, num_rows=int(data.get("num_rows", 0)),
                   source=str(data.get("source", "profile")))

    @classmethod
    def from_model_profile(cls, profile: dict[str, Any]) -> ReferenceProfile:
        """The profile logged with a model version (``shipyard.models.compute_profile``)."""
        np = need("numpy")
        if "columns" not in profile:
            msg = "This is not a reference profile: it has no 'columns'."
            raise InvalidArgumentError(msg, hint="pass a DataFrame, a file, or a profile dict")
        columns: dict[str, ColumnReference] = {}
        for name, col in profile["columns"].items():
            count = int(col.get("count", 0)) - int(col.get("missing", 0))
            if col.get("kind") == CATEGORICAL:
                freqs = col.get("frequencies", {})
                columns[name] = CategoricalReference(
                    name=name, count=count, missing=int(col.get("missing", 0)),
                    counts={str(k): float(v) * count for k, v in freqs.items()},
                    other=float(col.get(OTHER, 0.0)) * count)
                continue
            approx = "grid"
            if col.get("grid"):
                grid = np.asarray(col["grid"], dtype=np.float64)
            else:
                grid = _grid_from_histogram(col.get("histogram") or {}, GRID_POINTS)
                approx = "histogram"
            std = col.get("std")
            if std is not None and count > 1:  # model profiles store the sample std (ddof=1)
                std = float(std) * math.sqrt((count - 1) / count)
            ref = NumericReference(
                name=name, count=count, missing=int(col.get("missing", 0)),
                mean=col.get("mean"), std=std, min=col.get("min"), max=col.get("max"),
                grid=grid, approximate=approx)
            columns[name] = _finish_numeric(ref, grid)
        return cls(columns=columns, num_rows=int(profile.get("num_rows", 0)),
                   source="model-profile")

    # -- output -------------------------------------------------------------------------
    def to_dict(self, *, grid_points: int = GRID_POINTS) -> dict[str, Any]:
        """JSON-ready form; numeric columns keep a ``grid_points`` quantile grid."""
        np = need("numpy")
        out: dict[str, Any] = {}
        for name, col in self.columns.items():
            if isinstance(col, CategoricalReference):
                out[name] = {"kind": CATEGORICAL, "count": col.count, "missing": col.missing,
                             "counts": col.counts, "other": col.other}
                continue
            sample = col.sample
            if col.values is not None and sample.size:
                grid = sorted_quantiles(sample, _midpoint_probs(grid_points))
            else:
                grid = sample if sample is not None else np.empty(0)
            out[name] = {"kind": NUMERIC, "count": col.count, "missing": col.missing,
                         "mean": col.mean, "std": col.std, "min": col.min, "max": col.max,
                         "integer": col.integer, "grid": [float(v) for v in grid]}
        return {"format": FORMAT, "num_rows": self.num_rows, "source": self.source,
                "columns": out}

    @property
    def names(self) -> list[str]:
        return list(self.columns)


def _grid_from_histogram(hist: dict[str, Any], m: int) -> Any:
    """Midpoint quantiles of a histogram read as piecewise-uniform (coarse)."""
    np = need("numpy")
    edges = np.asarray(hist.get("edges") or [], dtype=np.float64)
    counts = np.asarray(hist.get("counts") or [], dtype=np.float64)
    if edges.size < 2 or counts.sum() <= 0:
        return np.empty(0)
    cdf = np.concatenate([[0.0], np.cumsum(counts) / counts.sum()])
    return np.interp(_midpoint_probs(m), cdf, edges)


def _select(frame: Any, columns: list[str] | None) -> list[str]:
    names = [str(c) for c in frame.columns]
    if columns is None:
        return names
    missing = [c for c in columns if c not in names]
    if missing:
        msg = f"Columns {missing!r} are not in the data; it has {names[:20]!r}."
        raise InvalidArgumentError(msg, hint="check the columns= argument")
    return list(columns)


def _kind(series: Any, name: str, categorical: Any, numeric: Any) -> str:
    if name in categorical:
        return CATEGORICAL
    if name in numeric:
        return NUMERIC
    return column_kind(series)


def _parallel(fn: Any, items: list[Any], threads: int | None) -> list[Any]:
    """Map over columns on a few threads (numpy sorts and ufuncs release the GIL)."""
    import os

    workers = threads if threads is not None else min(len(items), os.cpu_count() or 1, 8)
    if workers <= 1 or len(items) <= 1:
        return [fn(i) for i in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="shipyard-drift") as pool:
        return list(pool.map(fn, items))
