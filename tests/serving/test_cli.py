"""``shipyard serve`` as a real process: it starts, answers, registers itself, reports its
start-up, and stops cleanly on SIGTERM; several workers share the port and sum their metrics.
``shipyard deployments list`` shows it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from tests.serving.conftest import COLS, Zoo, register, wait_ready

from shipyard.cli.main import cli
from shipyard.testing.server import clean_env, free_port

ROW = dict.fromkeys(COLS, 0.5)


def _start(zoo: Zoo, tmp_path: Path, *args: str) -> tuple[subprocess.Popen[bytes], str, Path]:
    port = free_port()
    log = tmp_path / f"serve-{port}.log"
    env = clean_env(home=str(zoo.client.settings.home_path))
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "shipyard", "serve", *args, "--port", str(port),
             "--log-level", "info"], env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"shipyard serve exited: {log.read_text()}")
        try:
            wait_ready(url, timeout=1)
            return proc, url, log
        except (AssertionError, httpx.HTTPError):
            time.sleep(0.1)
    proc.kill()
    pytest.fail(f"shipyard serve never became ready: {log.read_text()}")


def _stop(proc: subprocess.Popen[bytes]) -> int:
    """SIGTERM; uvicorn shuts down gracefully, then re-raises the signal (exit -15)."""
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


def test_serve_process_answers_registers_and_stops(zoo: Zoo, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    proc, url, log = _start(zoo, tmp_path, "lr=models:/lr@champion", "models:/rf/1",
                            "--no-log-predictions")
    try:
        r = httpx.post(f"{url}/v1/models/lr/predict", json=[ROW])
        assert r.status_code == 200, r.text
        assert httpx.post(f"{url}/v1/models/rf/predict", json=[ROW]).status_code == 200
        monkeypatch.setenv("SHIPYARD_HOME", str(zoo.client.settings.home_path))
        listed = CliRunner().invoke(cli, ["deployments", "list", "--json"])
        assert listed.exit_code == 0, listed.output
        mine = [d for d in json.loads(listed.output) if d["pid"] == proc.pid]
        assert len(mine) == 1
        assert mine[0]["state"] == "live"
        assert mine[0]["url"].endswith(url.rsplit(":", 1)[1])
        assert {(m["name"], m["version"]) for m in mine[0]["models"]} == {("lr", 1), ("rf", 1)}
    finally:
        code = _stop(proc)
    assert code in (0, -signal.SIGTERM), log.read_text()
    assert "Application shutdown complete" in log.read_text()
    text = log.read_text()
    assert '"path":"/v1/models/lr/predict","status":200' in text  # the JSON access log
    stopped = CliRunner().invoke(cli, ["deployments", "list", "--all", "--json"])
    assert [d["state"] for d in json.loads(stopped.output) if d["pid"] == proc.pid] == [
        "stopped"]


def test_serve_refuses_an_unknown_alias_at_once(zoo: Zoo, monkeypatch: pytest.MonkeyPatch
                                                ) -> None:
    monkeypatch.setenv("SHIPYARD_HOME", str(zoo.client.settings.home_path))
    res = CliRunner().invoke(cli, ["serve", "models:/lr@nope", "--port", str(free_port())])
    assert res.exit_code == 1
    assert "nope" in res.output
    # with workers the parent resolves before it forks anything (a process of its own: it
    # sets PROMETHEUS_MULTIPROC_DIR before importing prometheus_client)
    env = clean_env(home=str(zoo.client.settings.home_path))
    forked = subprocess.run([sys.executable, "-m", "shipyard", "serve", "models:/lr@nope",
                             "--workers", "2", "--port", str(free_port())], env=env,
                            capture_output=True, timeout=120, check=False)
    assert forked.returncode == 1, forked.stderr
    assert b"nope" in forked.stderr
    bad = CliRunner().invoke(cli, ["serve", "not-a-uri", "--port", str(free_port())])
    assert bad.exit_code == 1
    assert "neither a model URI" in bad.output


@pytest.mark.slow
def test_two_workers_share_the_port_and_sum_their_metrics(zoo: Zoo, tmp_path: Path) -> None:
    proc, url, log = _start(zoo, tmp_path, "models:/lr@champion", "--workers", "2",
                            "--no-log-predictions", "--no-access-log")
    try:
        with httpx.Client() as http:
            for _ in range(40):  # new connections, so both workers get some
                assert httpx.post(f"{url}/v1/models/lr/predict", json=[ROW]).status_code == 200
            text = http.get(f"{url}/metrics").text
        line = next(x for x in text.splitlines() if x.startswith(
            'shipyard_serving_requests_total{model="lr"') and 'status="200"' in x)
        assert float(line.rsplit(" ", 1)[1]) == 40.0
    finally:
        code = _stop(proc)
    assert code in (0, -signal.SIGTERM), log.read_text()
    assert "Application shutdown complete" in log.read_text()


def _workers(proc: subprocess.Popen[bytes], count: int, *, other_than: set[int] = frozenset(),
             timeout: float = 30) -> set[int]:
    """The server's child processes, once there are ``count`` of them, none in ``other_than``."""
    import psutil

    parent = psutil.Process(proc.pid)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = {c.pid for c in parent.children() if c.status() != psutil.STATUS_ZOMBIE}
        if len(pids) == count and not pids & other_than:
            return pids
        time.sleep(0.05)
    pytest.fail(f"expected {count} workers besides {other_than}, found {pids}")


