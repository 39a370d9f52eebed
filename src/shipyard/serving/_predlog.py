"""Prediction and feedback logging, off the request path, to Parquet in the artifact store.

A request hands its record to `PredictionLogger.log` (no I/O): a record with a numeric matrix
input and numeric outputs is copied into growing numpy columns of its group (model, version,
hour, input layout), anything else is kept as is. A background thread wakes every
``flush_interval`` seconds (or sooner when ``flush_rows`` rows wait) and writes one Parquet
file per group; building a file from packed columns costs no per-request Python work, so the
writer holds the GIL only briefly while requests are being served::

    predictions/<model>/<YYYY-MM-DD>/<HH>/<YYYYMMDDTHHMMSS>-<pid>-<seq>.parquet
    feedback/<model>/<YYYY-MM-DD>/<HH>/<YYYYMMDDTHHMMSS>-<pid>-<seq>.parquet

The buffer is bounded (``queue_size`` requests): a record that does not fit is dropped and
counted (``dropped`` and the ``on_drop`` callback, which the server turns into a Prometheus
counter), never silently; a file that cannot be written is counted the same way. The columns
are a contract with the monitoring subsystem; see docs/serving.md ("Prediction logs").
"""

from __future__ import annotations

import io
import logging
import os
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shipyard.errors import ShipyardError

if TYPE_CHECKING:
    from shipyard.stores.artifacts import ArtifactStore

log = logging.getLogger("shipyard.serving")
PREDICTIONS = "predictions"
FEEDBACK = "feedback"


@dataclass(frozen=True, slots=True)
class PredictionRecord:
    """One request: its prepared input, its outputs and how it was answered."""

    model: str
    version: int | None
    request_id: str
    timestamp_ms: int
    latency_ms: float
    input: Any
    columns: tuple[str, ...] | None
    predictions: Any
    probabilities: Any = None
    classes: Sequence[Any] | None = None

    @property
    def rows(self) -> int:
        shape = getattr(self.predictions, "shape", None)
        return int(shape[0]) if shape else len(self.predictions)


@dataclass(frozen=True, slots=True)
class FeedbackRecord:
    """Ground truth for the rows of an earlier request (one label per row)."""

    model: str
    request_id: str
    labels: Sequence[Any]
    timestamp_ms: int

    @property
    def rows(self) -> int:
        return len(self.labels)


DropCallback = Callable[[str, str, int], None]
"""Called with (kind, model, rows) for every dropped record; kind is predictions/feedback."""


def partition_key(kind: str, model: str, timestamp_ms: int, name: str) -> str:
    """The artifact key of a file: ``<kind>/<model>/<YYYY-MM-DD>/<HH>/<name>``."""
    at = datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC)
    return f"{kind}/{model}/{at:%Y-%m-%d}/{at:%H}/{name}"


