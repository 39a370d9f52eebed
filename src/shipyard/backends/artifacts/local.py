"""Artifacts as files under a local folder (the laptop default).

A ``put`` streams into a hidden temp file in the target folder and then renames it into place,
so readers see the old bytes or the new ones, never a half-written file.
"""

from __future__ import annotations

import contextlib
import io
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO
from urllib.parse import urlsplit
from urllib.request import url2pathname

from shipyard.errors import (
    ArtifactAlreadyExistsError,
    ArtifactNotFoundError,
    BackendError,
    ConfigError,
    invalid,
)
from shipyard.stores.artifacts import ArtifactStore

if TYPE_CHECKING:
    from shipyard.config import Settings

CHUNK_SIZE = 1024 * 1024
TMP_PREFIX = ".tmp-"  # in-flight uploads; list() never reports them
_MISSING = (FileNotFoundError, IsADirectoryError, NotADirectoryError)


def _check_range(start: int, end: int | None) -> None:
    if start < 0 or (end is not None and end < start):
        expected = "0 <= start <= end (end may be None)"
        err = invalid("start/end", (start, end), expected, where="LocalArtifactStore.open")
        raise err


class _Window(io.RawIOBase):
    """At most ``remaining`` bytes of an open file, so a ranged read still streams."""

    def __init__(self, raw: io.FileIO, remaining: int) -> None:
        super().__init__()
        self._raw, self._remaining = raw, remaining

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        want = min(len(buffer), self._remaining)
        got = self._raw.readinto(memoryview(buffer)[:want]) if want > 0 else 0
        self._remaining -= got or 0
        return got or 0

    def close(self) -> None:
        self._raw.close()
        super().close()


