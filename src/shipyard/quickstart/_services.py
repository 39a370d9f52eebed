"""Processes and loopback helpers for the quickstart: the Shipyard server (API + UI), the
model server, and a local webhook receiver that records alerts."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from shipyard.errors import BackendUnavailableError


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Service:
    """A ``shipyard`` subprocess on a loopback port; its output goes to a log file."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def wait_ready(self, path: str, timeout: float = 90.0) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = self.log.read_text(errors="replace")[-2000:]
                msg = f"The {self.name} exited with code {self.process.returncode}:\n{tail}"
                raise BackendUnavailableError(msg)
            try:
                if httpx.get(self.url + path, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        msg = f"The {self.name} at {self.url} was not ready after {timeout:.0f}s (log: {self.log})"
        raise BackendUnavailableError(msg)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def start(name: str, args: list[str], *, port: int, home: Path, env: dict[str, str]) -> Service:
    log = home / "logs" / f"{name.replace(' ', '-')}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    full_env = {**os.environ, **env, "SHIPYARD_HOME": str(home)}
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "shipyard.cli.main", *args],
                                stdout=out, stderr=subprocess.STDOUT, env=full_env)
    return Service(name=name, url=f"http://127.0.0.1:{port}", process=proc, log=log)


@dataclass
class WebhookReceiver:
    """Records every JSON POST it receives (the alert channel of the quickstart)."""

    port: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    receiver.received.append(json.loads(body))
                except ValueError:
                    receiver.received.append({"raw": body.decode(errors="replace")})
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/alerts"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
