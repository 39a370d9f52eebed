from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

import shipyard
from shipyard.cli.main import cli

RULES = ["--require", "metrics.auc >= champion.metrics.auc + 0.005",
         "--require", "metrics.latency_ms < 20"]


@pytest.fixture
def registered(client: Any) -> Any:
    from sklearn.linear_model import LinearRegression

    x = np.arange(8, dtype=float).reshape(4, 2)
    model = LinearRegression().fit(x, x[:, 0])
    for auc, latency in ((0.90, 10.0), (0.93, 12.0), (0.931, 30.0)):
        with shipyard.start_run(experiment="cli-models"):
            shipyard.log_metrics({"auc": auc, "latency_ms": latency})
            shipyard.log_model(model, input_example=x, registered_model="churn")
    client.registry.set_alias("churn", "champion", 1)
    return client


def _run(args: list[str], code: int = 0) -> Any:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == code, result.output
    return result


def test_list_show_versions_as_json(registered: Any) -> None:
    models = json.loads(_run(["models", "list", "--json"]).output)["models"]
    assert [(m["name"], m["latest_version"], m["aliases"]) for m in models] == [
        ("churn", 3, {"champion": 1})]
    shown = json.loads(_run(["models", "show", "churn", "--json"]).output)
    assert [v["version"] for v in shown["versions"]] == [1, 2, 3]
    versions = json.loads(_run(["models", "versions", "churn", "--json"]).output)
    assert versions[0]["aliases"] == ["champion"]
    assert "churn" in _run(["models", "show", "churn"]).output


def test_promote_passes_and_moves_the_alias(registered: Any) -> None:
    _run(["models", "alias", "churn", "challenger", "2", "--reason", "candidate"])
    out = _run(["models", "promote", "churn", "--to", "champion", "--from", "challenger",
                *RULES, "--reason", "weekly"]).output
    assert "PASS" in out
    assert "Promoted churn version 2" in out
    assert registered.registry.get_alias("churn", "champion").version == 2


def test_promote_fails_with_exit_1_and_a_table(registered: Any) -> None:
    result = _run(["models", "promote", "churn", "--to", "champion", "--version", "3", *RULES],
                  code=1)
    assert "FAIL" in result.output
    assert "metrics.latency_ms < 20" in result.output
    assert "Traceback" not in result.output
    assert registered.registry.get_alias("churn", "champion").version == 1
    data = json.loads(_run(["models", "promote", "churn", "--to", "champion", "--version", "3",
                            *RULES, "--json"], code=1).output)
    assert data["promoted"] is False
    assert [r["passed"] for r in data["rules"]] == [True, False]


def test_dry_run_moves_nothing(registered: Any) -> None:
    _run(["models", "promote", "churn", "--to", "champion", "--version", "2", *RULES,
          "--dry-run"])
    assert registered.registry.get_alias("churn", "champion").version == 1


def test_bad_rule_and_unknown_model_exit_1_with_a_hint(registered: Any) -> None:
    result = _run(["models", "promote", "churn", "--to", "champion", "--version", "2",
                   "--require", "__import__('os')"], code=1)
    assert "hint:" in result.output
    result = _run(["models", "show", "nope"], code=1)
    assert "No registered model named 'nope'" in result.output


def test_history_and_delete(registered: Any) -> None:
    _run(["models", "delete", "churn", "--version", "3", "--reason", "bad"])
    events = json.loads(_run(["models", "history", "churn", "--json"]).output)
    assert [e["action"] for e in events][-2:] == ["alias.set", "version.deleted"]
    assert events[-1]["detail"]["reason"] == "bad"
    assert "version.deleted" in _run(["models", "history", "churn"]).output
    _run(["models", "alias", "churn", "champion", "--delete"])
    _run(["models", "delete", "churn", "--yes"])
    assert json.loads(_run(["models", "list", "--json"]).output)["models"] == []
