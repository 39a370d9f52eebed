"""The server killed with SIGKILL while a client logs through it, then restarted on the same
port: the client retries, and every acknowledged point is stored exactly once."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from shipyard.client import Client
from shipyard.entities.tracking import RunStatus
from shipyard.testing.server import clean_env, free_port, start_server_process

POINTS = 30_000
LOGGER = textwrap.dedent("""
    import sys, time, shipyard
    n = int(sys.argv[1])
    with shipyard.start_run(experiment="sigkill") as run:
        print(run.id, flush=True)
        for i in range(n):
            shipyard.log_metric("m", float(i), step=i)
            if i % 500 == 499:
                time.sleep(0.05)  # spread the logging over a few seconds
        shipyard.flush()  # returns only once every point is acknowledged
    print("done", flush=True)
""")


@pytest.mark.slow
def test_sigkilled_server_loses_no_acknowledged_point(tmp_path: Path) -> None:
    home = tmp_path / "home"
    Client(home=home).close()  # schema created once, as `shipyard db upgrade` would
    port = free_port()
    server_env = clean_env(home=str(home))
    log = tmp_path / "server.log"
    server, url = start_server_process(server_env, port=port, log=log)
    script = tmp_path / "logger.py"
    script.write_text(LOGGER)
    client_env = clean_env(tracking_uri=url, home=str(tmp_path / "client"),
                           metric_flush_interval="0.05", http_retries="12",
                           heartbeat_interval="0.5")
    logger = subprocess.Popen([sys.executable, str(script), str(POINTS)], env=client_env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert logger.stdout is not None
        run_id = logger.stdout.readline().strip()
        assert run_id, logger.stderr.read() if logger.stderr else ""
        time.sleep(1.0)  # mid-way through the logging
        assert logger.poll() is None, "the kill must land while the client is logging"
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=30)
        time.sleep(1.0)  # the client keeps logging (and retrying) while nothing listens
        server, _ = start_server_process(server_env, port=port, log=log)
        out, err = logger.communicate(timeout=180)
        assert logger.returncode == 0, err
        assert out.strip().endswith("done"), (out, err)
    finally:
        if logger.poll() is None:
            logger.kill()
            logger.wait()
        server.terminate()
        server.wait(timeout=30)

    with Client(home=home) as client:
        steps = [m.step for m in client.tracking.get_metric_history(run_id, "m")]
        assert len(steps) == POINTS, "every acknowledged point is there exactly once"
        assert steps == list(range(POINTS))
        assert client.tracking.get_run(run_id).status is RunStatus.FINISHED
