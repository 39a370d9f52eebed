"""The byte-level artifact port. Hashing, key policy and serializers live one layer up
(``shipyard.artifacts``) and are written once for every backend."""

from __future__ import annotations

import abc
from collections.abc import Iterator
from typing import BinaryIO


class ArtifactStore(abc.ABC):
    """Stores bytes under ``/``-separated keys.

    Contract: ``put`` is atomic (a reader sees the whole object or nothing, even if the writer
    dies mid-way) and streams (memory stays bounded whatever the size). Keys have been checked
    by the caller: no ``..``, no leading ``/``, no empty parts.
    """

    backend_name: str = "abstract"

    def after_fork(self) -> None:  # noqa: B027  (optional hook: most stores hold no sockets)
        """Called in a child process right after ``os.fork()`` (``shipyard serve
        --workers``): stop using connections inherited from the parent, without closing
        them (they are the parent's too). The default has none."""

    @abc.abstractmethod
    def put(self, key: str, stream: BinaryIO, *, overwrite: bool = True) -> int:
        """Store the stream's bytes under ``key``; return the number of bytes written.
        Raises `ArtifactAlreadyExistsError` when ``overwrite`` is False and the key exists."""

    @abc.abstractmethod
    def open(self, key: str, *, start: int = 0, end: int | None = None) -> BinaryIO:
        """A readable binary stream of the object (bytes ``start`` to ``end`` exclusive).
        Raises `ArtifactNotFoundError`."""

    @abc.abstractmethod
    def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key``."""

    @abc.abstractmethod
    def size(self, key: str) -> int:
        """Size in bytes. Raises `ArtifactNotFoundError`."""

    @abc.abstractmethod
    def list(self, prefix: str = "") -> Iterator[str]:
        """Keys that start with ``prefix``; order is not to be relied on."""

    @abc.abstractmethod
    def delete(self, key: str) -> None:
        """Remove one object; idempotent."""

    def delete_prefix(self, prefix: str) -> int:
        """Remove every object under ``prefix``; returns how many were removed."""
        keys = list(self.list(prefix))
        for key in keys:
            self.delete(key)
        return len(keys)

    @abc.abstractmethod
    def uri(self, key: str) -> str:
        """A URI a person can recognise (file:///..., s3://bucket/...)."""
