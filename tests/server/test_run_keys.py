"""The runs page's column chooser offers every key of the experiment's runs (not only those
of the page shown), from ``GET /api/v1/experiments/{id}/keys``; private experiments stay
private."""

from __future__ import annotations

import re
from typing import Any

import pytest
from tests.server.conftest import ApiClient, AuthWorld, err, ok

from shipyard.client import Client

API = "/api/v1"


@pytest.fixture
def sweep(server_client: Client) -> dict[str, Any]:
    """60 runs; only the oldest (on the last page) has the param 'rare' and metric 'late'."""
    t = server_client.tracking
    exp = t.create_experiment("sweep")
    ids = []
    for i in range(60):
        run = t.create_run(experiment_id=exp.id, name=f"r{i:03d}")
        params: dict[str, Any] = {"lr": i / 100}
        metrics = [t.make_metric("score", i / 60)]
        if i == 0:
            params["rare"] = "yes"
            metrics.append(t.make_metric("late", 1.0))
            t.set_tag(run.id, "reviewed", "true")
        t.log_batch(run.id, params=params, metrics=metrics)
        ids.append(run.id)
    return {"exp": exp.id, "ids": ids}


def _chooser_keys(html: str) -> set[str]:
    return set(re.findall(r'name="cols" value="([^"]+)"', html))


def test_chooser_lists_keys_of_runs_on_other_pages(ui: ApiClient,
                                                   sweep: dict[str, Any]) -> None:
    page = ui.get(f"/experiments/{sweep['exp']}?size=25")
    assert page.status_code == 200
    assert sweep["ids"][0] not in page.text  # the run with the rare keys is not shown
    keys = _chooser_keys(page.text)
    assert {"params.rare", "metrics.late", "tags.reviewed", "params.lr",
            "metrics.score"} <= keys
    assert not any(k.startswith("tags.shipyard.") for k in keys)
    # the htmx table swap renders the same chooser
    swap = ui.get(f"/experiments/{sweep['exp']}?size=25&page=2", headers={"HX-Request": "true"})
    assert {"params.rare", "metrics.late"} <= _chooser_keys(swap.text)
    # a chosen rare column is a column of the table
    chosen = ui.get(f"/experiments/{sweep['exp']}?size=25&cols=params.rare,metrics.late")
    assert re.search(r"<th[^>]*>.*?rare", chosen.text, re.S)


def test_keys_route_is_the_json_twin(ui: ApiClient, sweep: dict[str, Any],
                                     server_client: Client) -> None:
    body = ok(ui.get(f"{API}/experiments/{sweep['exp']}/keys"))
    assert body["metrics"] == ["late", "score"]
    assert body["params"] == ["lr", "rare"]
    assert "reviewed" in body["tags"]
    assert ok(ui.get(f"{API}/experiments/sweep/keys")) == body  # by name too
    err(ui.get(f"{API}/experiments/{'0' * 32}/keys"), 404, "experiment-not-found")
    assert server_client.tracking.list_run_keys("sweep") == body


def test_keys_of_a_private_experiment_are_private(auth_world: AuthWorld) -> None:
    api, as_ = auth_world.api, auth_world.as_
    exp = ok(api.post(f"{API}/experiments", json={"name": "secret"}, headers=as_("eve")), 201)
    run = ok(api.post(f"{API}/runs", json={"experiment": "secret"}, headers=as_("eve")), 201)
    ok(api.post(f"{API}/runs/{run['id']}/log-batch", headers=as_("eve"), json={
        "metrics": [{"key": "acc", "value": 0.9, "timestamp": 0}]}))
    ok(api.put(f"{API}/experiments/{exp['id']}/permissions/ed",
               json={"permission": "read"}, headers=as_("eve")))
    assert ok(api.get(f"{API}/experiments/{exp['id']}/keys",
                      headers=as_("ed")))["metrics"] == ["acc"]
    assert api.get(f"{API}/experiments/{exp['id']}/keys", headers=as_("vic")).status_code in (
        403, 404)
