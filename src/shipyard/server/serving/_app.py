"""The model server as one plain ASGI callable (no framework on the request path).

Routing is a split of the path; the predict routes parse the body, validate it against the
signature, hand it to the host's micro-batcher and write orjson. Errors leave as
``{"error": {"code", "message", "hint"}}`` with the status from ``shipyard.server.errors``
(OIP v2 routes answer ``{"error": message, "code", "hint"}`` as that protocol expects).
Transport limits are answered here: 413 (body too large), 408 (body too slow), 415, 429.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from shipyard._version import __version__
from shipyard.errors import (
    InvalidArgumentError,
    ModelNotReadyError,
    ModelNotServedError,
    OverloadedError,
    PermissionDeniedError,
    PredictionTimeoutError,
    ShipyardError,
)
from shipyard.server.serving import _openapi
from shipyard.server.serving._metrics import CONTENT_TYPE, ServingMetrics
from shipyard.serving import FeedbackRecord, ModelHost, PredictionLogger, ServedVersion
from shipyard.serving._codec import (
    JSON,
    UnsupportedMediaError,
    decode,
    dumps,
    fast_array,
    from_v2,
    loads,
    v2_output,
)
from shipyard.serving._predlog import now_ms

if TYPE_CHECKING:
    from shipyard.auth import AuthService
    from shipyard.serving import DeploymentAgent

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

log = logging.getLogger("shipyard.serving")
_OFFLOAD_BYTES = 256 * 1024  # bodies larger than this are parsed in a worker thread
_STATUS_EXTRA: dict[type[ShipyardError], int] = {
    OverloadedError: 429, PredictionTimeoutError: 504, ModelNotReadyError: 503,
    UnsupportedMediaError: 415,
}
"""Serving-only statuses, checked before ``shipyard.server.errors.STATUS``."""
_MAX_REQUEST_ID = 200
_DRAIN_BYTES = 256 * 1024 * 1024  # an oversized body this large is read and dropped first
_PREDICT_ROUTES = {"predict": "/v1/models/{name}/predict",
                   "predict_proba": "/v1/models/{name}/predict_proba"}
_KNOWN_ROUTES = frozenset({"/health", "/ready", "/metrics", "/openapi.json", "/v1/models",
                           "/v1/feedback", "/admin/reload", "/v2", "/v2/health/live",
                           "/v2/health/ready"})
_MODEL_ROUTES = frozenset({"/v1/models/{name}", "/v2/models/{name}", "/v2/models/{name}/ready",
                           "/v2/models/{name}/versions/{version}",
                           "/v2/models/{name}/versions/{version}/ready"})


class HttpError(Exception):
    """A transport-level refusal (413, 408, 405, 404 route) with the wire code."""

    def __init__(self, status: int, code: str, message: str, hint: str | None = None,
                 *, close: bool = False) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.hint, self.close = (status, code, message,
                                                                       hint, close)


class _Disconnected(Exception):
    pass


class _Deadline:
    """One timer per request: past the request timeout it cancels the handler, which then
    answers 408 (the body was still arriving) or 504 (the prediction was)."""

    __slots__ = ("expired", "phase", "task")

    def __init__(self, task: asyncio.Task[Any] | None) -> None:
        self.task = task
        self.phase = "body"
        self.expired = False

    def expire(self) -> None:
        if self.phase != "respond" and self.task is not None:
            self.expired = True
            self.task.cancel()


def status_for(exc: ShipyardError) -> int:
    for klass in type(exc).__mro__:
        if klass in _STATUS_EXTRA:
            return _STATUS_EXTRA[klass]
    from shipyard.server.errors import status_for as tracking_status

    return tracking_status(exc)


class AccessLog:
    """JSON lines on stderr, buffered and written at most every 50 ms (off the hot path)."""

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream or sys.stderr
        self._lines: list[bytes] = []
        self._scheduled = False

    def write(self, entry: dict[str, Any]) -> None:
        self._lines.append(dumps(entry) + b"\n")
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_later(0.05, self.flush)

    def flush(self) -> None:
        self._scheduled = False
        lines, self._lines = self._lines, []
        if lines:
            data = b"".join(lines)
            buffer = getattr(self.stream, "buffer", None)
            try:
                if buffer is not None:
                    buffer.write(data)
                else:
                    self.stream.write(data.decode())
                self.stream.flush()
            except (OSError, ValueError):
                pass


class ServingApp:
    """The ASGI app over a `ModelHost` (see `create_serving_app`)."""

    def __init__(self, host: ModelHost, *, logger: PredictionLogger | None = None,
                 metrics: ServingMetrics | None = None, agent: DeploymentAgent | None = None,
                 auth: AuthService | None = None, max_body_bytes: int = 64 * 1024 * 1024,
                 request_timeout: float = 30.0, access_log: bool = True,
                 load_in_background: bool = True,
                 on_close: Callable[[], None] | None = None, freeze_gc: bool = False,
                 on_reload: Callable[[], None] | None = None) -> None:
        self.host = host
        self.logger = logger
        self.metrics = metrics or ServingMetrics()
        self.agent = agent
        self.auth = auth
        self.max_body = max_body_bytes
        self.timeout = request_timeout
        self.access = AccessLog() if access_log else None
        self.load_in_background = load_in_background
        self.on_close = on_close
        self.on_reload = on_reload
        """Called after ``POST /admin/reload``: a forked worker asks its siblings to check
        their aliases too (each holds its own copy of the models)."""
        self.freeze_gc = freeze_gc
        self._ids = itertools.count(1)
        self._id_prefix = os.urandom(6).hex() + "-"
        self._openapi: bytes | None = None
        self._loader: asyncio.Task[None] | None = None
        self.started_at = time.time()

    # -- ASGI entry -----------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await asyncio.get_running_loop().run_in_executor(None, self.shutdown)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def startup(self) -> None:
        if self.logger is not None:
            self.logger.start()
        if not self.host.ready:
            if self.load_in_background:
                self._loader = asyncio.get_running_loop().create_task(self._load())
            else:
                await asyncio.get_running_loop().run_in_executor(None, self.host.load)
                self._after_load()
        else:
            self._after_load()

    async def _load(self) -> None:
        loop = asyncio.get_running_loop()
        delay = 1.0
        while not self.host.ready:
            try:
                await loop.run_in_executor(None, self.host.load)
            except Exception as exc:
                log.error("loading the models failed (retrying in %gs): %s", delay, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
        self._after_load()

    def _after_load(self) -> None:
        self._openapi = None
        if self.freeze_gc:  # process-wide tuning, for a process of its own (the CLI's)
            # the libraries and models loaded so far live as long as the process: keep the
            # collector from walking them again and again (shorter pauses, fewer tail spikes)
            import gc

            # the young generations only: the imports' garbage is collected by then (a full
            # collection found nothing here and took 0.1 s of the start-up, with the first
            # requests waiting behind it)
            gc.collect(1)
            gc.freeze()
            # background threads (prediction log files, a reload's warm-up) hand the GIL back
            # to the event loop every 1 ms instead of 5 ms; with the packed prediction log
            # (serving/_predlog.py) p99 at 32 clients fell from about 50 ms to 7 ms here
            # (bench/serving.py, single rows, 1 worker; docs/serving.md)
            sys.setswitchinterval(0.001)
        if self.agent is not None:
            self.agent.start()

    def shutdown(self) -> None:
        if self.agent is not None:
            self.agent.stop()
        if self.logger is not None:
            self.logger.close()
        if self.access is not None:
            self.access.flush()
        self.host.close()
        if self.on_close is not None:
            self.on_close()

    # -- routing --------------------------------------------------------------------------
    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.perf_counter()
        received = now_ms()
        method = scope["method"]
        path = scope["path"]
        headers = _headers(scope)
        rid = headers.get("x-request-id", "")
        if not rid or len(rid) > _MAX_REQUEST_ID or not rid.isprintable():
            rid = f"{self._id_prefix}{next(self._ids):x}"
        parts = path.strip("/").split("/")
        route, model, version, status, rows, code = path, "", "", 500, 0, None
        v2 = parts[0] == "v2"
        clock = _Deadline(asyncio.current_task())
        timer = asyncio.get_running_loop().call_later(self.timeout, clock.expire) if (
            method == "POST") else None
        try:
            if len(parts) == 4 and parts[0] == "v1" and parts[1] == "models" and (
                    parts[3] in ("predict", "predict_proba")):
                route = _PREDICT_ROUTES[parts[3]]
                _allow(method, "POST")
                served = self.host.current(parts[2])
                model, version = served.name, served.label
                status, rows = await self._predict(receive, send, headers, served,
                                                   parts[3], rid, received, start, clock)
            elif v2 and len(parts) in (4, 6) and parts[1] == "models" and parts[-1] == "infer":
                route = "/v2/models/{name}/infer"
                _allow(method, "POST")
                served = self._v2_version(parts)
                model, version = served.name, served.label
                status, rows = await self._infer(receive, send, headers, served, rid,
                                                 received, start, clock)
            else:
                route = _route_label(parts)
                status = await self._other(method, parts, scope, receive, send, headers, rid,
                                           clock)
        except asyncio.CancelledError:
            if not clock.expired or clock.task is None:
                raise
            clock.task.uncancel()
            if clock.phase == "body":
                status, code = 408, "request-timeout"
                msg = f"The request body did not arrive within {self.timeout:g}s."
                await self._error(send, status, code, msg, "send the body faster, or raise "
                                  "SHIPYARD_SERVE_REQUEST_TIMEOUT", rid, v2=v2, close=True)
            else:
                status, code = 504, "prediction-timeout"
                msg = f"The prediction did not finish within {self.timeout:g}s."
                await self._error(send, status, code, msg, PredictionTimeoutError.default_hint,
                                  rid, v2=v2, retry=True)
        except _Disconnected:
            status, code = 499, "client-disconnected"
        except HttpError as exc:
            status, code = exc.status, exc.code
            await self._error(send, status, exc.code, exc.message, exc.hint, rid, v2=v2,
                              close=exc.close)
        except ShipyardError as exc:
            status, code = status_for(exc), exc.code
            await self._error(send, status, exc.code, exc.message, exc.hint, rid, v2=v2,
                              retry=getattr(exc, "retryable", False))
        except Exception as exc:
            log.exception("request %s failed", rid, exc_info=exc)
            status, code = 500, "internal-error"
            await self._error(send, 500, code, f"The server failed unexpectedly "
                              f"({type(exc).__name__}); request id {rid}.",
                              "see the server's log for this request id", rid, v2=v2)
        finally:
            if timer is not None:
                timer.cancel()
        seconds = time.perf_counter() - start
        self.metrics.request(model, version, route, status, seconds, rows, code)
        if self.access is not None:
            self.access.write({"ts": received, "request_id": rid, "method": method,
                               "path": path, "status": status,
                               "latency_ms": round(seconds * 1000, 3), "model": model or None,
                               "version": version or None, "rows": rows, "error": code})

    def _v2_version(self, parts: list[str]) -> ServedVersion:
        served = self.host.current(parts[2])
        if len(parts) == 6 and (parts[3] != "versions" or parts[4] != served.label):
            msg = (f"Model {parts[2]!r} is served at version {served.label or 'none'}, "
                   f"not {parts[4]!r}.")
            raise ModelNotServedError(msg, hint="drop /versions/... to use the current one")
        return served

    # -- predict ----------------------------------------------------------------------
    async def _predict(self, receive: Receive, send: Send, headers: dict[str, str],
                       served: ServedVersion, method: str, rid: str, received: int,
                       start: float, clock: _Deadline) -> tuple[int, int]:
        body = await self._body(receive, headers)
        clock.phase = "predict"
        ctype = headers.get("content-type", JSON)
        if len(body) > _OFFLOAD_BYTES:
            x = await asyncio.get_running_loop().run_in_executor(
                None, decode, body, ctype, served.spec, served.predictor)
        else:
            x = decode(body, ctype, served.spec, served.predictor)
        outputs = frozenset({method})
        self.metrics.in_flight_add(served.name, 1)
        try:
            result = await self.host.predict(served, x, outputs=outputs, request_id=rid,
                                             received_ms=received, started=start,
                                             timeout=None)
        finally:
            self.metrics.in_flight_add(served.name, -1)
        payload: dict[str, Any] = {"model": served.name, "version": served.version}
        if method == "predict":
            payload["predictions"] = fast_array(result.predictions)
        else:
            payload["classes"] = result.classes
            payload["probabilities"] = fast_array(result.probabilities)
        clock.phase = "respond"
        await _respond(send, 200, dumps(payload), rid)
        return 200, result.rows

    async def _infer(self, receive: Receive, send: Send, headers: dict[str, str],
                     served: ServedVersion, rid: str, received: int,
                     start: float, clock: _Deadline) -> tuple[int, int]:
        body = await self._body(receive, headers)
        clock.phase = "predict"
        ctype = headers.get("content-type", JSON).split(";", 1)[0].strip().lower()
        if ctype not in (JSON, "", "*/*") and not ctype.endswith("+json"):
            msg = f"Content type {ctype!r} is not supported by the inference protocol."
            raise UnsupportedMediaError(msg, hint=f"send {JSON}")
        x, outputs, request_id = from_v2(body, served.spec, served.predictor)
        if isinstance(request_id, str) and request_id and len(request_id) <= _MAX_REQUEST_ID:
            rid = request_id
        self.metrics.in_flight_add(served.name, 1)
        try:
            result = await self.host.predict(served, x, outputs=frozenset(outputs),
                                             request_id=rid, received_ms=received,
                                             started=start, timeout=None)
        finally:
            self.metrics.in_flight_add(served.name, -1)
        values = {"predict": result.predictions, "predict_proba": result.probabilities}
        payload = {"model_name": served.name, "model_version": served.label or None,
                   "id": rid, "outputs": [v2_output(o, values[o]) for o in outputs]}
        clock.phase = "respond"
        await _respond(send, 200, dumps(payload), rid)
        return 200, result.rows

    async def _body(self, receive: Receive, headers: dict[str, str]) -> bytes:
        """The whole body, refusing more than the limit (413); the request's deadline
        covers a body that arrives too slowly (408).

        A body over the limit is read to its end and dropped (up to ``_DRAIN_BYTES``) before
        the 413 goes out, so a client still sending sees the answer instead of a broken
        pipe; a client that sent ``Expect: 100-continue`` is refused before it sends."""
        length = headers.get("content-length")
        declared = int(length) if length is not None and length.isdigit() else None
        if declared is not None and declared > self.max_body:
            if headers.get("expect", "").lower() == "100-continue" or declared > _DRAIN_BYTES:
                raise _too_large(self.max_body, declared)
            await self._drain(receive)
            raise _too_large(self.max_body, declared)
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            chunk = message.get("body", b"")
            size += len(chunk)
            more = message.get("more_body", False)
            if size > self.max_body:
                if more:
                    size += await self._drain(receive)
                raise _too_large(self.max_body, size)
            if not more:
                if not chunks:
                    return bytes(chunk)
                chunks.append(chunk)
                return b"".join(chunks)
            chunks.append(chunk)

    @staticmethod
    async def _drain(receive: Receive) -> int:
        """Read and drop the rest of a body (at most ``_DRAIN_BYTES``); returns its size."""
        size = 0
        while size <= _DRAIN_BYTES:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            size += len(message.get("body", b""))
            if not message.get("more_body"):
                break
        return size

    # -- everything else ------------------------------------------------------------------
    async def _other(self, method: str, parts: list[str], scope: Scope, receive: Receive,
                     send: Send, headers: dict[str, str], rid: str, clock: _Deadline) -> int:
        key = "/".join(parts)
        if key in ("health", "v2/health/live"):
            _allow(method, "GET")
            body = {"status": "ok"} if key == "health" else {"live": True}
            await _respond(send, 200, dumps(body), rid)
            return 200
        if key in ("ready", "v2/health/ready"):
            _allow(method, "GET")
            ready = self.host.ready
            doc: dict[str, Any] = ({"status": "ready" if ready else "loading"} if key ==
                                   "ready" else {"ready": ready})
            if not ready:
                doc["models"] = [{"name": m["name"], "ready": m["ready"],
                                  "error": m.get("error")} for m in self.host.describe()]
            status = 200 if ready else 503
            await _respond(send, status, dumps(doc), rid)
            return status
        if key == "metrics":
            _allow(method, "GET")
            data = await asyncio.get_running_loop().run_in_executor(None, self.metrics.render)
            await _respond(send, 200, data, rid, content_type=CONTENT_TYPE)
            return 200
        if key == "openapi.json":
            _allow(method, "GET")
            if self._openapi is None or not self.host.ready:
                self._openapi = dumps(_openapi.build(self.host.describe()))
            await _respond(send, 200, self._openapi, rid)
            return 200
        if key == "v1/models":
            _allow(method, "GET")
            await _respond(send, 200, dumps({"models": self.host.describe()}), rid)
            return 200
        if len(parts) == 3 and parts[:2] == ["v1", "models"]:
            _allow(method, "GET")
            self.host.get(parts[2])
            entry = next(m for m in self.host.describe() if m["name"] == parts[2])
            await _respond(send, 200, dumps(entry), rid)
            return 200
        if key == "v1/feedback":
            _allow(method, "POST")
            return await self._feedback(receive, send, headers, rid, clock)
        if key == "admin/reload":
            _allow(method, "POST")
            return await self._reload(scope, receive, send, headers, rid, clock)
        if key == "v2":
            _allow(method, "GET")
            await _respond(send, 200, dumps({"name": "shipyard", "version": __version__,
                                             "extensions": []}), rid)
            return 200
        if parts[:2] == ["v2", "models"] and len(parts) >= 3:
            return await self._v2_model(method, parts, send, rid)
        msg = f"No route {'/' + key!r}."
        raise HttpError(404, "not-found", msg, "GET /openapi.json lists the routes")

    async def _v2_model(self, method: str, parts: list[str], send: Send, rid: str) -> int:
        _allow(method, "GET")
        tail = parts[3:]
        if tail[:1] == ["versions"] and len(tail) >= 2:
            self._v2_version([*parts[:5], "infer"])
            tail = tail[2:]
        if tail == ["ready"]:
            served = self.host.get(parts[2])
            ready = served.current is not None
            await _respond(send, 200 if ready else 503, dumps({"name": parts[2],
                                                               "ready": ready}), rid)
            return 200 if ready else 503
        if tail:
            msg = f"No route {'/' + '/'.join(parts)!r}."
            raise HttpError(404, "not-found", msg, "GET /openapi.json lists the routes")
        current = self.host.current(parts[2])
        await _respond(send, 200, dumps(_v2_metadata(current)), rid)
        return 200

    async def _feedback(self, receive: Receive, send: Send, headers: dict[str, str],
                        rid: str, clock: _Deadline) -> int:
        body = await self._body(receive, headers)
        clock.phase = "respond"
        doc = loads(body)
        items = doc if isinstance(doc, list) else [doc]
        records = [self._feedback_record(item, i) for i, item in enumerate(items)]
        if self.logger is None:
            msg = "This server does not log predictions, so it cannot take feedback."
            raise InvalidArgumentError(msg, hint="start it with --log-predictions")
        accepted = sum(self.logger.log(r) for r in records)
        await _respond(send, 202, dumps({"accepted": accepted, "dropped": len(records) -
                                         accepted}), rid)
        return 202

    def _feedback_record(self, item: Any, index: int) -> FeedbackRecord:
        where = f"feedback item {index}"
        if not isinstance(item, dict):
            msg = f"The {where} must be an object with request_id and label (or labels)."
            raise InvalidArgumentError(msg, hint='send {"request_id": "...", "label": 1}')
        model = item.get("model")
        if model is None and len(self.host.models) == 1:
            model = next(iter(self.host.models))
        if not isinstance(model, str):
            msg = (f"The {where} must name its 'model' (this server serves "
                   f"{', '.join(sorted(self.host.models))}).")
            raise InvalidArgumentError(msg)
        self.host.get(model)
        request_id = item.get("request_id")
        if not isinstance(request_id, str) or not request_id or len(request_id) > (
                _MAX_REQUEST_ID):
            msg = f"The {where} needs a 'request_id' string (the X-Request-ID of the answer)."
            raise InvalidArgumentError(msg)
        if ("label" in item) == ("labels" in item):
            msg = f"The {where} needs exactly one of 'label' (one row) or 'labels' (a list)."
            raise InvalidArgumentError(msg)
        labels = item["labels"] if "labels" in item else [item["label"]]
        if not isinstance(labels, list) or not labels or not all(
                v is None or isinstance(v, str | int | float | bool) for v in labels):
            msg = f"The {where}'s labels must be numbers, strings or booleans."
            raise InvalidArgumentError(msg)
        return FeedbackRecord(model=model, request_id=request_id, labels=labels,
                              timestamp_ms=now_ms())

    async def _reload(self, scope: Scope, receive: Receive, send: Send,
                      headers: dict[str, str], rid: str, clock: _Deadline) -> int:
        clock.phase = "respond"  # a reload is not cut short by the request timeout
        if self.auth is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._require_admin,
                                                             headers.get("authorization"))
        await self._body(receive, headers)
        name = _query(scope).get("model")
        if name is not None:
            self.host.get(name)
        changes = await asyncio.get_running_loop().run_in_executor(None, self.host.reload,
                                                                   name)
        self._openapi = None
        if self.on_reload is not None:
            self.on_reload()
        await _respond(send, 200, dumps({"models": changes}), rid)
        return 200

    def _require_admin(self, header: str | None) -> None:
        from shipyard.entities.identity import Role
        from shipyard.server.deps import _credentials

        assert self.auth is not None
        user = _credentials(header, self.auth)
        if user.role is not Role.ADMIN:
            msg = f"User {user.username!r} (role {user.role.value}) may not reload models."
            raise PermissionDeniedError(msg)

    async def _error(self, send: Send, status: int, code: str, message: str,
                     hint: str | None, rid: str, *, v2: bool = False, close: bool = False,
                     retry: bool = False) -> None:
        body = ({"error": message, "code": code, "hint": hint} if v2 else
                {"error": {"code": code, "message": message, "hint": hint}})
        extra: list[tuple[bytes, bytes]] = []
        if status == 401:
            from shipyard.server.errors import CHALLENGE

            extra.append((b"www-authenticate", CHALLENGE.encode()))
        if retry or status in (429, 503):
            extra.append((b"retry-after", b"1"))
        if close:
            extra.append((b"connection", b"close"))
        with contextlib.suppress(OSError, RuntimeError):  # the client may be gone
            await _respond(send, status, dumps(body), rid, extra=extra)


# -- helpers ------------------------------------------------------------------------------
def _headers(scope: Scope) -> dict[str, str]:
    out = {}
    for key, value in scope["headers"]:
        out[key.decode("latin-1")] = value.decode("latin-1")
    return out


def _query(scope: Scope) -> dict[str, str]:
    from urllib.parse import parse_qsl

    return dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))


def _allow(method: str, allowed: str) -> None:
    if method != allowed:
        msg = f"Method {method} is not allowed here; use {allowed}."
        raise HttpError(405, "method-not-allowed", msg)


def _too_large(limit: int, size: int) -> HttpError:
    msg = f"The request body has {size} bytes; this server accepts at most {limit}."
    return HttpError(413, "too-large", msg, "send fewer rows per request (or Arrow IPC), or "
                     "raise SHIPYARD_SERVE_MAX_BODY_BYTES", close=True)


def _route_label(parts: list[str]) -> str:
    if parts[:2] in (["v1", "models"], ["v2", "models"]) and len(parts) >= 3:
        tail = parts[3:]
        if tail[:1] == ["versions"]:
            tail = ["versions", "{version}", *tail[2:]]
        label = "/".join(["", parts[0], "models", "{name}", *tail])
        return label if label in _MODEL_ROUTES else "<unmatched>"
    key = "/" + "/".join(parts)
    return key if key in _KNOWN_ROUTES else "<unmatched>"


async def _respond(send: Send, status: int, body: bytes, rid: str, *,
                   content_type: str = JSON,
                   extra: list[tuple[bytes, bytes]] | None = None) -> None:
    headers = [(b"content-type", content_type.encode()),
               (b"content-length", str(len(body)).encode()),
               (b"x-request-id", rid.encode())]
    if extra:
        headers.extend(extra)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _v2_metadata(served: ServedVersion) -> dict[str, Any]:
    sig = served.model.signature
    inputs: list[dict[str, Any]] = []
    if sig is not None and sig.is_tensor:
        spec = sig.inputs
        inputs = [{"name": "input", "datatype": _v2_type(spec.type),  # type: ignore[union-attr]
                   "shape": list(spec.shape)}]  # type: ignore[union-attr]
    elif sig is not None:
        inputs = [{"name": c.name, "datatype": _v2_type(c.type), "shape": [-1]}
                  for c in sig.inputs]  # type: ignore[union-attr]
    outputs = [{"name": "predict", "datatype": "BYTES", "shape": [-1]}]
    if served.has_proba:
        outputs.append({"name": "predict_proba", "datatype": "FP64",
                        "shape": [-1, len(served.classes or []) or -1]})
    return {"name": served.name, "versions": [served.label] if served.label else [],
            "platform": f"shipyard-{served.model.flavor}", "inputs": inputs,
            "outputs": outputs}


def _v2_type(kind: str) -> str:
    table = {"float64": "FP64", "float32": "FP32", "int64": "INT64", "int32": "INT32",
             "int16": "INT16", "int8": "INT8", "uint64": "UINT64", "uint32": "UINT32",
             "uint16": "UINT16", "uint8": "UINT8", "bool": "BOOL"}
    return table.get(kind, "BYTES")
