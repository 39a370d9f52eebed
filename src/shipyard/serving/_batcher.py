"""Adaptive micro-batching: concurrent requests for one model version become one model call.

The rule, in full:

* A request never waits for a batch to fill. When the model is idle, the request is sent to
  it at once, alone (at concurrency 1 batching adds nothing but a queue push and pop).
* While the model is busy, requests queue. When the call in progress ends, everything that
  piled up is merged into the next call, oldest first, bounded by ``max_batch_size`` rows
  and by the latency budget: merging may make a call at most ``max_latency`` seconds longer
  than the first request alone would take. The marginal cost of a row is learnt online
  (an exponentially weighted least-squares fit of call time against rows), so a model whose
  cost is mostly fixed (a forest walking 100 trees) merges freely and a model whose cost grows
  with every row merges little.
* A full queue (``max_queue_rows``) refuses new requests with `OverloadedError`; a request
  not answered within its timeout gets `PredictionTimeoutError` and is skipped if still
  queued.

A model whose calls take long runs in an executor thread, so the event loop keeps parsing
requests meanwhile; a model whose recent calls took under ``inline_below`` seconds (most
scikit-learn models on the fast path) runs in the event loop itself, one loop iteration after
the first request of a batch arrived, which spares two thread switches per call and still
merges every request parsed in that iteration. Only the standard library is used here
(asyncio, no web framework).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from shipyard.errors import OverloadedError, PredictionTimeoutError


@dataclass(slots=True, eq=False)
class Job:
    """One request's share of a batch: its prepared input and, once run, its result."""

    input: Any
    rows: int
    outputs: frozenset[str]
    future: asyncio.Future[Any] | None = None
    enqueued: float = 0.0
    started: float = 0.0
    result: Any = None
    error: BaseException | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class CostModel:
    """Call time ~ fixed + per_row * rows, fitted online with exponential forgetting."""

    __slots__ = ("_decay", "_sw", "_sx", "_sxx", "_sxy", "_sy", "recent")

    def __init__(self, decay: float = 0.97) -> None:
        self._decay = decay
        self._sw = self._sx = self._sy = self._sxx = self._sxy = 0.0
        self.recent: float | None = None
        """Exponential average of the latest call times (None before the first call)."""

    def observe(self, rows: int, seconds: float) -> None:
        self.recent = seconds if self.recent is None else 0.8 * self.recent + 0.2 * seconds
        d = self._decay
        self._sw = self._sw * d + 1.0
        self._sx = self._sx * d + rows
        self._sy = self._sy * d + seconds
        self._sxx = self._sxx * d + rows * rows
        self._sxy = self._sxy * d + rows * seconds

    @property
    def per_row(self) -> float:
        """Marginal seconds per row (0 until calls of different sizes have been seen)."""
        var = self._sw * self._sxx - self._sx * self._sx
        if self._sw < 2 or var <= 1e-9 * max(self._sw * self._sxx, 1.0):
            return 0.0
        return max(0.0, (self._sw * self._sxy - self._sx * self._sy) / var)

    @property
    def fixed(self) -> float:
        if self._sw == 0:
            return 0.0
        return max(0.0, (self._sy - self.per_row * self._sx) / self._sw)


BatchObserver = Callable[[int, int, float, list[float]], None]
"""Called after each model call with (rows, requests, call seconds, queue seconds of each
request)."""


