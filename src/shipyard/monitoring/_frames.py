"""Turn what users pass (a DataFrame, a pyarrow Table, a dict of columns, a list of records,
a Parquet/CSV/JSON-lines file) into a pandas DataFrame, and read one column the way the drift
and quality code wants it: numbers as float64 with NaN for missing, categories as counts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shipyard.errors import InvalidArgumentError
from shipyard.monitoring._deps import need

NUMERIC = "numeric"
CATEGORICAL = "categorical"
_FILE_HINT = "pass a pandas DataFrame, a pyarrow Table, a dict of columns or a .parquet/.csv file"


def read_table_file(path: str | Path) -> Any:
    """A DataFrame from a .parquet, .csv or .jsonl/.ndjson file."""
    pd = need("pandas")
    p = Path(path).expanduser()
    if not p.exists():
        msg = f"Data file {str(p)!r} does not exist."
        raise InvalidArgumentError(msg, hint=_FILE_HINT)
    suffix = p.suffix.lower()
    if suffix in {".parquet", ".pq"} or p.is_dir():
        need("pyarrow")
        return pd.read_parquet(p)
    if suffix in {".csv", ".tsv"}:
        return pd.read_csv(p, sep="\t" if suffix == ".tsv" else ",")
    if suffix in {".jsonl", ".ndjson"}:
        return pd.read_json(p, lines=True)
    msg = f"Cannot read {str(p)!r}: expected a .parquet, .csv, .tsv, .jsonl or .ndjson file."
    raise InvalidArgumentError(msg, hint=_FILE_HINT)


def to_frame(data: Any, *, what: str = "data") -> Any:
    """A pandas DataFrame for any supported input (no copy when it already is one)."""
    pd = need("pandas")
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, str | Path):
        return read_table_file(data)
    if type(data).__module__.startswith("pyarrow") and hasattr(data, "to_pandas"):
        return data.to_pandas()
    if isinstance(data, dict) or (isinstance(data, list) and (not data or isinstance(data[0],
                                                                                    dict))):
        return pd.DataFrame(data)
    if hasattr(data, "__array__"):
        np = need("numpy")
        arr = np.asarray(data)
        if arr.ndim == 2:
            return pd.DataFrame(arr, columns=[str(i) for i in range(arr.shape[1])])
        return pd.DataFrame({"values": arr.reshape(-1)})
    msg = f"The {what!r} argument cannot be read as a table. Got {type(data).__name__}."
    raise InvalidArgumentError(msg, hint=_FILE_HINT)


def column_kind(series: Any) -> str:
    """``numeric`` for numbers and datetimes (as seconds), ``categorical`` for the rest."""
    pd = need("pandas")
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return CATEGORICAL
    if pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_datetime64_any_dtype(dtype):
        return NUMERIC
    return CATEGORICAL


def numeric_values(series: Any) -> Any:
    """float64 values with NaN for missing (and for inf, which no statistic can use)."""
    np = need("numpy")
    pd = need("pandas")
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        missing = series.isna().to_numpy()
        seconds = series.astype("int64").to_numpy() / 1e9
        return np.where(missing, np.nan, seconds)
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(
            series.dtype):
        arr = series.to_numpy(dtype="float64", na_value=np.nan)
    else:
        arr = pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    if not np.isfinite(arr).all():
        arr = np.where(np.isfinite(arr), arr, np.nan)
    return arr


def category_counts(series: Any) -> tuple[dict[str, int], int]:
    """(value -> count, missing count); values as strings (``True``, ``3``, ``red``)."""
    counts = series.value_counts(dropna=True, sort=False)
    out: dict[str, int] = {}
    for key, value in counts.items():
        n = int(value)
        if n:
            label = _label(key)
            out[label] = out.get(label, 0) + n
    missing = int(len(series) - sum(out.values()))
    return out, missing


def _label(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
