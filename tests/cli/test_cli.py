from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

import shipyard
from shipyard.cli.main import cli


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def seeded(client):
    runs = []
    for i, model in enumerate(["rf", "lr", "rf"]):
        with shipyard.start_run(experiment="cli", run_name=f"r{i}") as run:
            shipyard.log_params({"model": model, "i": i})
            shipyard.log_metric("auc", 0.7 + i / 10)
        runs.append(run.id)
    shipyard.get_client().tracking.log_text(runs[0], "hello", "notes.txt")
    return runs


def _json(result) -> object:
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_version(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert shipyard.__version__ in result.output


def test_experiments_list_json(runner: CliRunner, seeded) -> None:
    names = [e["name"] for e in _json(runner.invoke(cli, ["experiments", "list", "--json"]))]
    assert names == ["cli"]


def test_runs_list_filter_order_json(runner: CliRunner, seeded) -> None:
    out = _json(runner.invoke(cli, ["runs", "list", "-e", "cli", "-f", "params.model = 'rf'",
                                    "-o", "metrics.auc DESC", "--json"]))
    assert [r["id"] for r in out["runs"]] == [seeded[2], seeded[0]]


def test_runs_show_and_compare(runner: CliRunner, seeded) -> None:
    shown = _json(runner.invoke(cli, ["runs", "show", seeded[0], "--json"]))
    assert shown["run"]["params"] == {"model": "rf", "i": 0}
    assert [a["path"] for a in shown["artifacts"]] == ["notes.txt"]
    cmp = _json(runner.invoke(cli, ["runs", "compare", *seeded[:2], "--json"]))
    keys = {(r["kind"], r["key"]) for r in cmp["rows"] if r["differs"]}
    assert keys == {("param", "model"), ("param", "i"), ("metric", "auc")}
    table = runner.invoke(cli, ["runs", "compare", seeded[0][:8], seeded[1]])
    assert table.exit_code == 0
    assert "params.model" in table.output


def test_delete_restore_gc(runner: CliRunner, seeded) -> None:
    assert runner.invoke(cli, ["runs", "delete", seeded[0]]).exit_code == 0
    deleted = _json(runner.invoke(cli, ["runs", "list", "--deleted", "--json"]))
    assert [r["id"] for r in deleted["runs"]] == [seeded[0]]
    assert runner.invoke(cli, ["runs", "restore", seeded[0]]).exit_code == 0
    assert runner.invoke(cli, ["runs", "delete", seeded[1]]).exit_code == 0
    assert _json(runner.invoke(cli, ["gc", "--json"])) == {"purged_runs": [seeded[1]]}


def test_errors_exit_1_with_headline_and_hint(runner: CliRunner, client) -> None:
    result = runner.invoke(cli, ["runs", "show", "f" * 32])
    assert result.exit_code == 1
    assert "Error: No run with id" in result.output
    assert "hint:" in result.output
    bad = runner.invoke(cli, ["runs", "list", "-f", "metrics.x >"])
    assert bad.exit_code == 1
    assert "^" in bad.output


def test_usage_error_exits_2(runner: CliRunner) -> None:
    assert runner.invoke(cli, ["runs", "nope"]).exit_code == 2


def test_db_upgrade_and_current(runner: CliRunner, client) -> None:
    result = runner.invoke(cli, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    cur = runner.invoke(cli, ["db", "current"])
    assert "required" in cur.output


def test_config_show_json(runner: CliRunner, monkeypatch) -> None:
    monkeypatch.setenv("SHIPYARD_DEFAULT_EXPERIMENT", "from-env")
    out = _json(runner.invoke(cli, ["config", "show", "--json"]))
    assert out["default_experiment"] == "from-env"


def test_reap_marks_dead_runs_killed(runner: CliRunner, client, monkeypatch) -> None:
    from datetime import timedelta

    from shipyard.entities._ids import utc_now

    run = client.tracking.create_run(experiment="x")
    client.metadata.heartbeat([run.id], utc_now() - timedelta(hours=1))
    assert _json(runner.invoke(cli, ["runs", "reap", "--json"])) == [run.id]


def test_import_and_help_stay_light() -> None:
    code = ("import shipyard, sys; import shipyard.cli.main; "
            "heavy = [m for m in ('pandas', 'sqlalchemy', 'starlette', 'fastapi', 'uvicorn', "
            "'numpy', 'pydantic', 'boto3', 'rich') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
