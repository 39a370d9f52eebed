"""Reliability: concurrent writers from several processes, and a logger killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import timedelta
from pathlib import Path

import pytest

from shipyard.client import Client
from shipyard.entities.tracking import RunStatus

WRITER = textwrap.dedent("""
    import sys, shipyard
    n = int(sys.argv[1])
    with shipyard.start_run(experiment="concurrency") as run:
        for i in range(n):
            shipyard.log_metric("m", float(i), step=i)
        shipyard.log_param("pid", str(__import__("os").getpid()))
    print(run.id)
""")


def _env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env.update({f"SHIPYARD_{k.upper()}": v for k, v in settings.items()})
    return env


def _run_writers(tmp_path: Path, env: dict[str, str], procs: int, points: int) -> list[str]:
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    children = [subprocess.Popen([sys.executable, str(script), str(points)], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for _ in range(procs)]
    run_ids = []
    for child in children:
        out, err = child.communicate(timeout=240)
        assert child.returncode == 0, f"a writer failed (no error may reach a user):\n{err}"
        assert "Traceback" not in err, err
        assert "locked" not in err, err
        run_ids.append(out.strip().splitlines()[-1])
    return run_ids


def _assert_exactly_once(client: Client, run_ids: list[str], points: int) -> None:
    assert len(set(run_ids)) == len(run_ids)
    for run_id in run_ids:
        run = client.tracking.get_run(run_id)
        assert run.status is RunStatus.FINISHED
        hist = client.tracking.get_metric_history(run_id, "m")
        assert [m.step for m in hist] == list(range(points)), "every point exactly once"
        assert [m.value for m in hist] == [float(i) for i in range(points)]


@pytest.mark.slow
def test_eight_processes_into_one_sqlite_store(tmp_path: Path) -> None:
    home = tmp_path / "home"
    Client(home=home).close()  # create the schema once, as `shipyard db upgrade` would
    ids = _run_writers(tmp_path, _env(home=str(home)), procs=8, points=10_000)
    with Client(home=home) as client:
        _assert_exactly_once(client, ids, 10_000)


@pytest.mark.slow
@pytest.mark.postgres
def test_eight_processes_into_one_postgres_store(tmp_path: Path, postgres_url: str) -> None:
    env = _env(home=str(tmp_path / "home"), metadata_uri=postgres_url)
    ids = _run_writers(tmp_path, env, procs=8, points=10_000)
    with Client(home=tmp_path / "home", metadata_uri=postgres_url) as client:
        _assert_exactly_once(client, ids, 10_000)


KILLED = textwrap.dedent("""
    import io, sys, time, shipyard
    class Slow(io.RawIOBase):
        def readable(self): return True
        def readinto(self, b):
            time.sleep(0.01)
            b[:65536] = b"x" * 65536
            return 65536
    with shipyard.start_run(experiment="killed") as run:
        for i in range(500):
            shipyard.log_metric("m", float(i), step=i)
        shipyard.flush()
        shipyard.log_text("complete", "done.txt")
        print(run.id, flush=True)
        for i in range(500, 100000):
            shipyard.log_metric("m", float(i), step=i)
        shipyard.get_client().tracking.log_stream(run.id, Slow(), "big/never-finished.bin")
""")


@pytest.mark.slow
def test_sigkill_leaves_a_clean_store_and_a_reapable_run(tmp_path: Path) -> None:
    home = tmp_path / "home"
    script = tmp_path / "killed.py"
    script.write_text(KILLED)
    env = _env(home=str(home), heartbeat_interval="0.2")
    child = subprocess.Popen([sys.executable, str(script)], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    assert child.stdout is not None
    run_id = child.stdout.readline().strip()
    assert run_id, child.stderr.read() if child.stderr else ""
    time.sleep(1.5)  # mid-way through the slow artifact upload
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    child.stdout.close()
    if child.stderr:
        child.stderr.close()

    with Client(home=home) as client:
        svc = client.tracking
        steps = [m.step for m in svc.get_metric_history(run_id, "m")]
        assert steps[:500] == list(range(500)), "every point flushed before the kill is there"
        assert len(steps) == len(set(steps)), "no point twice"
        assert [a.path for a in svc.list_artifacts(run_id)] == ["done.txt"]
        visible = [k for k in client.artifacts.list() if run_id in k]
        assert visible == [f"{svc.get_run(run_id).experiment_id}/{run_id}/done.txt"], (
            "no half-written artifact is visible")
        assert svc.read_artifact(run_id, "done.txt") == b"complete"
        assert svc.get_run(run_id).status is RunStatus.RUNNING
        time.sleep(0.5)
        killed = svc.reap_stale_runs(timeout=timedelta(seconds=0.5))
        assert [r.id for r in killed] == [run_id]
        assert svc.get_run(run_id).status is RunStatus.KILLED