class MicroBatcher:
    """Queues `Job` s and runs them through ``run`` (called in ``executor``) in batches.

    ``run(jobs)`` must set ``job.result`` or ``job.error`` on every job; it is never called
    with an empty list, and never twice at the same time for one batcher.
    """

    def __init__(self, run: Callable[[list[Job]], None], *, executor: Executor,
                 max_batch_size: int = 64, max_latency: float = 0.005,
                 max_queue_rows: int = 20_000, observer: BatchObserver | None = None,
                 inline_below: float = 0.002) -> None:
        self._run = run
        self.inline_below = inline_below
        self._scheduled = False
        self._executor = executor
        self.max_batch_size = max_batch_size
        self.max_latency = max_latency
        self.max_queue_rows = max_queue_rows
        self._observer = observer
        self._queue: deque[Job] = deque()
        self._queued_rows = 0
        self._busy = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self.cost = CostModel()
        self.calls = 0

    @property
    def queued_rows(self) -> int:
        return self._queued_rows

    @property
    def idle(self) -> bool:
        return not self._busy and not self._queue

    async def submit(self, job: Job, *, timeout: float | None = None) -> Any:
        """Queue ``job`` and wait for its result (raises what the model call raised)."""
        loop = self._loop = asyncio.get_running_loop()
        if self._queue and self._queued_rows + job.rows > self.max_queue_rows:
            msg = (f"The model has {self._queued_rows} rows waiting (limit "
                   f"{self.max_queue_rows}); request refused.")
            raise OverloadedError(msg)
        fut: asyncio.Future[Any] = loop.create_future()
        job.future = fut
        job.enqueued = time.perf_counter()
        self._queue.append(job)
        self._queued_rows += job.rows
        if not self._busy and not self._scheduled:
            if self._inline():  # next iteration: requests parsed in this one join the batch
                self._scheduled = True
                loop.call_soon(self._dispatch_soon)
            else:
                self._dispatch()
        if timeout is None:
            return await fut
        timer = loop.call_later(timeout, _expire, fut, timeout)
        try:
            return await fut
        finally:
            timer.cancel()

    def _take(self) -> list[Job]:
        queue = self._queue
        batch: list[Job] = []
        rows = 0
        first_rows = 0
        per_row = self.cost.per_row
        while queue:
            job = queue[0]
            if job.future is not None and job.future.done():  # timed out or cancelled
                queue.popleft()
                self._queued_rows -= job.rows
                continue
            if batch:
                if rows + job.rows > self.max_batch_size:
                    break
                if self.max_latency <= 0 or per_row * (rows + job.rows - first_rows) > (
                        self.max_latency):
                    break
            queue.popleft()
            self._queued_rows -= job.rows
            if not batch:
                first_rows = job.rows
            batch.append(job)
            rows += job.rows
        return batch

    def _inline(self) -> bool:
        recent = self.cost.recent
        return recent is not None and recent < self.inline_below

    def _dispatch_soon(self) -> None:
        self._scheduled = False
        if not self._busy:
            self._dispatch()

    def _dispatch(self) -> None:
        batch = self._take()
        if not batch:
            return
        self._busy = True
        now = time.perf_counter()
        for job in batch:
            job.started = now
        if self._inline():
            self._call(batch)
            self._done(batch, inline=True)
            return
        try:
            cf = self._executor.submit(self._call, batch)
        except RuntimeError as exc:  # the executor was shut down
            self._busy = False
            for job in batch:
                if job.future is not None and not job.future.done():
                    job.future.set_exception(exc)
            return
        loop = self._loop
        assert loop is not None
        cf.add_done_callback(lambda _: loop.call_soon_threadsafe(self._done, batch))

    def _call(self, batch: list[Job]) -> float:
        start = time.perf_counter()
        try:
            self._run(batch)
        except BaseException as exc:
            for job in batch:
                if job.error is None and job.result is None:
                    job.error = exc
        seconds = time.perf_counter() - start
        rows = sum(j.rows for j in batch)
        self.cost.observe(rows, seconds)
        batch[0].extra["call_seconds"] = seconds
        return seconds

    def _done(self, batch: list[Job], *, inline: bool = False) -> None:
        self._busy = False
        self.calls += 1
        if self._queue and not self._scheduled:
            if inline:  # let the loop deliver these answers and read new requests first
                self._scheduled = True
                asyncio.get_running_loop().call_soon(self._dispatch_soon)
            else:
                self._dispatch()
        for job in batch:
            fut = job.future
            if fut is None or fut.done():
                continue
            if job.error is not None:
                fut.set_exception(job.error)
            else:
                fut.set_result(job.result)
        if self._observer is not None:
            seconds = float(batch[0].extra.get("call_seconds", 0.0))
            self._observer(sum(j.rows for j in batch), len(batch), seconds,
                           [j.started - j.enqueued for j in batch])


def _expire(fut: asyncio.Future[Any], timeout: float) -> None:
    if not fut.done():
        msg = f"The prediction did not finish within {timeout:g}s."
        fut.set_exception(PredictionTimeoutError(msg))
