"""Real sockets: ``python -m shipyard server`` on a free loopback port, driven by a client.

Also: multi-GB-style streaming in bounded memory (a 200 MB artifact both ways while the
server's resident memory is watched), and ``--auth`` with a token made by the CLI.
"""

from __future__ import annotations

import hashlib
import io
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from click.testing import CliRunner

from shipyard.cli.main import cli
from shipyard.client import Client
from shipyard.errors import AuthenticationError
from shipyard.testing.server import clean_env, start_server_process

MB = 1024 * 1024


class _Generated(io.RawIOBase):
    """``size`` pseudo-random bytes made on demand, hashed as they are read."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.left = size
        self.hash = hashlib.sha256()
        self._block = hashlib.sha256(b"seed").digest() * (MB // 32)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self.left, len(self._block))
        buffer[:n] = self._block[:n]
        self.hash.update(self._block[:n])
        self.left -= n
        return n


class _PeakRss:
    """Samples a process's resident memory in the background."""

    def __init__(self, pid: int) -> None:
        self.proc = psutil.Process(pid)
        self.base = self.peak = self.proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(0.02)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak - self.base


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path, object]]:
    home = tmp_path / "srv"
    Client(home=home).close()
    proc, url = start_server_process(clean_env(home=str(home)), log=tmp_path / "server.log")
    yield url, home, proc
    proc.terminate()  # type: ignore[attr-defined]
    proc.wait(timeout=30)  # type: ignore[attr-defined]


def test_smoke_real_uvicorn_on_loopback(server: tuple[str, Path, object]) -> None:
    url, home, _ = server
    assert httpx.get(f"{url}/health").json() == {"status": "ok"}
    assert httpx.get(f"{url}/ready").json() == {"status": "ready"}
    with Client(tracking_uri=url) as remote:
        run = remote.tracking.create_run(experiment="smoke")
        remote.tracking.log_batch(run.id, metrics=[remote.tracking.make_metric("m", i, i)
                                                   for i in range(1000)],
                                  params={"p": "v"})
        remote.tracking.log_text(run.id, "hi", "hello.txt")
        remote.tracking.end_run(run.id)
    with Client(home=home) as local:
        got = local.tracking.get_run(run.id)
        assert got.status == "finished"
        assert len(local.tracking.get_metric_history(run.id, "m")) == 1000
        assert local.tracking.read_artifact(run.id, "hello.txt") == b"hi"
    assert "shipyard_http_requests_total" in httpx.get(f"{url}/metrics").text


@pytest.mark.slow
def test_200mb_streams_both_ways_in_bounded_memory(server: tuple[str, Path, object]) -> None:
    url, _, proc = server
    size = 200 * MB
    watch = _PeakRss(proc.pid)  # type: ignore[attr-defined]
    me = _PeakRss(psutil.Process().pid)
    with Client(tracking_uri=url) as remote:
        run = remote.tracking.create_run(experiment="big")
        source = _Generated(size)
        info = remote.tracking.log_stream(run.id, source, "weights.bin")
        assert (info.size, info.sha256) == (size, source.hash.hexdigest())
        back = hashlib.sha256()
        got = 0
        with remote.tracking.open_artifact(run.id, "weights.bin") as fh:
            while chunk := fh.read(4 * MB):
                back.update(chunk)
                got += len(chunk)
        assert (got, back.hexdigest()) == (size, info.sha256)
    server_growth, client_growth = watch.stop(), me.stop()
    print(f"RSS growth: server {server_growth / MB:.1f} MB, client {client_growth / MB:.1f} MB")
    assert server_growth < 80 * MB, f"server RSS grew {server_growth / MB:.0f} MB"
    assert client_growth < 80 * MB, f"client RSS grew {client_growth / MB:.0f} MB"


@pytest.mark.slow
def test_auth_server_with_cli_made_users_and_two_workers(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "authsrv"
    monkeypatch.setenv("SHIPYARD_HOME", str(home))
    runner = CliRunner()
    result = runner.invoke(cli, ["users", "create", "ci", "--role", "editor", "--no-password"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["tokens", "create", "--user", "ci", "--name", "ci"])
    assert result.exit_code == 0, result.output
    token = result.output.splitlines()[0]
    proc, url = start_server_process(clean_env(home=str(home)),
                                     args=("--auth", "--workers", "2"),
                                     log=tmp_path / "server.log")
    try:
        assert httpx.get(f"{url}/api/v1/experiments").status_code == 401
        with Client(tracking_uri=url, http_retries=0) as anon, pytest.raises(
                AuthenticationError):
            anon.tracking.list_experiments()
        with Client(tracking_uri=url, tracking_token=token) as ci:
            runs = [ci.tracking.create_run(experiment="two-workers") for _ in range(6)]
            for run in runs:
                ci.tracking.log_metric(run.id, "m", 1.0)
            found = ci.tracking.search_runs("two-workers").items
            assert {r.id for r in found} == {r.id for r in runs}
            assert {r.created_by for r in found} == {"ci"}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
