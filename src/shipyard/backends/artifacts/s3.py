"""Artifacts in S3 or an S3-compatible service (SeaweedFS, MinIO), through boto3.

Uploads stream through ``upload_fileobj`` (multipart, bounded memory); S3 publishes an object
only when its upload completes, and a failed multipart upload is aborted, so ``put`` is atomic.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import urlsplit

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from shipyard import errors
from shipyard.stores.artifacts import ArtifactStore

if TYPE_CHECKING:
    from shipyard.config import Settings

TRANSFER = TransferConfig(max_concurrency=4)  # 8 MiB parts (the default) ...
TRANSFER.max_in_memory_upload_chunks = 4  # ... at most 4 in memory (boto3's __init__ lacks it)
RETRIES = Config(retries={"mode": "standard", "max_attempts": 3})
_MISSING = {"404", "NoSuchKey", "NotFound", "NoSuchBucket"}
_UNREACHABLE = (BotoConnectionError, HTTPClientError)
_HINTS = {  # by "is the endpoint unreachable?"
    True: "the endpoint is unreachable: check SHIPYARD_S3_ENDPOINT_URL and that it is running",
    False: "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, the region and the bucket policy",
}


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class _Stream(io.RawIOBase):
    """Counts bytes read from ``source`` and translates read errors with ``guard``.

    No ``seek``, so boto3 uploads it in chunks; as a GET body, a lost connection is ours."""

    def __init__(self, source: Any, guard: Any = contextlib.nullcontext, *, owned: bool) -> None:
        super().__init__()
        self._source, self._guard, self._owned, self.size = source, guard, owned, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        with self._guard():
            data = self._source.read(len(buffer))
        buffer[: len(data)] = data
        self.size += len(data)
        return len(data)

    def close(self) -> None:
        if self._owned:  # never close the caller's stream
            self._source.close()
        super().close()


class S3ArtifactStore(ArtifactStore):
    """Stores each key as the object ``<prefix>/<key>`` in ``bucket`` (created on first put)."""

    backend_name = "s3"

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        client: Any = None,
    ) -> None:
        self.bucket, self.prefix, self.region = bucket, prefix.strip("/"), region
        self._base = f"{self.prefix}/" if self.prefix else ""  # prepended to every key
        self._options: dict[str, Any] = {"endpoint_url": endpoint_url, "region_name": region,
                                         "config": RETRIES}
        self._own_client = client is None
        # Any: the caller may pass its own client (anything with boto3 S3 methods)
        self._client: Any = client or boto3.session.Session().client("s3", **self._options)
        self._bucket_ready = False  # a race only costs a second HEAD; create tolerates it
        self._pid = os.getpid()
        self._inherited: list[Any] = []

    def after_fork(self) -> None:
        """A boto3 client (and connection pool) of this process's own; the inherited one's
        sockets stay the parent's: kept, not closed. A caller-supplied client is kept."""
        if self._pid == os.getpid() or not self._own_client:
            return
        self._pid = os.getpid()
        self._inherited.append(self._client)
        self._client = boto3.session.Session().client("s3", **self._options)

    @classmethod
    def from_uri(cls, uri: str, settings: Settings | None = None) -> S3ArtifactStore:
        """``s3://bucket/prefix``; endpoint and region come from ``settings``."""
        parts = urlsplit(uri)
        if parts.scheme != "s3" or not parts.netloc:
            msg = f"Artifact URI {uri!r} must look like 's3://bucket/prefix'."
            raise errors.ConfigError(msg, hint="set SHIPYARD_ARTIFACT_URI=s3://my-bucket/shipyard")
        endpoint = settings.s3_endpoint_url if settings else None
        region = settings.s3_region if settings else "us-east-1"
        return cls(parts.netloc, parts.path, endpoint_url=endpoint, region=region)

    def put(self, key: str, stream: BinaryIO, *, overwrite: bool = True) -> int:
        """Multipart-upload in 8 MiB parts. ``overwrite=False`` checks first (not race-free)."""
        self._ensure_bucket()
        if not overwrite and self.exists(key):
            msg = f"Artifact {key!r} already exists at {self.uri(key)!r}."
            raise errors.ArtifactAlreadyExistsError(msg, hint="pass overwrite=True to replace it")
        source = _Stream(stream, owned=False)
        with self._errors(key):
            self._client.upload_fileobj(source, self.bucket, self._base + key, Config=TRANSFER)
        return source.size

    def open(self, key: str, *, start: int = 0, end: int | None = None) -> BinaryIO:
        """A ranged GET; a range past the end is an empty stream, as with files."""
        if start < 0 or (end is not None and end < start):
            expected = "0 <= start <= end (end may be None)"
            err = errors.invalid("start/end", (start, end), expected, where="S3ArtifactStore.open")
            raise err
        if end == start:
            self.size(key)  # raises ArtifactNotFoundError for a missing key
            return io.BytesIO()
        extra = {"Range": f"bytes={start}-{'' if end is None else end - 1}"} if start or end else {}
        with self._errors(key):
            try:
                resp = self._client.get_object(Bucket=self.bucket, Key=self._base + key, **extra)
            except ClientError as exc:
                if _code(exc) != "InvalidRange":
                    raise
                return io.BytesIO()
        body = _Stream(resp["Body"], lambda: self._errors(key), owned=True)
        return io.BufferedReader(body)

    def exists(self, key: str) -> bool:
        """A HEAD request; 404 means no."""
        with contextlib.suppress(errors.ArtifactNotFoundError):
            return self.size(key) >= 0
        return False

    def size(self, key: str) -> int:
        """``ContentLength`` from a HEAD request."""
        with self._errors(key):
            head = self._client.head_object(Bucket=self.bucket, Key=self._base + key)
        return int(head["ContentLength"])

    def list(self, prefix: str = "") -> Iterator[str]:
        """Paginated ``ListObjectsV2``; a bucket that does not exist yet holds nothing."""
        paginator = self._client.get_paginator("list_objects_v2")
        with contextlib.suppress(errors.ArtifactNotFoundError), self._errors(prefix):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self._base + prefix):
                for obj in page.get("Contents", []):
                    yield obj["Key"][len(self._base) :]

    def delete(self, key: str) -> None:
        """S3 deletes are already idempotent; a missing bucket is fine too."""
        with contextlib.suppress(errors.ArtifactNotFoundError), self._errors(key):
            self._client.delete_object(Bucket=self.bucket, Key=self._base + key)

    def delete_prefix(self, prefix: str) -> int:
        """``DeleteObjects`` in batches of 1000 keys (the S3 maximum), after listing them all."""
        keys = [self._base + key for key in self.list(prefix)]
        for i in range(0, len(keys), 1000):
            batch = {"Objects": [{"Key": k} for k in keys[i : i + 1000]], "Quiet": True}
            with self._errors(prefix):
                result = self._client.delete_objects(Bucket=self.bucket, Delete=batch)
            if failed := result.get("Errors"):
                msg = f"S3 kept {len(failed)} objects under {prefix!r}; first: {failed[0]}"
                raise errors.BackendError(msg, backend="s3", hint="check the delete permission")
        return len(keys)

    def uri(self, key: str) -> str:
        """``s3://bucket/prefix/key``."""
        return f"s3://{self.bucket}/{self._base + key}"

    def _ensure_bucket(self) -> None:
        """HEAD the bucket once per store; create it when missing (racing creators are fine)."""
        if self._bucket_ready:
            return
        with self._errors(""):
            try:
                self._client.head_bucket(Bucket=self.bucket)
            except ClientError as exc:
                if _code(exc) not in _MISSING:
                    raise
                where = {"LocationConstraint": self.region}
                extra = {"CreateBucketConfiguration": where} if self.region != "us-east-1" else {}
                with contextlib.suppress(self._client.exceptions.BucketAlreadyOwnedByYou):
                    self._client.create_bucket(Bucket=self.bucket, **extra)
            self._bucket_ready = True

    @contextlib.contextmanager
    def _errors(self, key: str) -> Iterator[None]:
        """Translate botocore errors at the boundary (R-25)."""
        try:
            yield
        except (ClientError, BotoCoreError) as exc:
            if isinstance(exc, ClientError) and _code(exc) in _MISSING:
                msg = f"Artifact {key!r} does not exist at {self.uri(key)!r}."
                raise errors.ArtifactNotFoundError(msg, hint="check the key with list()") from exc
            down = isinstance(exc, _UNREACHABLE)
            kind = errors.BackendUnavailableError if down else errors.BackendError
            endpoint = self._client.meta.endpoint_url
            msg = f"S3 request for {self.uri(key)!r} to {endpoint} failed: {exc}"
            raise kind(msg, backend="s3", hint=_HINTS[down]) from exc
