"""``shipyard ui``: a local server with the UI over this machine's store."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
from click.testing import CliRunner

from shipyard.cli.main import cli
from shipyard.testing.server import clean_env


def test_ui_refuses_client_mode_and_names_the_server() -> None:
    result = CliRunner().invoke(cli, ["ui"], env={
        "SHIPYARD_TRACKING_URI": "http://tracking.example:5000"})
    assert result.exit_code == 1
    assert "its UI is served there" in result.output
    assert "http://tracking.example:5000" in result.output


def test_ui_serves_the_local_store_on_loopback_and_prints_its_url(tmp_path: Path) -> None:
    home = tmp_path / "store"
    proc = subprocess.Popen([sys.executable, "-m", "shipyard", "ui", "--port", "0"],
                            env=clean_env(home=str(home)), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, cwd=tmp_path)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("Shipyard UI on http://127.0.0.1:"), line
        assert str(home) in line
        url = line.split()[3]
        deadline = time.monotonic() + 60
        while True:
            try:
                page = httpx.get(f"{url}/", timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the UI never answered"
                time.sleep(0.2)
        assert page.status_code == 200
        assert "<h1>Experiments</h1>" in page.text
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        if proc.stdout is not None:
            proc.stdout.close()