class LocalArtifactStore(ArtifactStore):
    """Stores each key as the file ``<root>/<key>``."""

    backend_name = "local"

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser().absolute()

    @classmethod
    def from_uri(cls, uri: str, settings: Settings | None = None) -> LocalArtifactStore:
        """``file:///abs/path`` (``file:///~/x`` means the home folder) or a bare path."""
        del settings  # nothing to configure beyond the path
        if "://" not in uri:
            return cls(uri)
        parts = urlsplit(uri)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
            msg = f"Artifact URI {uri!r} must be a local file:/// URL. Got host {parts.netloc!r}."
            raise ConfigError(msg, hint="set SHIPYARD_ARTIFACT_URI=file:///absolute/path")
        path = url2pathname(parts.path)
        return cls(path[1:] if path.startswith("/~") else path)

    # -- port ---------------------------------------------------------------------------
    def put(self, key: str, stream: BinaryIO, *, overwrite: bool = True) -> int:
        """Copy in 1 MiB chunks to a temp file, then rename it over ``key`` atomically."""
        path = self._path(key)
        if not overwrite and path.exists():
            raise self._exists(key)
        with self._errors("write", key):
            try:
                fd, tmp = _temp_file(path.parent)
            except FileNotFoundError:  # a concurrent delete pruned the folder: once more
                fd, tmp = _temp_file(path.parent)
        size = 0
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK_SIZE):
                    out.write(chunk)
                    size += len(chunk)
            _publish(tmp, path, overwrite=overwrite)
        except FileExistsError as exc:
            raise self._exists(key) from exc
        except OSError as exc:
            err = self._failure("write", key, exc)
            raise err from exc
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)  # already renamed on success; a leftover on failure
        return size

    def open(self, key: str, *, start: int = 0, end: int | None = None) -> BinaryIO:
        """A buffered reader positioned at ``start`` that stops at ``end``."""
        _check_range(start, end)
        with self._errors("read", key):
            raw = io.FileIO(self._path(key), "rb")
        if start:
            raw.seek(start)
        if end is None:
            return io.BufferedReader(raw)
        return io.BufferedReader(_Window(raw, end - start))

    def exists(self, key: str) -> bool:
        """Whether ``key`` is a stored file."""
        return self._path(key).is_file()

    def size(self, key: str) -> int:
        """Size of the stored file."""
        path = self._path(key)
        with self._errors("read", key):
            if not path.is_file():
                raise FileNotFoundError(path)
            return path.stat().st_size

    def list(self, prefix: str = "") -> Iterator[str]:
        """Walk only the folder the prefix points into, skipping in-flight temp files."""
        folder = [p for p in prefix.rpartition("/")[0].split("/") if p]
        if ".." in folder or prefix.startswith("/"):
            err = invalid("prefix", prefix, "a relative prefix without '..'", where="list")
            raise err
        for dirpath, dirnames, filenames in os.walk(self.root.joinpath(*folder)):
            rel = Path(dirpath).relative_to(self.root).as_posix()
            base = "" if rel == "." else f"{rel}/"
            dirnames[:] = sorted(d for d in dirnames if f"{base}{d}/".startswith(prefix))
            for name in sorted(filenames):
                if not name.startswith(TMP_PREFIX) and (base + name).startswith(prefix):
                    yield base + name

    def delete(self, key: str) -> None:
        """Remove the file and any folders it leaves empty; a missing key is fine."""
        path = self._path(key)
        if not path.is_file():
            return
        with self._errors("delete", key):
            path.unlink(missing_ok=True)
        for parent in path.parents:
            if parent == self.root:
                break
            try:
                parent.rmdir()
            except OSError:
                break  # not empty (or gone): stop pruning

    def uri(self, key: str) -> str:
        """``file:///...`` URL of the stored file."""
        return (self.root / key).as_uri()

    # -- helpers ------------------------------------------------------------------------
    def _path(self, key: str) -> Path:
        """Defence in depth: even a caller that skipped validation cannot leave ``root``."""
        parts = key.split("/")
        if key.startswith("/") or any(
            p in ("", ".", "..") or p.startswith(TMP_PREFIX) for p in parts
        ):
            expected = "a relative '/'-separated key without '', '.', '..' or '.tmp-' parts"
            err = invalid("key", key, expected, where="LocalArtifactStore")
            raise err
        return self.root.joinpath(*parts)

    @contextlib.contextmanager
    def _errors(self, action: str, key: str) -> Iterator[None]:
        try:
            yield
        except _MISSING as exc:
            if action == "write":
                raise self._failure(action, key, exc) from exc
            msg = f"Artifact {key!r} does not exist in {str(self.root)!r}."
            raise ArtifactNotFoundError(msg, hint="list the stored keys with list(prefix)") from exc
        except OSError as exc:
            raise self._failure(action, key, exc) from exc

    def _exists(self, key: str) -> ArtifactAlreadyExistsError:
        msg = f"Artifact {key!r} already exists in {str(self.root)!r}."
        return ArtifactAlreadyExistsError(msg, hint="pass overwrite=True to replace it")

    def _failure(self, action: str, key: str, exc: OSError) -> BackendError:
        msg = f"Could not {action} artifact {key!r} under {str(self.root)!r}: {exc}"
        hint = "check that the folder exists, is writable and has free space"
        return BackendError(msg, hint=hint, backend="local")


def _temp_file(folder: Path) -> tuple[int, str]:
    """A new hidden temp file in ``folder``; unlike mkstemp's 0600 it gets the umask's mode."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = str(folder / f"{TMP_PREFIX}{uuid.uuid4().hex}")
    return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp


def _publish(tmp: str, path: Path, *, overwrite: bool) -> None:
    """Rename ``tmp`` to ``path``; without ``overwrite``, fail if ``path`` appeared meanwhile."""
    if overwrite:
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path)  # atomic no-clobber: raises FileExistsError
    except FileExistsError:
        raise
    except OSError:  # no hard links on this filesystem: check, then rename
        if path.exists():
            raise FileExistsError(path) from None
        os.replace(tmp, path)