def _worker_of(response: httpx.Response) -> str:
    """Each worker's app prefixes the request ids it makes up with its own random tag."""
    return response.headers["x-request-id"].rsplit("-", 1)[0]


@pytest.mark.slow
def test_forked_workers_are_replaced_when_killed_and_stop_on_sigterm(zoo: Zoo,
                                                                     tmp_path: Path) -> None:
    proc, url, log = _start(zoo, tmp_path, "models:/lr@champion", "--workers", "2",
                            "--no-log-predictions", "--no-access-log")
    predict = f"{url}/v1/models/lr/predict"
    try:
        first = _workers(proc, 2)
        before = set()  # both workers answer: two request id tags
        for _ in range(200):
            before.add(_worker_of(httpx.post(predict, json=[ROW])))
            if len(before) == 2:
                break
        assert len(before) == 2, before
        # each request on a new connection, one at a time: when a worker is killed, at most
        # the one connection it had accepted fails; the other worker takes the rest (the
        # listening socket is shared, so nothing is refused while the parent re-forks)
        victim = min(first)
        killer = threading.Timer(0.3, os.kill, (victim, signal.SIGKILL))
        killer.start()
        after, failed = set(), 0
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            try:
                r = httpx.post(predict, json=[ROW])
                assert r.status_code == 200, r.text
                after.add(_worker_of(r))
            except httpx.TransportError:
                failed += 1
        killer.join()
        assert failed <= 1, log.read_text()
        second = _workers(proc, 2, other_than={victim})
        assert first - {victim} <= second  # the survivor still runs, beside a new worker
        for _ in range(200):  # and the new worker answers: a tag not seen before the kill
            if after - before:
                break
            after.add(_worker_of(httpx.post(predict, json=[ROW])))
        assert after - before, "the replacement worker never answered"
        assert "died (signal 9); starting another" in log.read_text()
        # the killed worker could not mark its deployment stopped; the parent did
        by_pid = {d.pid: d for d in zoo.client.serving.list_deployments(include_stopped=True)}
        assert by_pid[victim].stopped_at is not None
        assert all(by_pid[p].stopped_at is None for p in second if p in by_pid)
    finally:
        code = _stop(proc)
    assert code == 0, log.read_text()
    import psutil

    assert not [p for p in second if psutil.pid_exists(p)]  # stopped and reaped


@pytest.mark.slow
def test_admin_reload_reaches_every_forked_worker_and_a_replacement_catches_up(
        zoo: Zoo, tmp_path: Path) -> None:
    """Each worker holds its own copy of the models: POST /admin/reload on one must switch
    them all (polling off here), and a worker forked after the switch must not serve the
    version the parent loaded at start-up."""
    from sklearn.linear_model import LogisticRegression

    name = "reloaded"
    first = register(zoo.client, name, zoo.lr, zoo.frame(), alias="champion")
    proc, url, log = _start(zoo, tmp_path, f"models:/{name}@champion", "--workers", "2",
                            "--reload-interval", "0", "--no-log-predictions",
                            "--no-access-log")
    predict = f"{url}/v1/models/{name}/predict"

    def versions_by_worker(rounds: int = 200) -> dict[str, set[int]]:
        seen: dict[str, set[int]] = {}
        for _ in range(rounds):  # new connections, so both workers answer
            r = httpx.post(predict, json=[ROW])
            assert r.status_code == 200, r.text
            seen.setdefault(_worker_of(r), set()).add(r.json()["version"])
            if len(seen) == 2 and rounds > 50:
                rounds = 50
        return seen

    try:
        assert {v for vs in versions_by_worker().values() for v in vs} == {first}
        flipped = LogisticRegression().fit(zoo.X, 1 - zoo.y)
        second = register(zoo.client, name, flipped, zoo.frame(), alias="champion")
        reply = httpx.post(f"{url}/admin/reload", timeout=60)
        assert reply.status_code == 200, reply.text
        deadline = time.monotonic() + 30
        while True:  # the sibling reloads in the background after its signal
            seen = versions_by_worker()
            if len(seen) == 2 and all(vs == {second} for vs in seen.values()):
                break
            assert time.monotonic() < deadline, seen
            time.sleep(0.2)
        victim = min(_workers(proc, 2))
        os.kill(victim, signal.SIGKILL)
        replaced = _workers(proc, 2, other_than={victim})
        assert replaced
        seen = versions_by_worker()
        assert {v for vs in seen.values() for v in vs} == {second}, seen
    finally:
        code = _stop(proc)
    assert code == 0, log.read_text()
