"""The `ArtifactStore` contract suite: every backend, built-in or third-party, must pass it.

Subclass it in a test module named ``Test...`` and override the ``store`` fixture with an empty
store (for shared services, give each test its own prefix)::

    class TestLocalArtifactStore(ArtifactStoreContract):
        @pytest.fixture
        def store(self, tmp_path):
            return LocalArtifactStore(tmp_path)
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
from collections.abc import Callable
from typing import Any, BinaryIO, cast

import pytest

from shipyard.artifacts import HashingReader
from shipyard.errors import ArtifactAlreadyExistsError, ArtifactNotFoundError, InvalidArgumentError
from shipyard.stores.artifacts import ArtifactStore

MIB = 1024 * 1024
LARGE_SIZE = 64 * MIB
MAX_READ = 16 * MIB  # a streaming put asks for at most this much per read()
SAMPLE = bytes(range(256)) * 40 + b"\x00\r\n\xff end"  # every byte value, odd length


class StreamBrokeError(Exception):
    """Raised by `GeneratedStream` to simulate a writer dying mid-upload."""


class GeneratedStream:
    """A file-like object over random bytes made on demand, never held whole in memory.

    It records how the store reads it, so a test can tell streaming from slurping.
    """

    def __init__(
        self,
        size: int,
        *,
        fail_at: int | None = None,
        on_read: Callable[[int], None] | None = None,
    ) -> None:
        self.size, self.fail_at, self.on_read = size, fail_at, on_read
        self.position = self.reads = self.max_request = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        """Hand out at most ``size`` fresh bytes; ``read()`` asks for everything that is left."""
        remaining = self.size - self.position
        request = remaining if size is None or size < 0 else size
        self.reads += 1
        self.max_request = max(self.max_request, request)
        count = min(request, remaining)
        if self.fail_at is not None and self.position + count >= self.fail_at:
            msg = f"stream broke at byte {self.fail_at}"
            raise StreamBrokeError(msg)
        if self.on_read is not None:
            self.on_read(self.position)
        self.position += count
        return os.urandom(count)

    def as_binary(self) -> BinaryIO:
        """This object, typed as the port expects (it implements what ``put`` may call)."""
        return cast("BinaryIO", self)


def read_all(store: ArtifactStore, key: str, **kwargs: Any) -> bytes:
    with store.open(key, **kwargs) as stream:
        return stream.read()


def sha256_of(store: ArtifactStore, key: str) -> tuple[str, int]:
    """Hash an object by reading it back in 1 MiB chunks."""
    digest, size = hashlib.sha256(), 0
    with store.open(key) as stream:
        while chunk := stream.read(MIB):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


class ArtifactStoreContract:
    """Behaviour every `ArtifactStore` must show. Not collected itself (no ``Test`` prefix)."""

    @pytest.fixture
    def store(self) -> ArtifactStore:
        """Override: an empty store of the backend under test."""
        pytest.fail("a contract subclass must override the 'store' fixture")

    # -- put / open ---------------------------------------------------------------------
    def test_put_then_open_round_trips_and_returns_size(self, store: ArtifactStore) -> None:
        assert store.put("run/model.bin", io.BytesIO(SAMPLE)) == len(SAMPLE)
        assert read_all(store, "run/model.bin") == SAMPLE

    def test_empty_object_round_trips(self, store: ArtifactStore) -> None:
        assert store.put("empty", io.BytesIO(b"")) == 0
        assert read_all(store, "empty") == b""
        assert store.size("empty") == 0

    def test_put_overwrites_by_default(self, store: ArtifactStore) -> None:
        store.put("k", io.BytesIO(b"old bytes"))
        store.put("k", io.BytesIO(b"new"))
        assert read_all(store, "k") == b"new"

    def test_put_without_overwrite_raises_already_exists(self, store: ArtifactStore) -> None:
        store.put("k", io.BytesIO(b"first"))
        with pytest.raises(ArtifactAlreadyExistsError, match="'k'"):
            store.put("k", io.BytesIO(b"second"), overwrite=False)
        assert read_all(store, "k") == b"first"

    def test_put_without_overwrite_writes_a_new_key(self, store: ArtifactStore) -> None:
        assert store.put("fresh", io.BytesIO(b"x"), overwrite=False) == 1
        assert read_all(store, "fresh") == b"x"

    @pytest.mark.parametrize(
        ("start", "end"),
        [(0, None), (7, None), (0, 10), (5, 300), (10, 10), (len(SAMPLE) - 1, None),
         (len(SAMPLE), None), (len(SAMPLE) + 5, None), (100, len(SAMPLE) + 100)],
    )  # fmt: skip
    def test_open_reads_byte_ranges(
        self, store: ArtifactStore, start: int, end: int | None
    ) -> None:
        store.put("ranged", io.BytesIO(SAMPLE))
        assert read_all(store, "ranged", start=start, end=end) == SAMPLE[start:end]

    @pytest.mark.parametrize(("start", "end"), [(-1, None), (10, 5)])
    def test_open_rejects_invalid_ranges(
        self, store: ArtifactStore, start: int, end: int | None
    ) -> None:
        store.put("ranged", io.BytesIO(SAMPLE))
        with pytest.raises(InvalidArgumentError):
            store.open("ranged", start=start, end=end)

    def test_open_missing_raises_not_found_naming_the_key(self, store: ArtifactStore) -> None:
        with pytest.raises(ArtifactNotFoundError, match="no/such/key"):
            store.open("no/such/key")
        with pytest.raises(ArtifactNotFoundError, match="no/such/key"):
            store.open("no/such/key", start=3, end=3)

    # -- metadata -----------------------------------------------------------------------
    def test_exists_and_size(self, store: ArtifactStore) -> None:
        assert not store.exists("a/b.txt")
        store.put("a/b.txt", io.BytesIO(SAMPLE))
        assert store.exists("a/b.txt")
        assert store.size("a/b.txt") == len(SAMPLE)
        assert not store.exists("a")  # a "folder" is not an object

    def test_size_of_missing_raises_not_found(self, store: ArtifactStore) -> None:
        with pytest.raises(ArtifactNotFoundError, match="missing"):
            store.size("missing")

    def test_list_filters_by_prefix_across_nesting(self, store: ArtifactStore) -> None:
        keys = ["a/b/c.txt", "a/b/d/e.txt", "a/f.txt", "ab.txt", "z.txt"]
        for key in keys:
            store.put(key, io.BytesIO(key.encode()))
        assert sorted(store.list()) == sorted(keys)
        assert sorted(store.list("a/")) == ["a/b/c.txt", "a/b/d/e.txt", "a/f.txt"]
        assert sorted(store.list("a")) == ["a/b/c.txt", "a/b/d/e.txt", "a/f.txt", "ab.txt"]
        assert sorted(store.list("a/b/d")) == ["a/b/d/e.txt"]
        assert sorted(store.list("a/b/c")) == ["a/b/c.txt"]
        assert list(store.list("nothing/")) == []

    def test_uri_contains_the_key(self, store: ArtifactStore) -> None:
        store.put("dir/file.txt", io.BytesIO(b"x"))
        assert store.uri("dir/file.txt").endswith("dir/file.txt")
        assert "://" in store.uri("dir/file.txt")

    # -- delete -------------------------------------------------------------------------
    def test_delete_is_idempotent(self, store: ArtifactStore) -> None:
        store.put("gone/soon.txt", io.BytesIO(b"x"))
        store.delete("gone/soon.txt")
        assert not store.exists("gone/soon.txt")
        store.delete("gone/soon.txt")
        store.delete("never/existed")
        assert list(store.list("gone/")) == []

    def test_delete_prefix_removes_only_that_prefix(self, store: ArtifactStore) -> None:
        for key in ["run1/a", "run1/b/c", "run1/b/d", "run10/a", "run2/a"]:
            store.put(key, io.BytesIO(b"x"))
        assert store.delete_prefix("run1/") == 3
        assert sorted(store.list()) == ["run10/a", "run2/a"]
        assert store.delete_prefix("run1/") == 0

    # -- streaming and atomicity --------------------------------------------------------
    def test_large_put_streams_in_bounded_reads(self, store: ArtifactStore) -> None:
        source = GeneratedStream(LARGE_SIZE)
        hashing = HashingReader(source.as_binary())
        assert store.put("big/blob.bin", cast("BinaryIO", hashing)) == LARGE_SIZE
        assert source.max_request <= MAX_READ, "put() must read in chunks, not all at once"
        assert source.reads > LARGE_SIZE // MAX_READ
        assert store.size("big/blob.bin") == LARGE_SIZE
        assert sha256_of(store, "big/blob.bin") == (hashing.sha256, LARGE_SIZE)

    def test_failed_put_leaves_nothing_visible(self, store: ArtifactStore) -> None:
        source = GeneratedStream(24 * MIB, fail_at=12 * MIB)
        with pytest.raises(StreamBrokeError):
            store.put("broken/blob.bin", source.as_binary())
        assert not store.exists("broken/blob.bin")
        assert list(store.list("broken")) == []
        assert list(store.list()) == []

    def test_failed_overwrite_keeps_the_old_bytes(self, store: ArtifactStore) -> None:
        store.put("model.bin", io.BytesIO(SAMPLE))
        with pytest.raises(StreamBrokeError):
            store.put("model.bin", GeneratedStream(24 * MIB, fail_at=12 * MIB).as_binary())
        assert read_all(store, "model.bin") == SAMPLE
        assert list(store.list()) == ["model.bin"]

    def test_key_is_invisible_while_put_streams(self, store: ArtifactStore) -> None:
        seen: list[tuple[bool, list[str]]] = []

        def look(position: int) -> None:
            if position and not seen:
                seen.append((store.exists("live/blob.bin"), list(store.list())))

        store.put("live/blob.bin", GeneratedStream(20 * MIB, on_read=look).as_binary())
        assert seen == [(False, [])]
        assert store.size("live/blob.bin") == 20 * MIB

    def test_concurrent_puts_leave_one_whole_value(self, store: ArtifactStore) -> None:
        values = [bytes([i]) * (MIB + i) for i in range(4)]
        threads = [
            threading.Thread(target=store.put, args=("race.bin", io.BytesIO(v))) for v in values
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert read_all(store, "race.bin") in values
        assert list(store.list()) == ["race.bin"]
