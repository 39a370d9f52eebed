"""Streaming artifacts through the server in bounded memory, both ways.

Upload: the ASGI request body (async chunks) feeds a synchronous file object that the
tracking service reads in a worker thread; a bounded queue between them applies
back-pressure, so at most ``QUEUE_CHUNKS`` chunks (plus one read's worth) are in memory
whatever the size. A client that disconnects mid-upload makes the reader raise, so the
store's atomic ``put`` publishes nothing.

Download: the store's stream is read in 1 MiB chunks; ``Range: bytes=a-b`` selects a window.
"""

from __future__ import annotations

import functools
import io
import queue
import re
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import BinaryIO, TypeVar

import anyio
import anyio.to_thread

from shipyard.errors import InvalidArgumentError, RangeNotSatisfiableError

T = TypeVar("T")
QUEUE_CHUNKS = 16
CHUNK = 1024 * 1024
_END = b""


class QueueReader(io.RawIOBase):
    """A blocking, read-only file over chunks put into a bounded queue by another thread.

    ``read(n)`` returns exactly ``n`` bytes unless the stream ends (S3 multipart uploads need
    full parts)."""

    def __init__(self, maxsize: int = QUEUE_CHUNKS) -> None:
        super().__init__()
        self.queue: queue.Queue[bytes | BaseException] = queue.Queue(maxsize)
        self._buf = bytearray()
        self._eof = False
        self.done = threading.Event()  # set when the consumer stops reading

    def readable(self) -> bool:
        return True

    def _fill(self, want: int) -> None:
        while not self._eof and (want < 0 or len(self._buf) < want):
            item = self.queue.get()
            if isinstance(item, BaseException):
                self._eof = True
                msg = f"The upload ended before its last byte ({type(item).__name__})."
                raise InvalidArgumentError(msg, hint="send the artifact again") from item
            if item == _END:
                self._eof = True
            else:
                self._buf += item

    def read(self, size: int | None = -1) -> bytes:
        want = -1 if size is None or size < 0 else size
        self._fill(want)
        n = len(self._buf) if want < 0 else min(want, len(self._buf))
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


async def _put(reader: QueueReader, item: bytes | BaseException) -> bool:
    """Queue one item, waiting (off the event loop) while the queue is full. False when the
    consumer has stopped reading."""
    while not reader.done.is_set():
        try:
            reader.queue.put_nowait(item)
            return True
        except queue.Full:
            try:
                await anyio.to_thread.run_sync(
                    functools.partial(reader.queue.put, item, timeout=0.2))
                return True
            except queue.Full:
                continue
    return False


async def consume_upload(chunks: AsyncIterator[bytes],
                         work: Callable[[BinaryIO], T]) -> T:
    """Run ``work(file)`` in a worker thread while ``chunks`` are fed to ``file``."""
    reader = QueueReader()
    result: list[T] = []

    def run() -> None:
        try:
            result.append(work(reader))  # type: ignore[arg-type]
        finally:
            reader.done.set()  # a producer waiting for room gives up within 0.2 s

    async def pump() -> None:
        try:
            async for chunk in chunks:
                if chunk and not await _put(reader, chunk):
                    return
        except Exception as exc:
            await _put(reader, exc)
            return
        await _put(reader, _END)

    failed: list[Exception] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(pump)
        try:
            await anyio.to_thread.run_sync(run)
        except Exception as exc:  # re-raised below, outside the task group
            failed.append(exc)
        finally:
            tg.cancel_scope.cancel()
    if failed:
        raise failed[0]  # as itself, so the error handlers see the ShipyardError
    return result[0]


_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(start, end_exclusive)`` for a single ``bytes=`` range, None without a header.

    Raises `RangeNotSatisfiableError` for a malformed range, several ranges, or one that
    starts past the end."""
    if header is None:
        return None
    m = _RANGE.match(header)
    if m is None or (not m.group(1) and not m.group(2)):
        msg = (f"The Range header {header!r} is not one 'bytes=START-END', 'bytes=START-' or "
               f"'bytes=-SUFFIX' range.")
        raise RangeNotSatisfiableError(msg)
    first, last = m.group(1), m.group(2)
    if not first:  # suffix: the last N bytes
        n = int(last)
        if n == 0:
            msg = f"The Range {header!r} asks for no bytes of an artifact of {size} bytes."
            raise RangeNotSatisfiableError(msg)
        return max(0, size - n), size
    start = int(first)
    end = size if not last else min(int(last) + 1, size)
    if start >= size or (last and int(last) < start):
        msg = f"The Range {header!r} is outside the artifact's {size} bytes."
        raise RangeNotSatisfiableError(msg)
    return start, end


def iter_file(stream: BinaryIO, chunk: int = CHUNK) -> Iterator[bytes]:
    """Chunks of ``stream`` (closed at the end, or when the response is abandoned)."""
    try:
        while data := stream.read(chunk):
            yield data
    finally:
        stream.close()
