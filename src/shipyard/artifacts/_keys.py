"""Artifact path policy and one-pass hashing, shared by every backend.

Stores trust their keys (see `ArtifactStore`), so the checks that keep a user's path inside its
run live here, once, instead of in each adapter.
"""

from __future__ import annotations

import hashlib
import io
import re
from typing import BinaryIO

from shipyard.errors import InvalidArgumentError

MAX_PATH_LENGTH = 1024
_DRIVE = re.compile(r"^[A-Za-z]:")
_HINT = "use a relative path such as 'model/weights.bin'"


def _reject(path: str, expected: str) -> InvalidArgumentError:
    msg = f"Artifact path {path!r} must be {expected}. Got {path!r}."
    return InvalidArgumentError(msg, hint=_HINT)


def validate_artifact_path(path: str) -> str:
    """Return ``path`` with ``\\`` turned into ``/``, or raise `InvalidArgumentError`.

    A path names a file inside a run, so it must never climb out of it (``..``), point at
    the filesystem root, or smuggle characters that some backends treat specially.
    """
    if not isinstance(path, str):
        msg = f"Artifact path must be a str. Got {path!r} ({type(path).__name__})."
        raise InvalidArgumentError(msg, hint=_HINT)
    if not path:
        raise _reject(path, "a non-empty relative path")
    if len(path) > MAX_PATH_LENGTH:
        raise _reject(path, f"at most {MAX_PATH_LENGTH} characters long (it has {len(path)})")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in path):
        raise _reject(path, "free of NUL and other control characters")
    norm = path.replace("\\", "/")
    if norm.startswith("/") or _DRIVE.match(norm):
        raise _reject(path, "a relative path, not an absolute one")
    parts = norm.split("/")
    if ".." in parts:
        raise _reject(path, "a relative path inside the run without '..' parts")
    if "." in parts:
        raise _reject(path, "a path without '.' parts")
    if "" in parts:
        raise _reject(path, "a path without empty parts ('a//b', a trailing '/')")
    return norm


class HashingReader(io.RawIOBase):
    """Pass bytes through while computing their sha256 and size.

    Wrapping the caller's stream lets a store's ``put`` stream and hash in one pass, so large
    artifacts are read once and never held in memory.
    """

    def __init__(self, stream: BinaryIO) -> None:
        super().__init__()
        self._stream = stream
        self._hash = hashlib.sha256()
        self._size = 0

    def readable(self) -> bool:
        """Always readable: this is a read-only view."""
        return True

    def read(self, size: int | None = -1) -> bytes:
        """Read up to ``size`` bytes from the wrapped stream and account for them."""
        data = self._stream.read(-1 if size is None else size)
        self._hash.update(data)
        self._size += len(data)
        return data

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        """Fill ``buffer``; lets `io.BufferedReader` and friends wrap this reader."""
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    @property
    def sha256(self) -> str:
        """Hex digest of the bytes read so far."""
        return self._hash.hexdigest()

    @property
    def size(self) -> int:
        """Number of bytes read so far."""
        return self._size
