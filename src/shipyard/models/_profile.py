"""The reference profile: statistics of the training data that monitoring compares production
data with.

Per column: count, missing count and rate; for numbers mean, std, min, max, quantiles, a
fixed-bin histogram (edges + counts, so production data can be binned the same way) and a
512-point quantile grid (what monitoring's KS/Wasserstein compare with); for
categories (strings, booleans) the top-N value frequencies plus an ``__other__`` share. The
result is plain JSON (NaN becomes null). Everything is vectorised with numpy/pandas.
"""

from __future__ import annotations

import math
from typing import Any

PROFILE_VERSION = 1
QUANTILES = (0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99)
DEFAULT_BINS = 20
DEFAULT_TOP_N = 20
GRID_POINTS = 512
"""Numeric columns also keep quantiles at (i + 0.5) / GRID_POINTS ("grid"): monitoring reads
them as an equal-weight stand-in for the training sample (KS within 1/(2*512) + 1/n)."""
MAX_ROWS = 1_000_000
OTHER = "__other__"


def _num(value: Any) -> float | None:
    out = float(value)
    return None if math.isnan(out) or math.isinf(out) else out


def _numeric(values: Any, *, bins: int) -> dict[str, Any]:
    import numpy as np

    arr = np.asarray(values, dtype="float64")
    missing = ~np.isfinite(arr)
    present = arr[~missing]
    out: dict[str, Any] = {"kind": "numeric", "count": int(arr.size),
                           "missing": int(missing.sum()),
                           "missing_rate": float(missing.mean()) if arr.size else 0.0}
    if present.size == 0:
        out.update(mean=None, std=None, min=None, max=None, quantiles={},
                   histogram={"edges": [], "counts": []})
        return out
    lo, hi = float(present.min()), float(present.max())
    qs = np.quantile(present, QUANTILES)
    counts, edges = np.histogram(present, bins=bins, range=(lo, hi if hi > lo else lo + 1.0))
    out.update(
        mean=_num(present.mean()), std=_num(present.std(ddof=1)) if present.size > 1 else 0.0,
        min=lo, max=hi, quantiles={str(q): _num(v) for q, v in zip(QUANTILES, qs, strict=True)},
        histogram={"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]},
        grid=[float(v) for v in np.quantile(present, (np.arange(GRID_POINTS) + 0.5)
                                            / GRID_POINTS)],
    )
    return out


def _categorical(series: Any, *, top_n: int) -> dict[str, Any]:
    missing = series.isna().to_numpy()
    present = series[~missing].astype(str)
    total = len(series)
    freq = present.value_counts(normalize=False, sort=True)
    top = freq.head(top_n)
    n_present = max(int(present.size), 1)
    frequencies = {str(k): int(v) / n_present for k, v in top.items()}
    other = (int(freq.sum()) - int(top.sum())) / n_present if present.size else 0.0
    return {"kind": "categorical", "count": total, "missing": int(missing.sum()),
            "missing_rate": float(missing.mean()) if total else 0.0,
            "unique": int(freq.size), "frequencies": frequencies, OTHER: other}


def compute_profile(data: Any, *, bins: int = DEFAULT_BINS, top_n: int = DEFAULT_TOP_N,
                    max_rows: int = MAX_ROWS, seed: int = 0) -> dict[str, Any]:
    """Profile a DataFrame, a dict of columns or an array (2-D: one column per feature; other
    ranks: all values as one column). Above ``max_rows`` a seeded sample is profiled."""
    import numpy as np
    import pandas as pd

    if isinstance(data, dict) or (isinstance(data, list) and data and isinstance(data[0], dict)):
        data = pd.DataFrame(data)
    if hasattr(data, "detach") and hasattr(data, "numpy"):
        data = data.detach().cpu().numpy()
    if not isinstance(data, pd.DataFrame):
        arr = np.asarray(data)
        data = (pd.DataFrame(arr, columns=[str(i) for i in range(arr.shape[1])])
                if arr.ndim == 2 else pd.DataFrame({"values": arr.reshape(-1)}))
    rows = len(data)
    sampled = rows > max_rows
    if sampled:
        data = data.sample(n=max_rows, random_state=seed)
    columns: dict[str, Any] = {}
    for name in data.columns:
        col = data[name]
        dtype = col.dtype
        if pd.api.types.is_bool_dtype(dtype) or not (
                pd.api.types.is_numeric_dtype(dtype)
                or pd.api.types.is_datetime64_any_dtype(dtype)):
            columns[str(name)] = _categorical(col, top_n=top_n)
        elif pd.api.types.is_datetime64_any_dtype(dtype):
            seconds = col.astype("int64").to_numpy() / 1e9
            seconds = np.where(col.isna().to_numpy(), np.nan, seconds)
            columns[str(name)] = {**_numeric(seconds, bins=bins), "kind": "datetime"}
        else:
            columns[str(name)] = _numeric(col.to_numpy(dtype="float64", na_value=np.nan),
                                          bins=bins)
    return {"version": PROFILE_VERSION, "num_rows": rows, "sampled_rows": len(data) if sampled
            else rows, "quantiles": list(QUANTILES), "columns": columns}
