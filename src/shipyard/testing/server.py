"""Run a Shipyard server for tests: in a thread of this process, or as a subprocess.

Both listen on a free loopback port. Needs the ``server`` extra::

    with serve_in_thread(create_app(client)) as url:
        Client(tracking_uri=url).tracking.search_runs()
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any


def free_port() -> int:
    """A TCP port nobody listens on right now (on 127.0.0.1)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_healthy(url: str, timeout: float = 30.0,
                       process: subprocess.Popen[Any] | None = None) -> None:
    """Poll ``url/health`` until it answers 200; raise RuntimeError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            msg = f"the server process exited with code {process.returncode}"
            raise RuntimeError(msg)
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1) as resp:  # noqa: S310
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.05)
    msg = f"no healthy Shipyard server at {url} after {timeout:g}s"
    raise RuntimeError(msg)


@contextlib.contextmanager
def serve_in_thread(app: Any, *, port: int | None = None) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a daemon thread; yields its base URL."""
    import uvicorn

    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port or 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = uvicorn.Config(app, log_level="warning", lifespan="on",
                            timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                              name="shipyard-test-server", daemon=True)
    thread.start()
    try:
        wait_until_healthy(url)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def start_server_process(env: Mapping[str, str], *, port: int | None = None,
                         args: tuple[str, ...] = (), log: Path | None = None,
                         timeout: float = 60.0) -> tuple[subprocess.Popen[bytes], str]:
    """``python -m shipyard server`` as a subprocess (``env`` replaces the environment);
    returns the process, once healthy, and its base URL. Output goes to ``log``."""
    port = port or free_port()
    argv = [sys.executable, "-m", "shipyard", "server", "--host", "127.0.0.1",
            "--port", str(port), "--log-level", "warning", *args]
    out = open(log, "ab") if log is not None else subprocess.DEVNULL  # noqa: SIM115
    try:
        proc = subprocess.Popen(argv, env=dict(env), stdout=out, stderr=subprocess.STDOUT)
    finally:
        if log is not None:
            out.close()  # type: ignore[union-attr]
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, timeout, process=proc)
    except RuntimeError:
        proc.kill()
        proc.wait()
        raise
    return proc, url


def clean_env(**settings: str) -> dict[str, str]:
    """This process's environment without ``SHIPYARD_*``, plus ``settings`` as variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env.update({f"SHIPYARD_{k.upper()}": v for k, v in settings.items()})
    return env
