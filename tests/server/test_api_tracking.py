"""Every tracking route of /api/v1, in process (auth off)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from tests.server.conftest import ApiClient, err, ok

from shipyard.entities.tracking import RunStatus

API = "/api/v1"


def _exp(api: ApiClient, name: str = "e") -> dict:
    return ok(api.post(f"{API}/experiments", json={"name": name, "description": "d",
                                                   "tags": {"team": "ml"}}), 201)


def _run(api: ApiClient, experiment: str = "e", **extra: object) -> dict:
    return ok(api.post(f"{API}/runs", json={"experiment": experiment, **extra}), 201)


# -- experiments --------------------------------------------------------------------------
def test_create_get_and_list_experiments(api: ApiClient) -> None:
    exp = _exp(api, "churn")
    assert (exp["name"], exp["description"], exp["tags"]) == ("churn", "d", {"team": "ml"})
    assert ok(api.get(f"{API}/experiments/{exp['id']}")) == exp
    assert ok(api.get(f"{API}/experiments/churn"))["id"] == exp["id"], "by name too"
    assert [e["id"] for e in ok(api.get(f"{API}/experiments"))] == [exp["id"]]
    assert ok(api.get(f"{API}/experiments", params={"name": "churn"}))[0]["id"] == exp["id"]
    assert ok(api.get(f"{API}/experiments", params={"name": "nope"})) == []


def test_duplicate_experiment_is_409_with_the_typed_code(api: ApiClient) -> None:
    _exp(api, "x")
    error = err(api.post(f"{API}/experiments", json={"name": "x"}), 409,
                "experiment-already-exists")
    assert "x" in error["message"]


def test_unknown_experiment_is_404(api: ApiClient) -> None:
    err(api.get(f"{API}/experiments/{'0' * 32}"), 404, "experiment-not-found")


def test_delete_restore_and_purge_experiment(api: ApiClient) -> None:
    exp = _exp(api, "gone")
    run = _run(api, "gone")
    assert ok(api.delete(f"{API}/experiments/{exp['id']}"))["lifecycle"] == "deleted"
    assert ok(api.get(f"{API}/experiments")) == []
    assert len(ok(api.get(f"{API}/experiments", params={"include_deleted": True}))) == 1
    assert ok(api.get(f"{API}/runs/{run['id']}"))["lifecycle"] == "deleted"
    assert ok(api.post(f"{API}/experiments/{exp['id']}/restore"))["lifecycle"] == "active"
    assert ok(api.get(f"{API}/runs/{run['id']}"))["lifecycle"] == "active"
    err(api.post(f"{API}/experiments/{exp['id']}/purge"), 409, "conflict")
    ok(api.post(f"{API}/runs/purge", json={"run_ids": [run["id"]]}), 204)
    ok(api.post(f"{API}/experiments/{exp['id']}/purge"), 204)
    err(api.get(f"{API}/experiments/{exp['id']}"), 404)


def test_permissions_need_auth(api: ApiClient) -> None:
    exp = _exp(api)
    err(api.get(f"{API}/experiments/{exp['id']}/permissions"), 400, "invalid-argument")


# -- runs ---------------------------------------------------------------------------------
def test_create_run_with_context_tags_and_parent(api: ApiClient) -> None:
    exp = _exp(api)
    parent = _run(api, context={"user": "alice", "git_commit": "abc", "packages": {"x": "1"}})
    start = datetime(2024, 5, 1, tzinfo=UTC)
    child = ok(api.post(f"{API}/runs", json={
        "experiment_id": exp["id"], "name": "child", "parent_id": parent["id"],
        "tags": {"k": "v"}, "start_time": start.isoformat()}), 201)
    assert parent["context"]["user"] == "alice"
    assert parent["created_by"] == "alice", "no auth: the client's context user"
    assert (child["name"], child["parent_id"], child["tags"]) == ("child", parent["id"],
                                                                 {"k": "v"})
    assert child["start_time"].startswith("2024-05-01T00:00:00")
    assert child["status"] == "running"


def test_create_run_in_unknown_experiment_id_is_404(api: ApiClient) -> None:
    err(api.post(f"{API}/runs", json={"experiment_id": "f" * 32}), 404, "experiment-not-found")


def test_create_run_with_a_naive_time_is_422(api: ApiClient) -> None:
    err(api.post(f"{API}/runs", json={"start_time": "2024-01-01T00:00:00"}), 422,
        "invalid-argument")


def test_get_runs_in_order_skipping_unknown(api: ApiClient) -> None:
    _exp(api)
    a, b = _run(api), _run(api)
    got = ok(api.post(f"{API}/runs/batch-get", json={"run_ids": [b["id"], "x", a["id"]]}))
    assert [r["id"] for r in got] == [b["id"], a["id"]]


def test_update_run_changes_only_given_fields(api: ApiClient) -> None:
    _exp(api)
    run = _run(api, name="before", description="keep")
    end = datetime.now(UTC)
    got = ok(api.patch(f"{API}/runs/{run['id']}", json={
        "name": "after", "status": "failed", "end_time": end.isoformat(), "error": "boom"}))
    assert (got["name"], got["description"], got["status"], got["error"]) == (
        "after", "keep", "failed", "boom")
    got = ok(api.patch(f"{API}/runs/{run['id']}", json={"end_time": None, "error": None}))
    assert (got["end_time"], got["error"], got["status"]) == (None, None, "failed")
    err(api.patch(f"{API}/runs/{run['id']}", json={"status": "nope"}), 422)


def test_log_batch_is_idempotent_by_batch_id(api: ApiClient) -> None:
    _exp(api)
    run = _run(api)
    body = {"metrics": [{"key": "loss", "value": 1.0 / (i + 1), "step": i,
                         "timestamp": 1_700_000_000_000 + i} for i in range(10)],
            "params": {"lr": 0.1, "model": "rf", "depth": 3, "flag": True, "none": None},
            "tags": {"t": "v"}, "batch_id": "b-1"}
    assert ok(api.post(f"{API}/runs/{run['id']}/log-batch", json=body)) == {"written": True}
    assert ok(api.post(f"{API}/runs/{run['id']}/log-batch", json=body)) == {"written": False}
    got = ok(api.get(f"{API}/runs/{run['id']}"))
    assert got["params"] == {"lr": 0.1, "model": "rf", "depth": 3, "flag": True, "none": None}
    assert got["tags"] == {"t": "v"}
    hist = ok(api.get(f"{API}/runs/{run['id']}/metric-history", params={"key": "loss"}))
    assert [m["step"] for m in hist] == list(range(10)), "written once"
    assert hist[0]["timestamp"].startswith("2023-11-14T22:13:20")


def test_non_finite_metrics_travel_as_strings(api: ApiClient) -> None:
    _exp(api)
    run = _run(api)
    ok(api.post(f"{API}/runs/{run['id']}/log-batch", json={"metrics": [
        {"key": "x", "value": "NaN", "step": 0, "timestamp": "2024-01-01T00:00:00Z"},
        {"key": "x", "value": "Infinity", "step": 1, "timestamp": "2024-01-01T00:00:00Z"},
        {"key": "x", "value": "-Infinity", "step": 2, "timestamp": "2024-01-01T00:00:00Z"}]}))
    hist = ok(api.get(f"{API}/runs/{run['id']}/metric-history", params={"key": "x"}))
    assert [m["value"] for m in hist] == ["NaN", "Infinity", "-Infinity"]
    assert ok(api.get(f"{API}/runs/{run['id']}"))["metrics"] == {"x": "-Infinity"}


def test_param_conflict_is_409_and_writes_nothing(api: ApiClient) -> None:
    _exp(api)
    run = _run(api)
    ok(api.post(f"{API}/runs/{run['id']}/log-batch", json={"params": {"lr": 0.1}}))
    error = err(api.post(f"{API}/runs/{run['id']}/log-batch", json={
        "params": {"lr": 0.2}, "metrics": [{"key": "m", "value": 1, "timestamp": 0}]}), 409,
        "param-conflict")
    assert error["hint"]
    assert ok(api.get(f"{API}/runs/{run['id']}"))["metrics"] == {}


@pytest.mark.parametrize("body", [
    {"metrics": [{"key": "m", "value": "high", "timestamp": 0}]},
    {"metrics": [{"key": "m", "value": 1, "step": 2**64, "timestamp": 0}]},
    {"params": {"p": 2**70}},
    {"batch_id": "x" * 65},
    {"unknown": 1},
])
def test_bad_log_batch_is_422_never_500(api: ApiClient, body: dict) -> None:
    _exp(api)
    run = _run(api)
    err(api.post(f"{API}/runs/{run['id']}/log-batch", json=body), 422, "invalid-argument")


def test_bad_metric_key_is_400(api: ApiClient) -> None:
    _exp(api)
    run = _run(api)
    err(api.post(f"{API}/runs/{run['id']}/log-batch", json={
        "metrics": [{"key": "../m", "value": 1, "timestamp": 0}]}), 400, "invalid-argument")


def test_log_to_unknown_run_is_404(api: ApiClient) -> None:
    err(api.post(f"{API}/runs/{'e' * 32}/log-batch", json={"params": {"a": 1}}), 404,
        "run-not-found")


def test_delete_tag(api: ApiClient) -> None:
    _exp(api)
    run = _run(api, tags={"a/b": "1", "c": "2"})
    ok(api.delete(f"{API}/runs/{run['id']}/tags/a/b"), 204)
    ok(api.delete(f"{API}/runs/{run['id']}/tags/a/b"), 204)
    assert ok(api.get(f"{API}/runs/{run['id']}"))["tags"] == {"c": "2"}


def test_inputs(api: ApiClient) -> None:
    _exp(api)
    run = _run(api)
    ds = {"name": "train", "digest": "abc", "source": "s3://x", "schema": {"a": "int64"},
          "num_rows": 10, "context": "training"}
    ok(api.post(f"{API}/runs/{run['id']}/inputs", json={"datasets": [ds]}), 204)
    ok(api.post(f"{API}/runs/{run['id']}/inputs", json={"datasets": [ds]}), 204)
    assert ok(api.get(f"{API}/runs/{run['id']}/inputs")) == [ds]


def test_heartbeat_and_stale_runs(api: ApiClient) -> None:
    _exp(api)
    run = _run(api)
    old = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    ok(api.post(f"{API}/runs/heartbeat", json={"run_ids": [run["id"]], "at": old}), 204)
    cutoff = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    stale = ok(api.get(f"{API}/runs/stale", params={"heartbeat_before": cutoff}))
    assert [r["id"] for r in stale] == [run["id"]]
    ok(api.post(f"{API}/runs/heartbeat", json={"run_ids": [run["id"]]}), 204)
    assert ok(api.get(f"{API}/runs/stale", params={"heartbeat_before": cutoff})) == []


def test_search_filters_orders_and_pages(api: ApiClient) -> None:
    _exp(api)
    ids = []
    for i in range(5):
        run = _run(api, name=f"r{i}")
        ok(api.post(f"{API}/runs/{run['id']}/log-batch", json={
            "metrics": [{"key": "acc", "value": i / 10, "timestamp": 0}],
            "params": {"model": "rf" if i % 2 else "lr"}}))
        ids.append(run["id"])
    body = {"experiment_ids": ["e"], "filter": "metrics.acc > 0.05",
            "order_by": ["metrics.acc DESC"], "max_results": 2}
    first = ok(api.post(f"{API}/runs/search", json=body))
    assert [r["id"] for r in first["runs"]] == [ids[4], ids[3]]
    second = ok(api.post(f"{API}/runs/search", json={**body,
                                                      "page_token": first["next_page_token"]}))
    assert [r["id"] for r in second["runs"]] == [ids[2], ids[1]]
    by_offset = ok(api.post(f"{API}/runs/search", json={**body, "offset": 2}))
    assert by_offset["runs"] == second["runs"]
    everything = ok(api.post(f"{API}/runs/search", json={"filter": "params.model = 'rf'"}))
    assert {r["id"] for r in everything["runs"]} == {ids[1], ids[3]}


@pytest.mark.parametrize(("body", "code"), [
    ({"filter": "metrics.acc >"}, "invalid-filter"),
    ({"order_by": ["metrics.acc SIDEWAYS"]}, "invalid-filter"),
    ({"page_token": "garbage"}, "invalid-argument"),
    ({"experiment_ids": ["no-such-experiment"]}, "experiment-not-found"),
])
def test_bad_search_is_a_4xx_with_a_hint_or_position(api: ApiClient, body: dict,
                                                     code: str) -> None:
    status = 404 if code.endswith("not-found") else 400
    err(api.post(f"{API}/runs/search", json=body), status, code)


def test_delete_restore_list_deleted_and_gc(api: ApiClient) -> None:
    _exp(api)
    keep, gone = _run(api), _run(api)
    ok(api.put(f"{API}/runs/{gone['id']}/artifacts/a.txt", content=b"x"), 201)
    ok(api.post(f"{API}/runs/delete", json={"run_ids": [gone["id"], keep["id"]]}), 204)
    ok(api.post(f"{API}/runs/restore", json={"run_ids": [keep["id"]]}), 204)
    assert [r["id"] for r in ok(api.get(f"{API}/runs/deleted"))] == [gone["id"]]
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert len(ok(api.get(f"{API}/runs/deleted", params={"deleted_before": future}))) == 1
    err(api.post(f"{API}/runs/delete", json={"run_ids": ["nope"]}), 404, "run-not-found")
    assert ok(api.post(f"{API}/gc", json={})) == {"purged_runs": [gone["id"]]}
    err(api.get(f"{API}/runs/{gone['id']}"), 404)
    assert ok(api.get(f"{API}/runs/{keep['id']}"))["lifecycle"] == "active"


def test_run_status_values_match_the_entity(api: ApiClient) -> None:
    _exp(api)
    run = _run(api)
    for status in RunStatus:
        got = ok(api.patch(f"{API}/runs/{run['id']}", json={"status": status.value}))
        assert got["status"] == status.value


def test_unknown_route_and_method_use_the_error_shape(api: ApiClient) -> None:
    err(api.get(f"{API}/nothing-here"), 404, "not-found")
    err(api.request("PATCH", f"{API}/experiments"), 405, "method-not-allowed")
    err(api.post(f"{API}/experiments", content=b"{not json",
                 headers={"Content-Type": "application/json"}), 422, "invalid-argument")


def test_nan_floats_never_break_json(api: ApiClient) -> None:
    _exp(api)
    run = _run(api)
    ok(api.post(f"{API}/runs/{run['id']}/log-batch", json={"metrics": [
        {"key": "m", "value": "NaN", "timestamp": 0}]}))
    body = ok(api.post(f"{API}/runs/search", json={}))
    assert body["runs"][0]["metrics"] == {"m": "NaN"}
    assert math.isnan(float(body["runs"][0]["metrics"]["m"]))
