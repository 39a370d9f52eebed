"""Background metric buffer: per-call logging costs an append; a thread writes batches.

Each batch carries an id, so a retried write never duplicates a point. Points are flushed
every ``interval`` seconds, when ``max_batch`` points are waiting, on `flush`, at run end and
at interpreter exit. A failed write is retried with back-off; if it keeps failing the error is
raised from the next `flush` (never silently dropped).
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from shipyard.entities.tracking import Metric
from shipyard.errors import ShipyardError

WriteFn = Callable[[list[Metric], str], object]


@dataclass
class _State:
    pending: list[Metric] = field(default_factory=list)
    error: BaseException | None = None


class MetricBuffer:
    """Collects points of one run and writes them in the background."""

    def __init__(
        self, write: WriteFn, *, interval: float = 0.5, max_batch: int = 10_000,
        heartbeat: Callable[[], object] | None = None, heartbeat_interval: float = 10.0,
        retries: int = 5,
    ) -> None:
        self._write = write
        self._interval = interval
        self._max_batch = max_batch
        self._heartbeat = heartbeat
        self._heartbeat_interval = heartbeat_interval
        self._retries = retries
        self._state = _State()
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._last_beat = time.monotonic()
        self._thread = threading.Thread(target=self._loop, name="shipyard-metrics", daemon=True)
        self._thread.start()

    def add(self, metric: Metric) -> None:
        with self._lock:
            self._state.pending.append(metric)
            full = len(self._state.pending) >= self._max_batch
        if full:
            self._wake.set()

    def extend(self, metrics: list[Metric]) -> None:
        with self._lock:
            self._state.pending.extend(metrics)
            full = len(self._state.pending) >= self._max_batch
        if full:
            self._wake.set()

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._state.pending)

    def flush(self) -> None:
        """Write everything added so far; raise the last write error, if any."""
        self._drain()
        with self._lock:
            err, self._state.error = self._state.error, None
        if err is not None:
            raise err

    def close(self) -> None:
        """Stop the thread after a final flush."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=60)
        self.flush()

    def _drain(self) -> None:
        with self._flush_lock:
            while True:
                with self._lock:
                    batch = self._state.pending[: self._max_batch]
                    if not batch:
                        return
                    del self._state.pending[: len(batch)]
                batch_id = uuid.uuid4().hex
                try:
                    self._write_with_retry(batch, batch_id)
                except Exception as exc:  # keep the points and surface the error on flush
                    with self._lock:
                        self._state.pending[:0] = batch
                        self._state.error = exc
                    return

    def _write_with_retry(self, batch: list[Metric], batch_id: str) -> None:
        delay = 0.05
        for attempt in range(self._retries + 1):
            try:
                self._write(batch, batch_id)
                return
            except Exception as exc:
                retryable = getattr(exc, "retryable", not isinstance(exc, ShipyardError))
                if attempt == self._retries or not retryable:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 2.0)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._interval)
            self._wake.clear()
            self._drain()
            if self._heartbeat is not None and (
                    time.monotonic() - self._last_beat >= self._heartbeat_interval):
                self._last_beat = time.monotonic()
                with contextlib.suppress(Exception):  # a missed heartbeat is not fatal
                    self._heartbeat()
