"""``shipyard models`` and ``shipyard serve models:/...`` against a Shipyard server with auth
on (SHIPYARD_TRACKING_URI + a token): the same commands, the gate evaluated by the server, a
failing gate exits non-zero for CI."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from click.testing import CliRunner

from shipyard.cli.main import cli
from shipyard.client import Client
from shipyard.testing.server import clean_env, free_port

RULES = ["--require", "metrics.auc >= champion.metrics.auc + 0.005",
         "--require", "metrics.latency_ms < 20"]
PASSWORD = "correct horse battery"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, dict[str, str], Client]]:
    """A server with three versions of ``churn`` (champion = 1) and a token per role."""
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    from shipyard.server import create_app
    from shipyard.testing.server import serve_in_thread

    frame = pd.DataFrame(np.arange(8, dtype=float).reshape(4, 2), columns=["a", "b"])
    model = LinearRegression().fit(frame, frame["a"] * 2)
    with Client(home=tmp_path / "server") as server:
        tokens = {}
        for user, role in (("eve", "editor"), ("vic", "viewer")):
            server.auth.create_user(user, role=role, password=PASSWORD)
            tokens[user] = server.auth.create_token(user, name="ci")[1]
        for auc, latency in ((0.90, 10.0), (0.93, 12.0), (0.931, 30.0)):
            run = server.tracking.create_run(experiment="cli-remote")
            server.tracking.log_metric(run.id, "auc", auc)
            server.tracking.log_metric(run.id, "latency_ms", latency)
            server.models.log_model(run.id, model, input_example=frame)
            server.registry.create_model_version("churn", run_id=run.id, actor="trainer")
        server.registry.set_alias("churn", "champion", 1, actor="trainer")
        with serve_in_thread(create_app(server, auth=True)) as url:
            yield url, tokens, server


def _as(monkeypatch: pytest.MonkeyPatch, served: tuple[str, dict[str, str], Client],
        who: str) -> None:
    monkeypatch.setenv("SHIPYARD_TRACKING_URI", served[0])
    monkeypatch.setenv("SHIPYARD_TRACKING_TOKEN", served[1][who])
    monkeypatch.setenv("SHIPYARD_HTTP_RETRIES", "1")


def _run(args: list[str], code: int = 0) -> Any:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == code, result.output
    return result


def test_promote_with_a_failing_gate_exits_1_through_the_server(
        served: tuple[str, dict[str, str], Client], monkeypatch: pytest.MonkeyPatch) -> None:
    _as(monkeypatch, served, "eve")
    result = _run(["models", "promote", "churn", "--to", "champion", "--version", "3", *RULES],
                  code=1)
    assert "FAIL" in result.output
    assert "Not promoted" in result.output
    server = served[2]
    assert server.registry.get_alias("churn", "champion").version == 1
    last = server.registry.history("churn")[-1]
    assert (last.action, last.actor, last.detail["outcome"]) == ("alias.promoted", "eve",
                                                                 "rejected")
    as_json = _run(["models", "promote", "churn", "--to", "champion", "--version", "3", *RULES,
                    "--json"], code=1)
    assert json.loads(as_json.output)["promoted"] is False


def test_dry_run_with_a_failing_gate_exits_1_and_moves_nothing(
        served: tuple[str, dict[str, str], Client], monkeypatch: pytest.MonkeyPatch) -> None:
    _as(monkeypatch, served, "vic")  # a dry run only reads
    out = _run(["models", "promote", "churn", "--to", "champion", "--version", "3", *RULES,
                "--dry-run"], code=1).output
    assert "a rule failed" in out
    assert served[2].registry.get_alias("churn", "champion").revision == 1


def test_promote_with_a_passing_gate_moves_the_alias_as_the_signed_in_user(
        served: tuple[str, dict[str, str], Client], monkeypatch: pytest.MonkeyPatch) -> None:
    _as(monkeypatch, served, "eve")
    _run(["models", "alias", "churn", "challenger", "2", "--reason", "candidate"])
    out = _run(["models", "promote", "churn", "--to", "champion", "--from", "challenger",
                *RULES, "--reason", "weekly"]).output
    assert "PASS" in out
    assert "Promoted churn version 2" in out
    history = json.loads(_run(["models", "history", "churn", "--json"]).output)
    assert [(e["action"], e["actor"]) for e in history[-2:]] == [
        ("alias.set", "eve"), ("alias.promoted", "eve")]
    shown = json.loads(_run(["models", "show", "churn", "--json"]).output)
    assert shown["model"]["aliases"] == {"champion": 2, "challenger": 2}


def test_viewers_cannot_promote_and_are_told_why(
        served: tuple[str, dict[str, str], Client], monkeypatch: pytest.MonkeyPatch) -> None:
    _as(monkeypatch, served, "vic")
    result = _run(["models", "promote", "churn", "--to", "champion", "--version", "2"], code=1)
    assert "permission" in result.output.lower()
    listed = json.loads(_run(["models", "list", "--json"]).output)
    assert [m["name"] for m in listed["models"]] == ["churn"]


def test_register_and_delete_through_the_server(
        served: tuple[str, dict[str, str], Client], monkeypatch: pytest.MonkeyPatch) -> None:
    _as(monkeypatch, served, "eve")
    run_id = served[2].registry.get_model_version("churn", 1).run_id
    assert run_id is not None
    registered = json.loads(_run(["models", "register", "churn", run_id, "--json"]).output)
    assert (registered["version"], registered["created_by"]) == (4, "eve")
    _run(["models", "delete", "churn", "--version", "4", "--reason", "dup"])
    assert served[2].registry.get_model_version("churn", 4).status == "deleted"
    hard = _run(["models", "delete", "churn", "--version", "3", "--hard"], code=1)
    assert "permission" in hard.output.lower()
    whole = _run(["models", "delete", "churn", "--yes"], code=1)  # for good: admins only
    assert "permission" in whole.output.lower()
    _run(["models", "delete", "churn", "--soft", "--reason", "retired"])
    assert served[2].registry.list_model_versions("churn") == []
    assert served[2].registry.get_registered_model("churn").name == "churn"


@pytest.mark.timeout(300)
def test_shipyard_serve_loads_a_models_uri_through_the_server(
        served: tuple[str, dict[str, str], Client], tmp_path: Path) -> None:
    url, tokens, _ = served
    port = free_port()
    env = clean_env(tracking_uri=url, tracking_token=tokens["vic"], trust_pickle="true",
                    home=str(tmp_path / "serve-home"))
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "shipyard", "serve", "models:/churn@champion", "--port",
             str(port), "--no-log-predictions", "--reload-interval", "0"],
            env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            try:
                if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        answer = httpx.post(f"{base}/v1/models/churn/predict", json=[{"a": 1.0, "b": 2.0}])
        assert answer.status_code == 200, answer.text
        assert answer.json()["predictions"] == pytest.approx([2.0])  # the model is 2 * a
        models = httpx.get(f"{base}/v1/models").json()
        assert "churn" in json.dumps(models)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
