"""One pooled httpx client per remote store: auth, timeouts, retries and error decoding.

Retry policy (exponential back-off with jitter, ``settings.http_retries`` times):

* a connection that could not be opened is always retried (the server saw nothing);
* a lost connection, a timeout or a 5xx answer is retried only for idempotent requests
  (reads, PUT/DELETE, and writes that carry their own idempotency key such as a metric
  batch's ``batch_id``), so a retry can never apply a write twice;
* 503 (server or its database temporarily unavailable: nothing was written) is retried
  for every request.

Errors cross the wire as ``{"error": {"code", "message", "hint"}}`` and are rebuilt here as
the same `ShipyardError` subclass through the code registry (never by importing a name the
server sent).
"""

from __future__ import annotations

import os
import random
import time
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import httpx
import pydantic_core

from shipyard._version import __version__
from shipyard.errors import (
    AuthenticationError,
    BackendError,
    BackendUnavailableError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RemoteError,
    ShipyardError,
)

_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_LOST = (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadTimeout,
         httpx.WriteTimeout, httpx.CloseError)
_BY_STATUS: dict[int, type[ShipyardError]] = {
    401: AuthenticationError, 403: PermissionDeniedError, 404: NotFoundError,
    409: ConflictError, 503: BackendUnavailableError}
UNREACHABLE_HINT = ("check SHIPYARD_TRACKING_URI and that `shipyard server` is running and "
                    "reachable there")


def segment(value: str | int) -> str:
    """One URL path segment (a ``/`` inside is escaped)."""
    return quote(str(value), safe="")


def decode_error(response: httpx.Response) -> ShipyardError:
    """The `ShipyardError` a server answered with (`RemoteError` for anything else)."""
    try:
        body = response.json()
        err = body["error"]
        code, message, hint = str(err["code"]), str(err["message"]), err.get("hint")
    except (ValueError, KeyError, TypeError):
        url = response.request.url if response.request else "?"
        text = response.text[:300]
        msg = f"The server answered {response.status_code} to {url}: {text!r}"
        klass = _BY_STATUS.get(response.status_code)
        if klass is not None:  # a body-less answer (HEAD), or a proxy's own error page
            return klass(msg)
        return RemoteError(msg, hint="is SHIPYARD_TRACKING_URI a Shipyard server?")
    error = ShipyardError.from_code(code, message, hint if isinstance(hint, str) else None)
    if isinstance(error, BackendError):
        error.backend = "remote"
    return error