class _Block:
    """Rows waiting for one file: one model version, hour and input layout.

    Numeric inputs and outputs are copied into growing numpy columns as requests arrive, so
    writing a file costs no per-request Python work (that work, done at once for 50,000
    records, held the GIL long enough to show in the p99 latency). Anything else (DataFrame
    inputs, text labels) keeps its records."""

    __slots__ = ("classes", "columns", "counts", "ids", "lat", "model", "n", "pred", "proba",
                 "records", "ts", "version", "x")

    def __init__(self, rec: PredictionRecord, *, packed: bool) -> None:
        self.model, self.version = rec.model, rec.version
        self.columns, self.classes = rec.columns, rec.classes
        self.records: list[PredictionRecord] | None = None if packed else []
        self.ids: list[str] = []
        self.counts: list[int] = []
        self.ts: list[int] = []
        self.lat: list[float] = []
        self.x: Any = None
        self.pred: Any = None
        self.proba: Any = None
        self.n = 0

    @staticmethod
    def layout(rec: PredictionRecord) -> tuple[Any, ...] | None:
        """What makes records packable together (None: keep the records)."""
        x, pred, proba = rec.input, rec.predictions, rec.probabilities
        if type(x).__module__ != "numpy" or getattr(x, "ndim", 0) != 2 or (
                x.dtype.kind not in "biuf") or type(
                pred).__module__ != "numpy" or pred.ndim != 1 or pred.dtype.kind not in "biuf":
            return None
        if proba is not None and (type(proba).__module__ != "numpy" or proba.ndim != 2):
            return None
        if rec.columns is not None and len(rec.columns) != x.shape[1]:
            return None  # the records path writes such an input as one list column
        return (x.shape[1], x.dtype.str, pred.dtype.str,
                -1 if proba is None else proba.shape[1], rec.columns)

    def add(self, rec: PredictionRecord) -> None:
        self.ids.append(rec.request_id)
        self.ts.append(rec.timestamp_ms)
        self.lat.append(rec.latency_ms)
        k = rec.rows
        self.counts.append(k)
        if self.records is not None:
            self.records.append(rec)
            self.n += k
            return
        import numpy as np

        need = self.n + k
        if self.x is None or need > len(self.x):
            cap = max(need, 1024, 2 * (len(self.x) if self.x is not None else 0))
            self.x = _grown(self.x, self.n, (cap, rec.input.shape[1]), rec.input.dtype)
            self.pred = _grown(self.pred, self.n, (cap,), rec.predictions.dtype)
            if rec.probabilities is not None:
                self.proba = _grown(self.proba, self.n, (cap, rec.probabilities.shape[1]),
                                    np.float64)
        self.x[self.n:need] = rec.input
        self.pred[self.n:need] = rec.predictions
        if self.proba is not None:
            self.proba[self.n:need] = rec.probabilities
        self.n = need

    def table(self) -> Any:
        """The Parquet table: the columns of docs/serving.md ("Prediction logs")."""
        import numpy as np
        import pyarrow as pa

        n = self.n
        counts = np.asarray(self.counts, dtype=np.int64)
        owner = pa.array(np.repeat(np.arange(len(counts)), counts))
        starts = np.repeat(np.cumsum(counts) - counts, counts)
        cols: dict[str, Any] = {
            "request_id": pa.array(self.ids, pa.string()).take(owner),
            "row": pa.array((np.arange(n) - starts).astype(np.int32)),
            "model": pa.repeat(pa.scalar(self.model, pa.string()), n),
            "version": pa.nulls(n, pa.int64()) if self.version is None else pa.array(
                np.full(n, self.version, dtype=np.int64)),
            "timestamp": pa.array(np.repeat(np.asarray(self.ts, dtype=np.int64), counts),
                                  pa.timestamp("ms", tz="UTC")),
            "latency_ms": pa.array(np.repeat(np.asarray(self.lat, dtype=np.float64), counts)),
        }
        if self.records is not None:
            cols.update({k: _arrow(v) for k, v in _input_columns(self.records).items()})
            cols.update({k: _arrow(v) for k, v in _output_columns(self.records).items()})
            return pa.table(cols)
        x = self.x[:n]
        names = self.columns or tuple(str(j) for j in range(x.shape[1]))
        for j, name in enumerate(names):
            cols[f"input.{name}"] = pa.array(x[:, j])
        cols["output.prediction"] = pa.array(self.pred[:n])
        if self.proba is not None:
            classes = self.classes or list(range(self.proba.shape[1]))
            if len(classes) == self.proba.shape[1]:
                for j, cls in enumerate(classes):
                    cols[f"output.proba_{cls}"] = pa.array(self.proba[:n, j])
        return pa.table(cols)


def _grown(old: Any, used: int, shape: tuple[int, ...], dtype: Any) -> Any:
    import numpy as np

    new = np.empty(shape, dtype=dtype)
    if old is not None and used:
        new[:used] = old[:used]
    return new


