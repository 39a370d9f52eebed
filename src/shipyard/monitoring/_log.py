"""The prediction log and the feedback log: Parquet files in the artifact store, partitioned
by hour so a window reads only the hours it overlaps (cost grows with the window, not with
history)::

    predictions/<model>/<YYYY-MM-DD>/<HH>/<file>.parquet
        request_id (str), model (str), version (int), timestamp (UTC ms: int64 or
        timestamp[ms, UTC]), latency_ms (float), input.<feature> ..., output.prediction,
        output.proba_<class> ... (classifiers)
    feedback/<model>/<YYYY-MM-DD>/<HH>/<file>.parquet
        request_id (str), label, timestamp (when the label arrived)

The serving layer writes these files; `write_log` writes the same layout (for imports of
labels from a file, and for tests).
"""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shipyard.entities._ids import to_ms, utc_now
from shipyard.errors import ArtifactNotFoundError, InvalidArgumentError
from shipyard.monitoring._deps import need
from shipyard.monitoring._frames import to_frame

if TYPE_CHECKING:
    from shipyard.stores.artifacts import ArtifactStore

PREDICTIONS = "predictions"
FEEDBACK = "feedback"
HOUR_MS = 3_600_000
INPUT_PREFIX = "input."
OUTPUT_PREFIX = "output."


def hour_prefix(kind: str, model: str, hour_ms: int) -> str:
    at = datetime.fromtimestamp(hour_ms / 1000, tz=UTC)
    return f"{kind}/{model}/{at:%Y-%m-%d}/{at:%H}/"


def hour_prefixes(kind: str, model: str, start_ms: int, end_ms: int) -> list[str]:
    """The hour partitions overlapping ``[start_ms, end_ms)``."""
    first = start_ms - start_ms % HOUR_MS
    return [hour_prefix(kind, model, h) for h in range(first, end_ms, HOUR_MS)]


def timestamps_ms(values: Any) -> Any:
    """int64 epoch milliseconds from an int column, datetimes (aware or UTC) or ISO text."""
    np = need("numpy")
    pd = need("pandas")
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        if getattr(series.dt, "tz", None) is None:
            series = series.dt.tz_localize("UTC")
        return (series.dt.tz_convert("UTC").astype("datetime64[ms, UTC]")
                .astype("int64").to_numpy())
    if pd.api.types.is_numeric_dtype(series.dtype):
        return series.to_numpy(dtype=np.int64)
    parsed = pd.to_datetime(series, utc=True, format="mixed")
    return parsed.astype("datetime64[ms, UTC]").astype("int64").to_numpy()


def _arrow_ms(table: Any) -> Any:
    """The table's ``timestamp`` column as int64 ms (pyarrow)."""
    pa = need("pyarrow")
    col = table.column("timestamp")
    if pa.types.is_timestamp(col.type):
        col = col.cast(pa.timestamp("ms", tz=col.type.tz)).cast(pa.int64())
    elif not pa.types.is_integer(col.type):
        col = col.cast(pa.int64())
    return col


def read_log(store: ArtifactStore, kind: str, model: str, start_ms: int, end_ms: int, *,
             columns: list[str] | None = None) -> Any:
    """Rows of ``kind`` (``predictions`` or ``feedback``) with ``start <= timestamp < end``
    as a pandas DataFrame (``timestamp`` as int64 ms), reading only the overlapping hours.
    Files are read in key order, so rows keep their arrival order."""
    pa = need("pyarrow")
    pc = need("pyarrow.compute")
    pq = need("pyarrow.parquet")
    tables = []
    for prefix in hour_prefixes(kind, model, start_ms, end_ms):
        for key in sorted(k for k in store.list(prefix) if k.endswith(".parquet")):
            try:
                with store.open(key) as fh:
                    data = fh.read()
            except ArtifactNotFoundError:  # removed between list and open
                continue
            table = pq.read_table(io.BytesIO(data))
            if "timestamp" not in table.column_names:
                continue
            ms = _arrow_ms(table)
            table = table.set_column(table.column_names.index("timestamp"), "timestamp", ms)
            keep = pc.and_(pc.greater_equal(ms, start_ms), pc.less(ms, end_ms))
            table = table.filter(keep)
            if columns is not None:
                table = table.select([c for c in table.column_names if c in columns])
            if table.num_rows:
                tables.append(table)
    if not tables:
        pd = need("pandas")
        return pd.DataFrame({c: [] for c in (columns or ["request_id", "timestamp"])})
    table = pa.concat_tables(tables, promote_options="permissive")
    return table.to_pandas()


def write_log(store: ArtifactStore, kind: str, model: str, data: Any, *,
              now: datetime | None = None) -> list[str]:
    """Append rows to the log of ``model``, one Parquet file per hour the rows fall in.
    A missing ``timestamp`` column is filled with ``now``. Returns the keys written."""
    if kind not in (PREDICTIONS, FEEDBACK):
        msg = f"kind must be {PREDICTIONS!r} or {FEEDBACK!r}. Got {kind!r}."
        raise InvalidArgumentError(msg)
    if not model or "/" in model:
        msg = f"A model name for the log cannot be empty or contain '/'. Got {model!r}."
        raise InvalidArgumentError(msg)
    pa = need("pyarrow")
    pq = need("pyarrow.parquet")
    np = need("numpy")
    frame = to_frame(data, what="data").copy()
    if "request_id" not in frame.columns:
        msg = f"Rows of the {kind} log need a 'request_id' column."
        raise InvalidArgumentError(msg)
    if "timestamp" not in frame.columns:
        frame["timestamp"] = to_ms(now or utc_now())
    frame["timestamp"] = timestamps_ms(frame["timestamp"])
    frame["request_id"] = frame["request_id"].astype(str)
    hours = frame["timestamp"].to_numpy() // HOUR_MS
    keys = []
    for hour in np.unique(hours):
        part = frame[hours == hour]
        table = pa.Table.from_pandas(part, preserve_index=False)
        buf = io.BytesIO()
        pq.write_table(table, buf)
        buf.seek(0)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        name = f"{stamp}-{uuid.uuid4().hex[:8]}.parquet"
        key = f"{hour_prefix(kind, model, int(hour) * HOUR_MS)}{name}"
        store.put(key, buf, overwrite=False)
        keys.append(key)
    return keys


def split_columns(frame: Any) -> tuple[Any, Any]:
    """(inputs without the ``input.`` prefix, outputs) of a prediction log frame."""
    inputs = frame[[c for c in frame.columns if str(c).startswith(INPUT_PREFIX)]]
    inputs = inputs.rename(columns=lambda c: str(c)[len(INPUT_PREFIX):])
    outputs = frame[[c for c in frame.columns if str(c).startswith(OUTPUT_PREFIX)]]
    return inputs, outputs
