"""``/api/v1/models`` writes, in process: every route, the roles (401/403), bad input (4xx
naming the field, the value and what was expected) and the audit actor (the signed-in user,
never a value from the request)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from tests.server.conftest import ApiClient, AuthWorld, err, ok

from shipyard.client import Client
from shipyard.server import create_app

API = "/api/v1/models"


def log_packages(client: Client, metrics: list[dict[str, float]],
                 experiment: str = "reg") -> list[str]:
    """One run per metrics dict, each holding a scikit-learn model package at ``model``."""
    from sklearn.linear_model import LinearRegression

    x = np.arange(8, dtype=float).reshape(4, 2)
    model = LinearRegression().fit(x, x[:, 0])
    run_ids = []
    for values in metrics:
        run = client.tracking.create_run(experiment=experiment)
        for key, value in values.items():
            client.tracking.log_metric(run.id, key, value)
        client.models.log_model(run.id, model, input_example=x)
        run_ids.append(run.id)
    return run_ids


@pytest.fixture
def runs(server_client: Client) -> list[str]:
    return log_packages(server_client, [{"auc": 0.90, "latency_ms": 10.0},
                                        {"auc": 0.93, "latency_ms": 12.0},
                                        {"auc": 0.931, "latency_ms": 30.0}])


def register(api: ApiClient, runs: list[str], name: str = "churn",
             headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
    return [ok(api.post(f"{API}/{name}/versions", json={"run_id": r}, headers=headers), 201)
            for r in runs]


# -- happy paths ----------------------------------------------------------------------------
def test_create_describe_tag_and_delete_tag_of_a_model(api: ApiClient) -> None:
    created = ok(api.post(API, json={"name": "churn", "description": "d",
                                     "tags": {"team": "ml"}}), 201)
    assert (created["name"], created["tags"]) == ("churn", {"team": "ml"})
    changed = ok(api.patch(f"{API}/churn", json={"description": "Churn v2", "reason": "r"}))
    assert changed["description"] == "Churn v2"
    tagged = ok(api.put(f"{API}/churn/tags/stage/owner", json={"value": "prod"}))
    assert tagged["tags"] == {"team": "ml", "stage/owner": "prod"}
    untagged = ok(api.delete(f"{API}/churn/tags/team", params={"reason": "moved"}))
    assert untagged["tags"] == {"stage/owner": "prod"}
    err(api.post(API, json={"name": "churn"}), 409, "model-already-exists")
    actions = [e["action"] for e in ok(api.get(f"{API}/churn/history"))]
    assert actions == ["model.created", "model.description_changed", "model.tag_set",
                       "model.tag_deleted"]


def test_create_version_reads_the_package_on_the_server(api: ApiClient,
                                                        runs: list[str]) -> None:
    v1, v2, _ = register(api, runs)
    assert (v1["version"], v2["version"]) == (1, 2)
    assert v1["flavor"] == "sklearn"
    assert v1["metrics"] == {"auc": 0.90, "latency_ms": 10.0}
    assert v1["signature"]["inputs"]["shape"] == [-1, 2]
    assert v1["lineage"]["run_id"] == runs[0]
    assert ok(api.get(f"{API}/churn"))["latest_version"] == 3
    err(api.post(f"{API}/other/versions", json={"run_id": runs[0], "create_model": False}),
        404, "model-not-found")
    err(api.post(f"{API}/churn/versions", json={"run_id": runs[0], "artifact_path": "nope"}),
        404, "artifact-not-found")
    err(api.post(f"{API}/churn/versions", json={"run_id": "f" * 32}), 404, "run-not-found")


def test_version_description_and_tags(api: ApiClient, runs: list[str]) -> None:
    register(api, runs[:1])
    assert ok(api.patch(f"{API}/churn/versions/1", json={"description": "first"}))[
        "description"] == "first"
    assert ok(api.put(f"{API}/churn/versions/1/tags/validated", json={"value": "yes"}))[
        "tags"] == {"validated": "yes"}
    assert ok(api.delete(f"{API}/churn/versions/1/tags/validated"))["tags"] == {}
    err(api.patch(f"{API}/churn/versions/9", json={"description": "x"}), 404,
        "model-version-not-found")


def test_alias_set_get_compare_and_swap_and_delete(api: ApiClient, runs: list[str]) -> None:
    register(api, runs)
    first = ok(api.put(f"{API}/churn/aliases/champion",
                       json={"version": 1, "expected_revision": None, "reason": "launch"}))
    assert (first["version"], first["revision"]) == (1, 1)
    assert ok(api.get(f"{API}/churn/aliases/champion")) == first
    moved = ok(api.put(f"{API}/churn/aliases/champion", json={"version": 2,
                                                              "expected_revision": 1}))
    assert moved["revision"] == 2
    stale = err(api.put(f"{API}/churn/aliases/champion",
                        json={"version": 3, "expected_revision": 1}), 409, "alias-conflict")
    assert "revision" in stale["message"]
    assert stale["hint"]
    err(api.put(f"{API}/churn/aliases/champion", json={"version": 3,
                                                       "expected_revision": None}),
        409, "alias-conflict")
    assert ok(api.put(f"{API}/churn/aliases/champion", json={"version": 3}))["revision"] == 3
    assert ok(api.delete(f"{API}/churn/aliases/champion", params={"reason": "rollback"}),
              204) is None
    err(api.get(f"{API}/churn/aliases/champion"), 404, "alias-not-found")
    err(api.delete(f"{API}/churn/aliases/champion"), 404, "alias-not-found")
    outcomes = [e["detail"].get("outcome") for e in ok(api.get(f"{API}/churn/history"))
                if e["action"] == "alias.set"]
    assert outcomes == ["moved", "moved", "conflict", "conflict", "moved"]


RULES = ["metrics.auc >= champion.metrics.auc + 0.005", "metrics.latency_ms < 20"]


def test_promote_passes_and_moves_the_alias(api: ApiClient, runs: list[str]) -> None:
    register(api, runs)
    ok(api.put(f"{API}/churn/aliases/champion", json={"version": 1}))
    ok(api.put(f"{API}/churn/aliases/challenger", json={"version": 2}))
    done = ok(api.post(f"{API}/churn/promote", json={
        "to": "champion", "from_alias": "challenger", "rules": RULES, "reason": "weekly"}))
    assert (done["passed"], done["promoted"], done["candidate"], done["previous"]) == (
        True, True, 2, 1)
    assert [r["passed"] for r in done["results"]] == [True, True]
    assert done["results"][0]["left"] == pytest.approx(0.93)
    assert ok(api.get(f"{API}/churn/aliases/champion"))["version"] == 2


def test_a_failing_gate_is_200_with_passed_false_and_is_audited(api: ApiClient,
                                                               runs: list[str]) -> None:
    register(api, runs)
    ok(api.put(f"{API}/churn/aliases/champion", json={"version": 2}))
    out = ok(api.post(f"{API}/churn/promote", json={"to": "champion", "version": 3,
                                                    "rules": RULES}))
    assert (out["passed"], out["promoted"], out["dry_run"]) == (False, False, False)
    assert [r["passed"] for r in out["results"]] == [False, False]
    assert out["results"][1]["left"] == 30.0
    assert ok(api.get(f"{API}/churn/aliases/champion"))["version"] == 2
    last = ok(api.get(f"{API}/churn/history"))[-1]
    assert (last["action"], last["detail"]["outcome"]) == ("alias.promoted", "rejected")


def test_dry_run_promotion_moves_nothing(api: ApiClient, runs: list[str]) -> None:
    register(api, runs)
    out = ok(api.post(f"{API}/churn/promote", json={"to": "champion", "version": 1,
                                                    "rules": RULES, "dry_run": True}))
    assert (out["passed"], out["promoted"], out["dry_run"]) == (True, False, True)
    assert out["results"][0]["skipped"] is True
    err(api.get(f"{API}/churn/aliases/champion"), 404, "alias-not-found")


def test_soft_and_hard_deletes(api: ApiClient, runs: list[str]) -> None:
    register(api, runs)
    ok(api.put(f"{API}/churn/aliases/champion", json={"version": 1}))
    assert ok(api.delete(f"{API}/churn/versions/1", params={"reason": "bad"}), 204) is None
    v1 = ok(api.get(f"{API}/churn/versions/1"))
    assert (v1["status"], v1["aliases"]) == ("deleted", [])
    ok(api.delete(f"{API}/churn/versions/2", params={"hard": "true"}), 204)
    err(api.get(f"{API}/churn/versions/2"), 404, "model-version-not-found")
    ok(api.delete(f"{API}/churn"), 204)  # soft: every live version marked deleted
    assert ok(api.get(f"{API}/churn/versions")) == []
    assert ok(api.get(f"{API}/churn"))["latest_version"] is None
    ok(api.delete(f"{API}/churn", params={"hard": "true", "reason": "retired"}), 204)
    err(api.get(f"{API}/churn"), 404, "model-not-found")
    last = ok(api.get(f"{API}/churn/history"))[-1]
    assert (last["action"], last["detail"]["hard"], last["detail"]["reason"]) == (
        "model.deleted", True, "retired")


def test_list_models_pages_by_offset(api: ApiClient) -> None:
    for name in ("c", "a", "b"):
        ok(api.post(API, json={"name": name}), 201)
    page = ok(api.get(API, params={"max_results": 2, "offset": 1}))
    assert [m["name"] for m in page["models"]] == ["b", "c"]


def test_without_auth_the_actor_is_anonymous_not_the_body(api: ApiClient) -> None:
    err(api.post(API, json={"name": "churn", "actor": "mallory"}), 422, "invalid-argument")
    ok(api.post(API, json={"name": "churn"}), 201)
    assert ok(api.get(f"{API}/churn/history"))[0]["actor"] == "anonymous"


# -- bad input ------------------------------------------------------------------------------
@pytest.mark.parametrize(("method", "path", "body", "status", "words"), [
    ("POST", "", {"name": "bad name!"}, 400, ["'name'", "'bad name!'", "letters"]),
    ("POST", "", {"name": "x" * 300}, 422, ["name", "250"]),
    ("POST", "", {"name": "ok", "tags": {"bad key!": "v"}}, 400, ["tag", "bad key!"]),
    ("PUT", "/churn/aliases/latest", {"version": 1}, 400, ["'alias'", "'latest'", "other than"]),
    ("PUT", "/churn/aliases/champion", {"version": 0}, 422, ["version", "greater than"]),
    ("PUT", "/churn/aliases/champion", {"version": "one"}, 422, ["version", "integer"]),
    ("PUT", "/churn/aliases/champion", {"version": 1, "expected_revision": -1}, 422,
     ["expected_revision"]),
    ("POST", "/churn/promote", {"to": "champion", "version": 1, "rules": ["__import__('os')"]},
     400, ["__import__", "they may use"]),
    ("POST", "/churn/promote", {"to": "champion", "rules": []}, 400, ["exactly one candidate"]),
    ("POST", "/churn/promote", {"to": "latest", "version": 1}, 400, ["'alias'", "'latest'"]),
    ("POST", "/churn/versions", {"run_id": "r" * 65}, 422, ["run_id", "64"]),
    ("PATCH", "/churn/versions/0", {"description": "x"}, 422, ["version"]),
    ("PUT", "/churn/tags/k", {"value": 3}, 422, ["value", "string"]),
])
def test_bad_input_is_a_4xx_naming_field_value_and_expectation(
        api: ApiClient, runs: list[str], method: str, path: str, body: Any, status: int,
        words: list[str]) -> None:
    register(api, runs[:1])
    error = err(api.request(method, f"{API}{path}", json=body), status)
    for word in words:
        assert word in error["message"], (word, error)


# -- roles ----------------------------------------------------------------------------------
WRITES: list[tuple[str, str, Any]] = [
    ("POST", "", {"name": "other"}),
    ("PATCH", "/churn", {"description": "x"}),
    ("PUT", "/churn/tags/k", {"value": "v"}),
    ("DELETE", "/churn/tags/k", None),
    ("PATCH", "/churn/versions/1", {"description": "x"}),
    ("PUT", "/churn/versions/1/tags/k", {"value": "v"}),
    ("DELETE", "/churn/versions/1/tags/k", None),
    ("PUT", "/churn/aliases/champion", {"version": 1}),
    ("DELETE", "/churn/aliases/champion", None),
    ("POST", "/churn/promote", {"to": "champion", "version": 1}),
    ("DELETE", "/churn/versions/1", None),
    ("DELETE", "/churn", None),
]
HARD = [("DELETE", "/churn/versions/1?hard=true", None), ("DELETE", "/churn?hard=true", None)]


@pytest.fixture
def world(auth_world: AuthWorld) -> AuthWorld:
    run_ids = log_packages(auth_world.client, [{"auc": 0.9}])
    register(auth_world.api, run_ids, headers=auth_world.as_("eve"))
    ok(auth_world.api.put(f"{API}/churn/aliases/champion", json={"version": 1},
                          headers=auth_world.as_("eve")))
    return auth_world


@pytest.mark.parametrize(("method", "path", "body"), [*WRITES, *HARD,
                                                      ("GET", "/churn/aliases/champion", None)])
def test_every_route_needs_credentials(world: AuthWorld, method: str, path: str,
                                       body: Any) -> None:
    response = world.api.request(method, f"{API}{path}", json=body)
    err(response, 401, "unauthenticated")
    assert "Bearer" in response.headers["www-authenticate"]


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
def test_viewers_cannot_change_the_registry(world: AuthWorld, method: str, path: str,
                                            body: Any) -> None:
    err(world.api.request(method, f"{API}{path}", json=body, headers=world.as_("vic")), 403,
        "permission-denied")


@pytest.mark.parametrize(("method", "path", "body"), HARD)
def test_only_admins_delete_for_good(world: AuthWorld, method: str, path: str,
                                     body: Any) -> None:
    err(world.api.request(method, f"{API}{path}", json=body, headers=world.as_("eve")), 403,
        "permission-denied")
    assert ok(world.api.request(method, f"{API}{path}", headers=world.as_("ada")), 204) is None


def test_viewers_read_and_dry_run_promotions(world: AuthWorld) -> None:
    vic = world.as_("vic")
    assert ok(world.api.get(f"{API}/churn/aliases/champion", headers=vic))["version"] == 1
    out = ok(world.api.post(f"{API}/churn/promote", headers=vic, json={
        "to": "champion", "version": 1, "rules": ["metrics.auc > 0.5"], "dry_run": True}))
    assert (out["passed"], out["promoted"]) == (True, False)


def test_the_audit_actor_is_the_signed_in_user(world: AuthWorld) -> None:
    ok(world.api.put(f"{API}/churn/aliases/champion", json={"version": 1, "reason": "r"},
                     headers=world.as_("ed")))
    ok(world.api.delete(f"{API}/churn/versions/1?hard=true", headers=world.as_("ada")), 204)
    events = ok(world.api.get(f"{API}/churn/history", headers=world.as_("vic")))
    assert [(e["action"], e["actor"]) for e in events] == [
        ("model.created", "eve"), ("version.created", "eve"), ("alias.set", "eve"),
        ("alias.set", "ed"), ("version.deleted", "ada")]
    assert world.client.registry.get_registered_model("churn").created_by == "eve"


def test_registering_needs_read_access_to_the_run(world: AuthWorld) -> None:
    [run_id] = log_packages(world.client, [{"auc": 0.8}], experiment="secret")
    exp = world.client.tracking.get_experiment("secret")
    world.client.auth.grant(world.client.auth.policy(None), exp.id, "ed", "read")
    err(world.api.post(f"{API}/churn/versions", json={"run_id": run_id},
                       headers=world.as_("eve")), 403, "permission-denied")
    assert ok(world.api.post(f"{API}/churn/versions", json={"run_id": run_id},
                             headers=world.as_("ed")), 201)["version"] == 2


def test_versions_of_private_runs_are_shown_without_the_runs_data(world: AuthWorld) -> None:
    from shipyard.entities.tracking import DatasetInput

    [run_id] = log_packages(world.client, [{"auc": 0.95}], experiment="secret")
    world.client.tracking.log_inputs(run_id, [DatasetInput(name="train", digest="d1")])
    exp = world.client.tracking.get_experiment("secret")
    world.client.auth.grant(world.client.auth.policy(None), exp.id, "ed", "read")
    ok(world.api.post(f"{API}/churn/versions", json={"run_id": run_id},
                      headers=world.as_("ed")), 201)
    out = ok(world.api.post(f"{API}/churn/promote", headers=world.as_("ed"), json={
        "to": "champion", "version": 2, "rules": ["metrics.auc > champion.metrics.auc"]}))
    assert out["promoted"] is True

    seen_by_ed = ok(world.api.get(f"{API}/churn/versions/2", headers=world.as_("ed")))
    assert seen_by_ed["metrics"] == {"auc": 0.95}
    assert [d["name"] for d in seen_by_ed["lineage"]["datasets"]] == ["train"]
    for who in ("eve", "vic"):
        hidden = ok(world.api.get(f"{API}/churn/versions/2", headers=world.as_(who)))
        assert hidden["metrics"] == {}
        assert hidden["lineage"]["datasets"] == []
        assert hidden["lineage"]["experiment_id"] == exp.id  # ids only
        listed = ok(world.api.get(f"{API}/churn/versions", headers=world.as_(who)))
        assert [v["metrics"] for v in listed] == [{"auc": 0.9}, {}]
        promoted = [e for e in ok(world.api.get(f"{API}/churn/history",
                                                headers=world.as_(who)))
                    if e["action"] == "alias.promoted"]
        assert promoted
        assert "rules" not in promoted[-1]["detail"]
        assert promoted[-1]["detail"]["rules_hidden"] is True
    promoted = [e for e in ok(world.api.get(f"{API}/churn/history", headers=world.as_("ed")))
                if e["action"] == "alias.promoted"]
    assert promoted[-1]["detail"]["rules"][0]["passed"] is True
    # the UI's model pages show the same: the snapshot 0.95 only to whoever may read the run
    from tests.server.test_ui import login

    for who, sees in (("ed", True), ("eve", False)):
        browser = ApiClient(create_app(world.client, auth=True))
        try:
            assert login(browser, who).status_code == 303
            for path in ("/models/churn", "/models/churn/versions/2"):
                page = browser.get(path)
                assert page.status_code == 200
                assert ("0.95" in page.text) is sees, (who, path)
        finally:
            browser.close()