class PredictionLogger:
    """A bounded buffer and one writer thread for prediction and feedback records."""

    def __init__(self, artifacts: ArtifactStore, *, queue_size: int = 100_000,
                 flush_interval: float = 30.0, flush_rows: int = 10_000,
                 on_drop: DropCallback | None = None) -> None:
        self.artifacts = artifacts
        self.queue_size = queue_size
        self.flush_interval = flush_interval
        self.flush_rows = flush_rows
        self.on_drop = on_drop
        self._blocks: dict[tuple[Any, ...], _Block] = {}
        self._feedback: list[FeedbackRecord] = []
        self._pending = 0  # records taken and not yet written (or dropped)
        self._rows = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()  # guards the buffers (held for microseconds)
        self._flushing = threading.Lock()  # one flush at a time (writer thread or close)
        self._thread: threading.Thread | None = None
        self._seq = 0
        self.dropped: dict[tuple[str, str], int] = defaultdict(int)
        self.files_written = 0
        self.rows_written = 0

    # -- producers (the event loop) ---------------------------------------------------
    def log(self, record: PredictionRecord | FeedbackRecord) -> bool:
        """Buffer a record; returns False (and counts it) when the buffer is full."""
        if self._pending >= self.queue_size:
            self._drop(record, "queue full")
            return False
        with self._lock:
            if isinstance(record, FeedbackRecord):
                self._feedback.append(record)
            else:
                layout = _Block.layout(record)
                key = (record.model, record.version, record.timestamp_ms // 3_600_000, layout)
                block = self._blocks.get(key)
                if block is None:
                    block = self._blocks[key] = _Block(record, packed=layout is not None)
                block.add(record)
            self._pending += 1
        self._rows += record.rows
        if self._rows >= self.flush_rows:
            self._rows = 0
            self._wake.set()
        return True

    def _drop(self, record: PredictionRecord | FeedbackRecord | _Block, why: str,
              kind: str | None = None) -> None:
        kind = kind or (FEEDBACK if isinstance(record, FeedbackRecord) else PREDICTIONS)
        rows = record.n if isinstance(record, _Block) else record.rows
        first = not self.dropped
        self.dropped[(kind, record.model)] += rows
        if self.on_drop is not None:
            self.on_drop(kind, record.model, rows)
        if first:  # the first drop is worth a log line
            log.warning("prediction log: dropping records (%s); see "
                        "shipyard_serving_prediction_log_dropped_total", why)

    # -- the writer -------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="shipyard-prediction-log",
                                            daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        try:  # now, beside model loading, rather than mid-traffic at the first flush
            import pyarrow.parquet  # noqa: F401
        except ImportError:
            log.warning("prediction log: pyarrow is missing (pip install 'shipyard[serving]')")
        trim = _malloc_trim()
        while not self._stop.is_set():
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            if self.flush() and trim is not None:
                trim(0)  # hand the file's buffers back to the OS (a server's RSS stays flat)

    def close(self, timeout: float = 30.0) -> None:
        """Write everything buffered, then stop the writer."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.flush()

    def flush(self) -> int:
        """Write everything buffered now; returns the number of files written."""
        with self._flushing:
            with self._lock:
                blocks, self._blocks = list(self._blocks.values()), {}
                feedback, self._feedback = self._feedback, []
            written = 0
            for block in blocks:
                written += self._write(PREDICTIONS, block.model, block.ts[0], block)
            groups: dict[tuple[str, int], list[FeedbackRecord]] = defaultdict(list)
            for rec in feedback:
                groups[(rec.model, rec.timestamp_ms // 3_600_000)].append(rec)
            for (model, _), recs in groups.items():
                written += self._write(FEEDBACK, model, recs[0].timestamp_ms, recs)
            return written

    def _write(self, kind: str, model: str, timestamp_ms: int,
               what: _Block | list[FeedbackRecord]) -> int:
        records = len(what.counts) if isinstance(what, _Block) else len(what)
        try:
            import pyarrow.parquet as pq

            table = what.table() if isinstance(what, _Block) else feedback_table(what)
            buf = io.BytesIO()
            pq.write_table(table, buf, compression="zstd")
            buf.seek(0)
            self._seq += 1
            stamp = datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC)
            name = f"{stamp:%Y%m%dT%H%M%S}-{os.getpid()}-{self._seq:06d}.parquet"
            self.artifacts.put(partition_key(kind, model, timestamp_ms, name), buf)
        except (ShipyardError, OSError, ValueError, TypeError, ImportError) as exc:
            log.warning("prediction log: could not write %d %s records of %r: %s", records,
                        kind, model, exc)
            if isinstance(what, _Block):
                self._drop(what, f"write failed: {exc}", kind)
            else:
                for rec in what:
                    self._drop(rec, f"write failed: {exc}")
            return 0
        finally:
            with self._lock:
                self._pending -= records
        self.files_written += 1
        self.rows_written += table.num_rows
        return 1


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim`` (None elsewhere): the writer's freed columns and Parquet
    buffers stay mapped by the allocator otherwise. ctypes releases the GIL for the call."""
    import ctypes

    try:
        return ctypes.CDLL("libc.so.6").malloc_trim  # type: ignore[no-any-return]
    except (OSError, AttributeError):  # not glibc
        return None


# -- tables -------------------------------------------------------------------------------
def _repeat(values: list[Any], counts: list[int]) -> list[Any]:
    out: list[Any] = []
    for value, n in zip(values, counts, strict=True):
        out.extend([value] * n)
    return out


def _input_columns(recs: list[PredictionRecord]) -> dict[str, Any]:
    import numpy as np

    first = recs[0].input
    if type(first).__module__ == "numpy" and all(type(r.input) is type(first) for r in recs):
        arr = np.concatenate([r.input for r in recs]) if len(recs) > 1 else first
        if arr.ndim == 2:
            names = recs[0].columns or tuple(str(j) for j in range(arr.shape[1]))
            if len(names) == arr.shape[1]:
                return {f"input.{n}": arr[:, j] for j, n in enumerate(names)}
        flat = arr.reshape(len(arr), -1)
        return {"input": [row.tolist() for row in flat]}
    if hasattr(first, "columns"):
        import pandas as pd

        frame = pd.concat([r.input for r in recs], ignore_index=True) if len(recs) > 1 \
            else first.reset_index(drop=True)
        return {f"input.{c}": frame[c].to_numpy() for c in frame.columns}
    values: list[Any] = []
    for r in recs:
        values.extend(list(r.input))
    return {"input": [str(v) for v in values]}


def _output_columns(recs: list[PredictionRecord]) -> dict[str, Any]:
    import numpy as np

    out: dict[str, Any] = {}
    preds = [r.predictions for r in recs]
    if hasattr(preds[0], "columns"):
        import pandas as pd

        frame = pd.concat(preds, ignore_index=True)
        for c in frame.columns:
            out[f"output.{c}"] = frame[c].to_numpy()
    else:
        arr = np.concatenate([np.asarray(p) for p in preds])
        if arr.ndim == 1:
            out["output.prediction"] = arr
        else:
            out["output.prediction"] = [row.tolist() for row in arr.reshape(len(arr), -1)]
    if all(r.probabilities is not None for r in recs):
        proba = np.concatenate([np.asarray(r.probabilities) for r in recs])
        if proba.ndim == 2:
            classes = recs[0].classes or list(range(proba.shape[1]))
            if len(classes) == proba.shape[1]:
                for j, cls in enumerate(classes):
                    out[f"output.proba_{cls}"] = proba[:, j]
    return out


def _arrow(values: Any) -> Any:
    import pyarrow as pa

    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None else str(v) for v in values], pa.string())


def feedback_table(recs: list[FeedbackRecord]) -> Any:
    """Feedback records -> the Parquet table (one row per label)."""
    import pyarrow as pa

    counts = [r.rows for r in recs]
    labels = [label for r in recs for label in r.labels]
    numbers = [float(v) if isinstance(v, int | float) and not isinstance(v, str) else None
               for v in labels]
    return pa.table({
        "request_id": pa.array(_repeat([r.request_id for r in recs], counts), pa.string()),
        "row": pa.array([i for n in counts for i in range(n)], pa.int32()),
        "model": pa.array(_repeat([r.model for r in recs], counts), pa.string()),
        "timestamp": pa.array(_repeat([r.timestamp_ms for r in recs], counts),
                              pa.timestamp("ms", tz="UTC")),
        "label": pa.array([_label_text(v) for v in labels], pa.string()),
        "label_number": pa.array(numbers, pa.float64()),
    })


def _label_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 2**53 else repr(value)
    return str(value)


def now_ms() -> int:
    return time.time_ns() // 1_000_000
