"""Prediction and feedback logging, off the request path, to Parquet in the artifact store.

A request hands its record to `PredictionLogger.log` (a deque append, no I/O). A background
thread wakes every ``flush_interval`` seconds (or sooner when ``flush_rows`` rows wait),
groups the records by model, version and hour, and writes one Parquet file per group::

    predictions/<model>/<YYYY-MM-DD>/<HH>/<YYYYMMDDTHHMMSS>-<pid>-<seq>.parquet
    feedback/<model>/<YYYY-MM-DD>/<HH>/<YYYYMMDDTHHMMSS>-<pid>-<seq>.parquet

The queue is bounded: a record that does not fit is dropped and counted (``dropped`` and the
``on_drop`` callback, which the server turns into a Prometheus counter), never silently; a
file that cannot be written is counted the same way. The columns are a contract with the
monitoring subsystem; see docs/serving.md ("Prediction logs").
"""

from __future__ import annotations

import io
import logging
import os
import threading
import time
from collections import defaultdict, deque
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


class PredictionLogger:
    """A bounded queue and one writer thread for prediction and feedback records."""

    def __init__(self, artifacts: ArtifactStore, *, queue_size: int = 100_000,
                 flush_interval: float = 30.0, flush_rows: int = 50_000,
                 on_drop: DropCallback | None = None) -> None:
        self.artifacts = artifacts
        self.queue_size = queue_size
        self.flush_interval = flush_interval
        self.flush_rows = flush_rows
        self.on_drop = on_drop
        self._queue: deque[PredictionRecord | FeedbackRecord] = deque()
        self._rows = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()  # one flush at a time (writer thread or close)
        self._thread: threading.Thread | None = None
        self._seq = 0
        self.dropped: dict[tuple[str, str], int] = defaultdict(int)
        self.files_written = 0
        self.rows_written = 0

    # -- producers (the event loop) ---------------------------------------------------
    def log(self, record: PredictionRecord | FeedbackRecord) -> bool:
        """Queue a record; returns False (and counts it) when the queue is full."""
        if len(self._queue) >= self.queue_size:
            self._drop(record, "queue full")
            return False
        self._queue.append(record)
        self._rows += record.rows
        if self._rows >= self.flush_rows:
            self._rows = 0
            self._wake.set()
        return True

    def _drop(self, record: PredictionRecord | FeedbackRecord, why: str) -> None:
        kind = FEEDBACK if isinstance(record, FeedbackRecord) else PREDICTIONS
        self.dropped[(kind, record.model)] += record.rows
        if self.on_drop is not None:
            self.on_drop(kind, record.model, record.rows)
        if sum(self.dropped.values()) == record.rows:  # the first drop is worth a log line
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
        while not self._stop.is_set():
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            self.flush()

    def close(self, timeout: float = 30.0) -> None:
        """Write everything queued, then stop the writer."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.flush()

    def flush(self) -> int:
        """Write every queued record now; returns the number of files written."""
        with self._lock:
            items: list[PredictionRecord | FeedbackRecord] = []
            queue = self._queue
            while queue:
                items.append(queue.popleft())
            if not items:
                return 0
            groups: dict[tuple[Any, ...], list[Any]] = defaultdict(list)
            for rec in items:
                hour = rec.timestamp_ms // 3_600_000
                if isinstance(rec, FeedbackRecord):
                    groups[(FEEDBACK, rec.model, None, hour)].append(rec)
                else:
                    groups[(PREDICTIONS, rec.model, rec.version, hour)].append(rec)
            written = 0
            for (kind, model, _, _), recs in groups.items():
                written += self._write(kind, model, recs)
            return written

    def _write(self, kind: str, model: str, recs: list[Any]) -> int:
        try:
            import pyarrow.parquet as pq

            table = (feedback_table(recs) if kind == FEEDBACK else prediction_table(recs))
            buf = io.BytesIO()
            pq.write_table(table, buf, compression="zstd")
            buf.seek(0)
            self._seq += 1
            stamp = datetime.fromtimestamp(recs[0].timestamp_ms / 1000, tz=UTC)
            name = f"{stamp:%Y%m%dT%H%M%S}-{os.getpid()}-{self._seq:06d}.parquet"
            self.artifacts.put(partition_key(kind, model, recs[0].timestamp_ms, name), buf)
        except (ShipyardError, OSError, ValueError, TypeError, ImportError) as exc:
            log.warning("prediction log: could not write %d %s records of %r: %s", len(recs),
                        kind, model, exc)
            for rec in recs:
                self._drop(rec, f"write failed: {exc}")
            return 0
        self.files_written += 1
        self.rows_written += table.num_rows
        return 1


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


def prediction_table(recs: list[PredictionRecord]) -> Any:
    """Records of one model version -> the Parquet table (one row per predicted row)."""
    import numpy as np
    import pyarrow as pa

    counts = np.fromiter((r.rows for r in recs), dtype=np.int64, count=len(recs))
    owner = pa.array(np.repeat(np.arange(len(recs)), counts))  # record of each row
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    n = int(counts.sum())
    version = recs[0].version  # one version per table (see PredictionLogger.flush)
    cols: dict[str, Any] = {
        "request_id": pa.array([r.request_id for r in recs], pa.string()).take(owner),
        "row": pa.array((np.arange(n) - starts).astype(np.int32)),
        "model": pa.repeat(pa.scalar(recs[0].model, pa.string()), n),
        "version": pa.nulls(n, pa.int64()) if version is None else pa.array(
            np.full(n, version, dtype=np.int64)),
        "timestamp": pa.array(np.repeat(np.fromiter((r.timestamp_ms for r in recs),
                                                    dtype=np.int64, count=len(recs)), counts),
                              pa.timestamp("ms", tz="UTC")),
        "latency_ms": pa.array(np.repeat(np.fromiter((r.latency_ms for r in recs),
                                                     dtype=np.float64, count=len(recs)),
                                         counts)),
    }
    cols.update({k: _arrow(v) for k, v in _input_columns(recs).items()})
    cols.update({k: _arrow(v) for k, v in _output_columns(recs).items()})
    return pa.table(cols)


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