class RemoteSession:
    """A pooled, thread-safe HTTP client for one Shipyard server."""

    def __init__(
        self, base_url: str, *, timeout: float = 30.0, retries: int = 8,
        token: str | None = None, username: str | None = None, password: str | None = None,
        backoff: float = 0.1, max_backoff: float = 5.0, http_client: httpx.Client | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self.timeout = timeout
        self.backoff, self.max_backoff = backoff, max_backoff
        headers = {"User-Agent": f"shipyard/{__version__}"}
        auth: httpx.Auth | None = None
        if token:
            headers["Authorization"] = f"Bearer {token}"
        elif username is not None:
            auth = httpx.BasicAuth(username, password or "")
        self._own_client = http_client is None
        self._headers, self._auth = headers, auth
        if http_client is None:
            http_client = self._new_client()
        else:  # a caller's client (tests): it gets the same headers and credentials
            http_client.headers.update(headers)
            if auth is not None:
                http_client.auth = auth
        self.http = http_client
        # A client nobody closed (e.g. a CLI command's) still closes its sockets when the
        # stores using it are garbage collected.
        self._finalizer = weakref.finalize(self, self.http.close)
        self._pid = os.getpid()
        self._inherited: list[httpx.Client] = []

    def _new_client(self) -> httpx.Client:
        timeout = self.timeout
        return httpx.Client(
            base_url=self.base_url, headers=self._headers, auth=self._auth,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
        )

    def after_fork(self) -> None:
        """In a process forked from the one that made this session (``shipyard serve
        --workers N``): a connection pool of its own. The inherited pool's sockets are the
        parent's connections too: they are kept, never closed or used here (closing could
        end them for the parent). Idempotent per process; a caller-supplied client is kept."""
        if self._pid == os.getpid() or not self._own_client:
            return
        self._pid = os.getpid()
        self._finalizer.detach()
        self._inherited.append(self.http)
        self.http = self._new_client()
        self._finalizer = weakref.finalize(self, self.http.close)

    @classmethod
    def from_settings(cls, uri: str, settings: Any) -> RemoteSession:
        if settings is None:
            return cls(uri)
        return cls(uri, timeout=settings.http_timeout, retries=settings.http_retries,
                   token=settings.tracking_token, username=settings.tracking_username,
                   password=settings.tracking_password)

    def close(self) -> None:
        self.http.close()

    # -- plumbing -------------------------------------------------------------------------
    def _sleep(self, attempt: int) -> None:
        delay = min(self.max_backoff, self.backoff * 2**attempt)
        time.sleep(delay / 2 + random.uniform(0, delay / 2))  # noqa: S311 - jitter, not crypto

    def _unreachable(self, method: str, path: str, exc: Exception) -> BackendUnavailableError:
        if isinstance(exc, httpx.TimeoutException) and not isinstance(exc, _NOT_SENT):
            msg = (f"The Shipyard server at {self.base_url} did not answer {method} {path} "
                   f"within {self.timeout:g}s.")
            hint = "raise SHIPYARD_HTTP_TIMEOUT, or check the server's load"
        else:
            msg = f"The Shipyard server at {self.base_url} is unreachable ({exc!r})."
            hint = UNREACHABLE_HINT
        return BackendUnavailableError(msg, hint=hint, backend="remote")

    def _send(self, method: str, path: str, *, idempotent: bool, stream: bool,
              **kwargs: Any) -> httpx.Response:
        """Send with retries; returns a successful response (streamed if ``stream``)."""
        attempt = 0
        while True:
            try:
                request = self.http.build_request(method, path, **kwargs)
                response = self.http.send(request, stream=stream)
            except _NOT_SENT as exc:
                if attempt >= self.retries:
                    raise self._unreachable(method, path, exc) from exc
            except _LOST as exc:
                if attempt >= self.retries or not idempotent:
                    raise self._unreachable(method, path, exc) from exc
            else:
                if response.status_code < 400:
                    return response
                retry = response.status_code == 503 or (
                    response.status_code >= 500 and idempotent)
                if not retry or attempt >= self.retries:
                    if stream:
                        response.read()
                    raise decode_error(response)
                response.close()
            self._sleep(attempt)
            attempt += 1

    def request(self, method: str, path: str, *, idempotent: bool | None = None,
                json: Any = None, params: Mapping[str, Any] | None = None,
                content: Any = None, headers: Mapping[str, str] | None = None) -> httpx.Response:
        """A request whose body is read; raises the decoded `ShipyardError` on failure."""
        kwargs: dict[str, Any] = {}
        send_headers = dict(headers or {})
        if json is not None:  # pydantic-core encodes a 10,000-point batch ~4x faster
            kwargs["content"] = pydantic_core.to_json(json, inf_nan_mode="strings")
            send_headers["Content-Type"] = "application/json"
        if params is not None:
            kwargs["params"] = {k: v for k, v in params.items() if v is not None}
        if content is not None:
            kwargs["content"] = content
        if send_headers:
            kwargs["headers"] = send_headers
        safe = method in ("GET", "HEAD", "PUT", "DELETE") if idempotent is None else idempotent
        return self._send(method, path, idempotent=safe, stream=False, **kwargs)

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """``request`` and decode the JSON body (None for 204)."""
        response = self.request(method, path, **kwargs)
        return None if response.status_code == 204 or not response.content else response.json()

    @contextmanager
    def stream(self, method: str, path: str, *,
               headers: Mapping[str, str] | None = None) -> Iterator[httpx.Response]:
        """A streamed (idempotent) response, closed when the block ends."""
        response = self._send(method, path, idempotent=True, stream=True,
                              headers=dict(headers or {}))
        try:
            yield response
        finally:
            response.close()

    def upload(self, method: str, path: str, chunks: Iterator[bytes], *,
               headers: Mapping[str, str] | None = None) -> httpx.Response:
        """Stream ``chunks`` as the body. Retried only if the server never saw a byte (a
        one-shot stream cannot be replayed)."""
        started = False

        def body() -> Iterator[bytes]:
            nonlocal started
            started = True
            yield from chunks

        attempt = 0
        while True:
            try:
                request = self.http.build_request(method, path, content=body(),
                                                  headers=dict(headers or {}))
                response = self.http.send(request)
            except (*_NOT_SENT, *_LOST) as exc:
                if started or attempt >= self.retries:
                    raise self._unreachable(method, path, exc) from exc
                self._sleep(attempt)
                attempt += 1
                continue
            if response.status_code >= 400:
                raise decode_error(response)
            return response

