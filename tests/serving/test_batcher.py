"""Micro-batching: no waiting at concurrency 1, merging what piles up while the model is
busy, bounded by rows and by the latency budget; overload and timeouts are clear errors."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from shipyard.errors import OverloadedError, PredictionTimeoutError
from shipyard.serving import CostModel, Job, MicroBatcher


def _batcher(delay: float = 0.0, per_row: float = 0.0, **kw: object):
    calls: list[list[int]] = []
    gate = threading.Event()
    gate.set()

    def run(jobs: list[Job]) -> None:
        gate.wait()
        calls.append([j.rows for j in jobs])
        time.sleep(delay + per_row * sum(j.rows for j in jobs))
        for job in jobs:
            if job.input == "boom":
                job.error = ValueError("bad row")
            else:
                job.result = job.input

    pool = ThreadPoolExecutor(1)
    return MicroBatcher(run, executor=pool, **kw), calls, gate


def _arun(main: Any) -> Any:
    """``asyncio.run(main())`` in a thread of its own: immune to an event loop another test
    may have left running in this thread."""
    out: dict[str, Any] = {}

    def target() -> None:
        try:
            out["value"] = asyncio.run(main())
        except BaseException as exc:
            out["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in out:
        raise out["error"]
    return out.get("value")


def _job(value: object, rows: int = 1) -> Job:
    return Job(input=value, rows=rows, outputs=frozenset({"predict"}))


def test_a_lone_request_is_dispatched_at_once() -> None:
    batcher, calls, _ = _batcher(max_latency=1.0)

    async def main() -> float:
        start = time.perf_counter()
        assert await batcher.submit(_job("x")) == "x"
        return time.perf_counter() - start

    for _ in range(5):
        assert _arun(main) < 0.05  # never waits for a batch that will not come
    assert calls == [[1]] * 5


def test_requests_that_pile_up_while_busy_are_merged() -> None:
    batcher, calls, gate = _batcher(max_batch_size=64)

    async def main() -> list[object]:
        gate.clear()
        first = asyncio.ensure_future(batcher.submit(_job(0)))
        await asyncio.sleep(0.02)  # the model is busy with the first one
        rest = [asyncio.ensure_future(batcher.submit(_job(i))) for i in range(1, 11)]
        await asyncio.sleep(0.02)
        gate.set()
        return await asyncio.gather(first, *rest)

    assert _arun(main) == list(range(11))
    assert calls == [[1], [1] * 10]


def test_merging_stops_at_max_batch_size_and_never_splits_a_request() -> None:
    batcher, calls, gate = _batcher(max_batch_size=4)

    async def main() -> None:
        gate.clear()
        futs = [asyncio.ensure_future(batcher.submit(_job(i, rows))) for i, rows in
                enumerate([1, 2, 2, 3, 9, 1])]
        await asyncio.sleep(0.02)
        gate.set()
        await asyncio.gather(*futs)

    _arun(main)
    assert calls == [[1], [2, 2], [3], [9], [1]]


def test_the_latency_budget_limits_merging_for_row_costly_models() -> None:
    batcher, calls, gate = _batcher(max_batch_size=1000, max_latency=0.005)

    class Learnt(CostModel):
        per_row = 0.002  # type: ignore[assignment]

    batcher.cost = Learnt()

    async def main() -> None:
        gate.clear()
        futs = [asyncio.ensure_future(batcher.submit(_job(i))) for i in range(8)]
        await asyncio.sleep(0.02)
        gate.set()
        await asyncio.gather(*futs)

    _arun(main)
    # 2 ms a row and a 5 ms budget: a call merges at most 2 more rows than its first
    assert max(len(c) for c in calls) == 3
    assert sum(len(c) for c in calls) == 8


def test_a_zero_budget_turns_merging_off() -> None:
    batcher, calls, gate = _batcher(max_latency=0.0)

    async def main() -> None:
        gate.clear()
        futs = [asyncio.ensure_future(batcher.submit(_job(i))) for i in range(4)]
        await asyncio.sleep(0.02)
        gate.set()
        await asyncio.gather(*futs)

    _arun(main)
    assert calls == [[1]] * 4


def test_a_full_queue_refuses_with_overloaded() -> None:
    batcher, _, gate = _batcher(max_queue_rows=3)

    async def main() -> None:
        gate.clear()
        futs = [asyncio.ensure_future(batcher.submit(_job(i))) for i in range(4)]
        await asyncio.sleep(0.02)
        with pytest.raises(OverloadedError, match="limit 3"):
            await batcher.submit(_job("late"))
        gate.set()
        await asyncio.gather(*futs)

    _arun(main)


def test_a_request_past_its_timeout_fails_and_is_skipped() -> None:
    batcher, calls, gate = _batcher()

    async def main() -> None:
        gate.clear()
        first = asyncio.ensure_future(batcher.submit(_job("first")))
        await asyncio.sleep(0.01)
        with pytest.raises(PredictionTimeoutError, match=r"0\.05s"):
            await batcher.submit(_job("slow"), timeout=0.05)
        gate.set()
        assert await first == "first"
        await asyncio.sleep(0.05)

    _arun(main)
    assert calls == [[1]]  # the expired request never reached the model


def test_each_request_gets_its_own_error() -> None:
    batcher, _, gate = _batcher()

    async def main() -> list[object]:
        gate.clear()
        futs = [asyncio.ensure_future(batcher.submit(_job(v))) for v in ("a", "boom", "c")]
        await asyncio.sleep(0.02)
        gate.set()
        return await asyncio.gather(*futs, return_exceptions=True)

    a, boom, c = _arun(main)
    assert (a, c) == ("a", "c")
    assert isinstance(boom, ValueError)


def test_cost_model_learns_fixed_and_per_row_cost() -> None:
    cost = CostModel()
    assert cost.per_row == 0.0
    for rows in (1, 4, 16, 64, 1, 32):
        cost.observe(rows, 0.005 + 0.0001 * rows)
    assert cost.per_row == pytest.approx(0.0001, rel=1e-6)
    assert cost.fixed == pytest.approx(0.005, rel=1e-6)
    same = CostModel()
    for _ in range(5):
        same.observe(1, 0.01)
    assert same.per_row == 0.0  # one batch size only: no slope to learn yet


def test_fast_models_run_in_the_event_loop_and_still_merge() -> None:
    """Calls known to take under ``inline_below`` run in the loop thread (no thread switch);
    requests submitted in the same loop iteration become one call."""
    threads: list[str] = []
    calls: list[int] = []

    def run(jobs: list[Job]) -> None:
        threads.append(threading.current_thread().name)
        calls.append(len(jobs))
        for job in jobs:
            job.result = job.input

    batcher = MicroBatcher(run, executor=ThreadPoolExecutor(1), inline_below=0.01)
    batcher.cost.observe(1, 0.0001)

    loop_thread: list[str] = []

    async def main() -> list[object]:
        loop_thread.append(threading.current_thread().name)
        futs = [asyncio.ensure_future(batcher.submit(_job(i))) for i in range(5)]
        return await asyncio.gather(*futs)

    assert _arun(main) == list(range(5))
    assert calls == [5]
    assert threads == loop_thread
