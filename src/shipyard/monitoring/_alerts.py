"""Alert delivery: one JSON POST per incident state change to each of a monitor's webhooks,
retried with exponential back-off, signed like the registry webhooks
(``X-Shipyard-Signature: sha256=<hex HMAC-SHA256 of the body>``), with an
``X-Shipyard-Delivery`` id that stays the same across retries so receivers can drop repeats.

Delivery is synchronous: `MonitoringService.run` is a batch job, and it records in the alert
whether the message went through.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from shipyard.registry import sign
from shipyard.registry._webhooks import EVENT_HEADER, SIGNATURE_HEADER

log = logging.getLogger("shipyard.monitoring.alerts")
DELIVERY_HEADER = "X-Shipyard-Delivery"
_RETRY_STATUS = {408, 425, 429}


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    """The outcome of sending one message to every URL."""

    delivered: bool
    attempts: int
    errors: list[str] = field(default_factory=list)


class AlertNotifier:
    """POSTs alert messages; ``transport`` is for tests (an ``httpx`` transport)."""

    def __init__(self, *, secret: str | None = None, retries: int = 3, timeout: float = 5.0,
                 backoff: float = 0.5, transport: Any = None) -> None:
        self.secret = secret
        self.retries = retries
        self.timeout = timeout
        self.backoff = backoff
        self.transport = transport

    def send(self, urls: Sequence[str], event: str, delivery_id: str,
             payload: dict[str, Any]) -> Delivery:
        """Send ``payload`` to every URL; delivered when every URL answered 2xx."""
        import httpx

        body = json.dumps(payload, default=str).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "shipyard-monitoring",
                   EVENT_HEADER: event, DELIVERY_HEADER: delivery_id}
        if self.secret:
            headers[SIGNATURE_HEADER] = sign(body, self.secret)
        attempts = 0
        errors: list[str] = []
        ok = True
        with httpx.Client(timeout=self.timeout, transport=self.transport) as client:
            for url in urls:
                sent, tries, reason = self._post(client, url, body, headers)
                attempts += tries
                if not sent:
                    ok = False
                    errors.append(f"{url}: {reason}")
                    log.warning("alert %s to %s failed after %d attempt(s): %s", event, url,
                                tries, reason)
        return Delivery(delivered=ok and bool(urls), attempts=attempts, errors=errors)

    def _post(self, client: Any, url: str, body: bytes,
              headers: dict[str, str]) -> tuple[bool, int, str]:
        import httpx

        reason = ""
        for attempt in range(self.retries + 1):
            try:
                resp = client.post(url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                reason = f"{type(exc).__name__}: {exc}"
            else:
                if resp.status_code < 300:
                    return True, attempt + 1, ""
                reason = f"HTTP {resp.status_code}"
                if resp.status_code < 500 and resp.status_code not in _RETRY_STATUS:
                    return False, attempt + 1, reason
            if attempt < self.retries:
                time.sleep(self.backoff * 2**attempt)
        return False, self.retries + 1, reason
