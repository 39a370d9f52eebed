"""Webhooks against a real HTTP receiver on 127.0.0.1 (http.server in a thread)."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import shipyard
from shipyard.client import Client
from shipyard.registry import WebhookDispatcher, verify_signature

SECRET = "s3cret"


class Receiver:
    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.attempts = 0
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.attempts += 1
                if receiver.attempts <= receiver.fail_first:
                    self.send_response(500)
                else:
                    receiver.requests.append((dict(self.headers), body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def test_registry_events_are_posted_with_a_verifiable_signature(
        receiver: Receiver, tmp_path: Any) -> None:
    from sklearn.linear_model import LinearRegression

    from shipyard.tracking import _fluent

    _fluent._reset_for_tests()
    client = Client(home=tmp_path / ".shipyard", webhook_urls=[receiver.url],
                    webhook_secret=SECRET)
    _fluent._client = client
    x = np.arange(8, dtype=float).reshape(4, 2)
    with shipyard.start_run(experiment="hooks"):
        shipyard.log_model(LinearRegression().fit(x, x[:, 0]), input_example=x,
                           registered_model="churn")
    client.registry.set_alias("churn", "champion", 1)
    assert client.registry.webhooks.flush(10)
    events = [json.loads(body) for _, body in receiver.requests]
    assert [e["event"] for e in events] == ["model.created", "model_version.created",
                                            "alias.moved"]
    assert events[2]["data"] == {"name": "churn", "alias": "champion", "from": None, "to": 1,
                                 "revision": 1}
    for headers, body in receiver.requests:
        assert verify_signature(body, headers["X-Shipyard-Signature"], SECRET)
        assert not verify_signature(body + b" ", headers["X-Shipyard-Signature"], SECRET)
        assert headers["Content-Type"] == "application/json"
    _fluent._reset_for_tests()


def test_failed_deliveries_are_retried_with_back_off() -> None:
    receiver = Receiver(fail_first=2)
    try:
        hooks = WebhookDispatcher([receiver.url], secret=SECRET, retries=3, backoff=0.01)
        hooks.emit("alias.moved", {"name": "m"})
        assert hooks.flush(10)
        assert receiver.attempts == 3
        assert len(receiver.requests) == 1
        assert (hooks.delivered, hooks.failed) == (1, 0)
        hooks.close()
    finally:
        receiver.close()


def test_a_dead_receiver_is_logged_never_raised(caplog: pytest.LogCaptureFixture) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    hooks = WebhookDispatcher([f"http://127.0.0.1:{port}/x"], retries=1, backoff=0.01,
                              timeout=1)
    hooks.emit("model.created", {"name": "m"})  # returns at once
    assert hooks.flush(10)
    assert hooks.failed == 1
    assert "failed after 2 attempt(s)" in caplog.text
    hooks.close()
