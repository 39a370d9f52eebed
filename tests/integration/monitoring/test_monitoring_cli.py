"""``shipyard monitor``: every listing has --json; errors exit 1 with a hint."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from click.testing import CliRunner

from shipyard.cli.main import cli

from .conftest import HOUR, T0, Churn, features


def _ok(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return result.output


def _json(args: list[str]) -> Any:
    return json.loads(_ok(CliRunner().invoke(cli, args)))


def test_create_run_show_alerts_delete(churn: Churn) -> None:
    created = _json(["monitor", "create", "churn-mon", "--model", "models:/churn@champion",
                     "--window", "1h", "--start", T0.isoformat(), "--rule", "rows > 10",
                     "--rule", "drift_share > 0.3", "--min-labels", "5",
                     "--threshold", "psi=0.25", "--method", "age=psi", "--json"])
    assert created["rules"] == ["rows > 10", "drift_share > 0.3"]
    assert created["config"]["drift_method"] == {"age": "psi"}
    assert created["config"]["drift_thresholds"] == {"psi": 0.25}
    churn.log_hour(T0, 200, shift=15, labels=0.5)
    now = (T0 + HOUR + timedelta(minutes=1)).isoformat()
    [out] = _json(["monitor", "run", "churn-mon", "--now", now, "--json"])
    assert out["error"] is None
    assert len(out["windows"]) == 1
    assert {r["rule"]: r["firing"] for r in out["rules"]} == {"rows > 10": True,
                                                              "drift_share > 0.3": True}
    [listed] = _json(["monitor", "list", "--json"])
    assert (listed["name"], listed["alerts_firing"]) == ("churn-mon", 2)
    assert listed["label_coverage"] == 0.5
    shown = _json(["monitor", "show", "churn-mon", "--json"])
    assert shown["latest"]["rows"]["value"] == 200
    assert shown["windows"][0]["rows"] == 200
    alerts = _json(["monitor", "alerts", "churn-mon", "--state", "firing", "--json"])
    assert sorted(a["rule"] for a in alerts) == ["drift_share > 0.3", "rows > 10"]
    assert "churn-mon" in _ok(CliRunner().invoke(cli, ["monitor", "show", "churn-mon"]))
    _ok(CliRunner().invoke(cli, ["monitor", "delete", "churn-mon"]))
    assert _json(["monitor", "list", "--json"]) == []


def test_run_every_loops(churn: Churn) -> None:
    _ok(CliRunner().invoke(cli, ["monitor", "create", "m", "--model", "models:/churn/1",
                                 "--start", T0.isoformat()]))
    result = CliRunner().invoke(cli, ["monitor", "run", "--every", "0.2s", "--iterations",
                                      "2", "--now", (T0 + 2 * HOUR).isoformat()])
    assert _ok(result).count("m: ") == 2
    assert "2 window(s) evaluated" in result.output


def test_errors_exit_1_with_a_hint(churn: Churn) -> None:
    result = CliRunner().invoke(cli, ["monitor", "create", "m", "--model",
                                      "models:/churn@champion", "--window", "soon"])
    assert result.exit_code == 1
    assert "not a duration" in result.output
    result = CliRunner().invoke(cli, ["monitor", "show", "nope"])
    assert result.exit_code == 1
    assert "shipyard monitor list" in result.output


def test_feedback_import(churn: Churn, tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    pd.DataFrame({"request_id": ["a", "b"], "label": [1, 0]}).to_csv(path, index=False)
    assert "wrote 1 feedback file" in _ok(CliRunner().invoke(
        cli, ["monitor", "feedback", "churn", str(path)]))
    assert any(k.startswith("feedback/churn/") for k in churn.client.artifacts.list("feedback/"))


def test_report_writes_html_and_json(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    ref, cur = features(3000, rng), features(3000, rng, shift=8)
    ref.to_parquet(tmp_path / "ref.parquet")
    cur.to_csv(tmp_path / "cur.csv", index=False)
    out = _ok(CliRunner().invoke(cli, [
        "monitor", "report", "--reference", str(tmp_path / "ref.parquet"), "--current",
        str(tmp_path / "cur.csv"), "--out", str(tmp_path / "r.html"), "--json-out",
        str(tmp_path / "r.json")]))
    assert "1 of 3 columns drifted" in out
    html = (tmp_path / "r.html").read_text()
    assert html.startswith("<!doctype html>")
    assert "<svg" in html
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["drift"]["drifted_columns"] == ["age"]
    assert len(html) < 200_000
