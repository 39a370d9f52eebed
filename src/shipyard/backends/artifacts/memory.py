"""Artifacts in a dict: the fake for unit tests, held to the same contract as real backends."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, BinaryIO

from shipyard.errors import ArtifactAlreadyExistsError, ArtifactNotFoundError, invalid
from shipyard.stores.artifacts import ArtifactStore

if TYPE_CHECKING:
    from shipyard.config import Settings

CHUNK_SIZE = 1024 * 1024


class MemoryArtifactStore(ArtifactStore):
    """Thread-safe; the stream is read outside the lock, so a slow writer blocks nobody."""

    backend_name = "memory"

    def __init__(self, name: str = "default") -> None:
        self.name = name
        self._objects: dict[str, bytes] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_uri(cls, uri: str, settings: Settings | None = None) -> MemoryArtifactStore:
        """``memory://name``: a fresh, empty store (nothing is shared between instances)."""
        del settings
        return cls(uri.partition("://")[2].strip("/") or "default")

    def put(self, key: str, stream: BinaryIO, *, overwrite: bool = True) -> int:
        """Read in chunks, then publish the whole value at once (atomic for readers)."""
        if not overwrite and self.exists(key):
            raise self._exists(key)
        chunks = []
        while chunk := stream.read(CHUNK_SIZE):
            chunks.append(chunk)
        data = b"".join(chunks)
        with self._lock:
            if not overwrite and key in self._objects:
                raise self._exists(key)
            self._objects[key] = data
        return len(data)

    def open(self, key: str, *, start: int = 0, end: int | None = None) -> BinaryIO:
        """A `BytesIO` over the requested slice."""
        if start < 0 or (end is not None and end < start):
            expected = "0 <= start <= end (end may be None)"
            err = invalid("start/end", (start, end), expected, where="MemoryArtifactStore.open")
            raise err
        return io.BytesIO(self._get(key)[start:end])

    def exists(self, key: str) -> bool:
        """Whether ``key`` is stored."""
        with self._lock:
            return key in self._objects

    def size(self, key: str) -> int:
        """Length of the stored value."""
        return len(self._get(key))

    def list(self, prefix: str = "") -> Iterator[str]:
        """A sorted snapshot, so concurrent writes cannot break the iteration."""
        with self._lock:
            keys = sorted(k for k in self._objects if k.startswith(prefix))
        return iter(keys)

    def delete(self, key: str) -> None:
        """Drop ``key``; a missing key is fine."""
        with self._lock:
            self._objects.pop(key, None)

    def delete_prefix(self, prefix: str) -> int:
        """Drop every key under ``prefix`` in one locked step."""
        with self._lock:
            doomed = [k for k in self._objects if k.startswith(prefix)]
            for key in doomed:
                del self._objects[key]
        return len(doomed)

    def uri(self, key: str) -> str:
        """``memory://<name>/<key>``."""
        return f"memory://{self.name}/{key}"

    def _get(self, key: str) -> bytes:
        with self._lock:
            data = self._objects.get(key)
        if data is None:
            msg = f"Artifact {key!r} does not exist in memory store {self.name!r}."
            raise ArtifactNotFoundError(msg, hint="list the stored keys with list(prefix)")
        return data

    def _exists(self, key: str) -> ArtifactAlreadyExistsError:
        msg = f"Artifact {key!r} already exists in memory store {self.name!r}."
        return ArtifactAlreadyExistsError(msg, hint="pass overwrite=True to replace it")
