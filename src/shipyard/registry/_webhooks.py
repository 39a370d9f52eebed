"""Registry webhooks: a JSON POST to every configured URL on registry events, signed with
HMAC-SHA256 (``X-Shipyard-Signature: sha256=<hex>`` of the raw body), delivered by one
background thread with retries and exponential back-off. Failures are logged, never raised
into the registry call that caused them."""

from __future__ import annotations

import atexit
import hashlib
import hmac
import json
import logging
import queue
import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any

from shipyard.entities._ids import utc_now

log = logging.getLogger("shipyard.registry.webhooks")
SIGNATURE_HEADER = "X-Shipyard-Signature"
EVENT_HEADER = "X-Shipyard-Event"
_RETRY_STATUS = {408, 425, 429}


def sign(body: bytes, secret: str) -> str:
    """The header value for ``body``: ``sha256=<hex HMAC-SHA256(secret, body)>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, header: str | None, secret: str) -> bool:
    """For receivers: whether ``header`` is the signature of ``body`` (constant-time)."""
    return header is not None and hmac.compare_digest(sign(body, secret), header)


class WebhookDispatcher:
    """Queues events and POSTs them from a daemon thread started on first use."""

    def __init__(self, urls: Sequence[str], *, secret: str | None = None, retries: int = 3,
                 timeout: float = 5.0, backoff: float = 0.5) -> None:
        self.urls = list(urls)
        self.secret = secret
        self.retries = retries
        self.timeout = timeout
        self.backoff = backoff
        self._queue: queue.Queue[tuple[str, bytes, str] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.delivered = 0
        self.failed = 0

    @property
    def enabled(self) -> bool:
        return bool(self.urls)

    def emit(self, event: str, data: dict[str, Any]) -> None:
        """Queue one event for every URL; returns at once."""
        if not self.urls:
            return
        body = json.dumps({"id": uuid.uuid4().hex, "event": event,
                           "at": utc_now().isoformat(), "data": data},
                          default=str).encode()
        self._start()
        for url in self.urls:
            self._queue.put((url, body, event))

    def _start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="shipyard-webhooks",
                                                daemon=True)
                self._thread.start()
                atexit.register(self.flush, self.timeout * (self.retries + 1))

    def _run(self) -> None:
        import httpx

        with httpx.Client(timeout=self.timeout) as client:
            while True:
                item = self._queue.get()
                try:
                    if item is None:
                        return
                    self._deliver(client, *item)
                finally:
                    self._queue.task_done()

    def _deliver(self, client: Any, url: str, body: bytes, event: str) -> None:
        import httpx

        headers = {"Content-Type": "application/json", EVENT_HEADER: event,
                   "User-Agent": "shipyard-webhooks"}
        if self.secret:
            headers[SIGNATURE_HEADER] = sign(body, self.secret)
        for attempt in range(self.retries + 1):
            try:
                resp = client.post(url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                reason = f"{type(exc).__name__}: {exc}"
            else:
                if resp.status_code < 300:
                    self.delivered += 1
                    return
                reason = f"HTTP {resp.status_code}"
                if resp.status_code < 500 and resp.status_code not in _RETRY_STATUS:
                    break
            if attempt < self.retries:
                time.sleep(self.backoff * 2**attempt)
        self.failed += 1
        log.warning("webhook %s to %s failed after %d attempt(s): %s", event, url,
                    attempt + 1, reason)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued event was delivered or given up; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def close(self, timeout: float = 10.0) -> None:
        """Deliver what is queued (up to ``timeout`` seconds) and stop the thread."""
        if self._thread is not None and self._thread.is_alive():
            self.flush(timeout)
            self._queue.put(None)
            self._thread.join(timeout=1.0)
