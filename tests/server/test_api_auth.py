"""Users, tokens and roles: 401 without credentials, 403 without permission, private
experiments invisible to others, and every write attributed to its author."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tests.server.conftest import PASSWORD, AuthWorld, basic, bearer, err, ok

from shipyard.auth import hash_token

API = "/api/v1"


def test_no_credentials_is_401_with_a_challenge(auth_world: AuthWorld) -> None:
    response = auth_world.api.get(f"{API}/experiments")
    error = err(response, 401, "unauthenticated")
    assert "Bearer" in response.headers["www-authenticate"]
    assert "Basic" in response.headers["www-authenticate"]
    assert "SHIPYARD_TRACKING_TOKEN" in error["hint"]


@pytest.mark.parametrize("headers", [
    bearer("shp_not-a-real-token"),
    basic("ada", "wrong password"),
    basic("nobody", PASSWORD),
    {"Authorization": "Basic !!!"},
    {"Authorization": "Digest abc"},
    {"Authorization": "Bearer"},
])
def test_wrong_credentials_are_401(auth_world: AuthWorld, headers: dict) -> None:
    err(auth_world.api.get(f"{API}/experiments", headers=headers), 401, "unauthenticated")


def test_basic_and_bearer_both_work(auth_world: AuthWorld) -> None:
    api = auth_world.api
    me = ok(api.get(f"{API}/whoami", headers=basic("eve", PASSWORD)))
    assert me == {"auth": True, "username": "eve", "role": "editor"}
    me = ok(api.get(f"{API}/whoami", headers=auth_world.as_("vic")))
    assert (me["username"], me["role"]) == ("vic", "viewer")


def test_tokens_are_stored_only_as_hashes(auth_world: AuthWorld) -> None:
    secret = auth_world.tokens["eve"]
    assert secret.startswith("shp_")
    stored = auth_world.client.metadata.find_token_by_hash(hash_token(secret))  # type: ignore[attr-defined]
    assert stored is not None
    assert secret not in repr(stored)
    assert stored.prefix == secret[:10]


def test_revoked_token_stops_working_at_once(auth_world: AuthWorld) -> None:
    api = auth_world.api
    headers = auth_world.as_("eve")
    token = ok(api.get(f"{API}/tokens", headers=headers))[0]
    ok(api.get(f"{API}/experiments", headers=headers))
    revoked = ok(api.delete(f"{API}/tokens/{token['id']}", headers=headers))
    assert revoked["revoked_at"] is not None
    err(api.get(f"{API}/experiments", headers=headers), 401, "unauthenticated")


def test_expired_token_and_disabled_user_are_401(auth_world: AuthWorld) -> None:
    auth = auth_world.client.auth
    _, expired = auth.create_token("eve", name="old", expires_in=timedelta(seconds=-1))
    err(auth_world.api.get(f"{API}/experiments", headers=bearer(expired)), 401)
    auth.set_disabled("vic", disabled=True)
    err(auth_world.api.get(f"{API}/experiments", headers=auth_world.as_("vic")), 401)
    err(auth_world.api.get(f"{API}/experiments", headers=basic("vic", PASSWORD)), 401)


def test_roles(auth_world: AuthWorld) -> None:
    api, as_ = auth_world.api, auth_world.as_
    err(api.post(f"{API}/experiments", json={"name": "x"}, headers=as_("vic")), 403,
        "permission-denied")
    exp = ok(api.post(f"{API}/experiments", json={"name": "x"}, headers=as_("eve")), 201)
    run = ok(api.post(f"{API}/runs", json={"experiment_id": exp["id"]}, headers=as_("eve")), 201)
    ok(api.get(f"{API}/runs/{run['id']}", headers=as_("vic")))
    err(api.post(f"{API}/runs/{run['id']}/log-batch", json={"params": {"a": 1}},
                 headers=as_("vic")), 403, "permission-denied")
    err(api.put(f"{API}/runs/{run['id']}/artifacts/a.txt", content=b"x", headers=as_("vic")),
        403)
    err(api.post(f"{API}/runs/delete", json={"run_ids": [run["id"]]}, headers=as_("eve")),
        403, "permission-denied")
    err(api.delete(f"{API}/experiments/{exp['id']}", headers=as_("eve")), 403)
    err(api.post(f"{API}/gc", json={}, headers=as_("eve")), 403)
    ok(api.post(f"{API}/runs/delete", json={"run_ids": [run["id"]]}, headers=as_("ada")), 204)
    ok(api.post(f"{API}/gc", json={}, headers=as_("ada")))


def test_users_are_managed_by_admins(auth_world: AuthWorld) -> None:
    api, as_ = auth_world.api, auth_world.as_
    err(api.post(f"{API}/users", json={"username": "new"}, headers=as_("eve")), 403)
    err(api.get(f"{API}/users", headers=as_("eve")), 403)
    user = ok(api.post(f"{API}/users", json={"username": "new", "role": "editor",
                                             "password": "long enough pw"},
                       headers=as_("ada")), 201)
    assert (user["username"], user["role"], user["has_password"]) == ("new", "editor", True)
    assert "password" not in user
    assert "password_hash" not in user
    ok(api.get(f"{API}/whoami", headers=basic("new", "long enough pw")))
    ok(api.patch(f"{API}/users/new", json={"role": "viewer"}, headers=as_("ada")))
    err(api.post(f"{API}/experiments", json={"name": "y"},
                 headers=basic("new", "long enough pw")), 403)
    err(api.post(f"{API}/users", json={"username": "new"}, headers=as_("ada")), 409,
        "user-already-exists")
    names = [u["username"] for u in ok(api.get(f"{API}/users", headers=as_("ada")))]
    assert names == ["ada", "ed", "eve", "new", "vic"]


def test_users_mint_and_revoke_their_own_tokens(auth_world: AuthWorld) -> None:
    api, as_ = auth_world.api, auth_world.as_
    made = ok(api.post(f"{API}/tokens", json={"name": "laptop"}, headers=basic("vic", PASSWORD)),
              201)
    assert made["token"].startswith("shp_")
    assert ok(api.get(f"{API}/whoami", headers=bearer(made["token"])))["username"] == "vic"
    mine = ok(api.get(f"{API}/tokens", headers=as_("vic")))
    assert {t["username"] for t in mine} == {"vic"}
    assert all("token" not in t and "token_hash" not in t for t in mine)
    err(api.delete(f"{API}/tokens/{made['record']['id']}", headers=as_("eve")), 403)
    err(api.post(f"{API}/tokens", json={"name": "x", "username": "eve"}, headers=as_("vic")),
        403)
    ok(api.post(f"{API}/tokens", json={"name": "x", "username": "eve"}, headers=as_("ada")), 201)
    everyone = ok(api.get(f"{API}/tokens", headers=as_("ada")))
    assert {t["username"] for t in everyone} == {"ada", "ed", "eve", "vic"}


@pytest.fixture
def private(auth_world: AuthWorld) -> dict:
    """Experiment 'secret' by eve, shared read-only with ed; one run with an artifact."""
    api, as_ = auth_world.api, auth_world.as_
    exp = ok(api.post(f"{API}/experiments", json={"name": "secret"}, headers=as_("eve")), 201)
    run = ok(api.post(f"{API}/runs", json={"experiment": "secret"}, headers=as_("eve")), 201)
    ok(api.post(f"{API}/runs/{run['id']}/log-batch", headers=as_("eve"), json={
        "metrics": [{"key": "acc", "value": 0.9, "timestamp": 0}]}))
    ok(api.put(f"{API}/runs/{run['id']}/artifacts/model.bin", content=b"w",
               headers=as_("eve")), 201)
    listed = ok(api.put(f"{API}/experiments/{exp['id']}/permissions/ed",
                        json={"permission": "read"}, headers=as_("eve")))
    assert {p["username"]: p["permission"] for p in listed} == {"eve": "manage", "ed": "read"}
    assert ok(api.get(f"{API}/experiments/{exp['id']}/permissions", headers=as_("ed"))) == listed
    err(api.get(f"{API}/experiments/{exp['id']}/permissions", headers=as_("vic")), 403)
    err(api.put(f"{API}/experiments/{exp['id']}/permissions/nobody",
                json={"permission": "read"}, headers=as_("eve")), 404, "user-not-found")
    err(api.put(f"{API}/experiments/{exp['id']}/permissions/vic",
                json={"permission": "own"}, headers=as_("eve")), 422)
    public = ok(api.post(f"{API}/runs", json={"experiment": "open"}, headers=as_("eve")), 201)
    return {"exp": exp, "run": run, "public": public}


def test_private_experiment_is_invisible_to_others(auth_world: AuthWorld,
                                                   private: dict) -> None:
    api, as_ = auth_world.api, auth_world.as_
    exp, run = private["exp"], private["run"]
    for who in ("vic",):
        headers = as_(who)
        names = [e["name"] for e in ok(api.get(f"{API}/experiments", headers=headers))]
        assert names == ["open"]
        assert ok(api.get(f"{API}/experiments", params={"name": "secret"}, headers=headers)) == []
        found = ok(api.post(f"{API}/runs/search", json={"filter": "metrics.acc > 0"},
                            headers=headers))
        assert found["runs"] == []
        everything = ok(api.post(f"{API}/runs/search", json={}, headers=headers))
        assert [r["id"] for r in everything["runs"]] == [private["public"]["id"]]
        assert ok(api.post(f"{API}/runs/batch-get", json={"run_ids": [run["id"]]},
                           headers=headers)) == []
        err(api.post(f"{API}/runs/search", json={"experiment_ids": ["secret"]},
                     headers=headers), 403)
        err(api.get(f"{API}/runs/{run['id']}", headers=headers), 403, "permission-denied")
        err(api.get(f"{API}/runs/{run['id']}/artifacts", headers=headers), 403)
        err(api.get(f"{API}/runs/{run['id']}/artifacts/model.bin", headers=headers), 403)
        err(api.get(f"{API}/runs/{run['id']}/metric-history", params={"key": "acc"},
                    headers=headers), 403)
        err(api.get(f"{API}/experiments/{exp['id']}", headers=headers), 403)


def test_access_list_members_get_what_they_were_granted(auth_world: AuthWorld,
                                                        private: dict) -> None:
    api, as_ = auth_world.api, auth_world.as_
    run = private["run"]
    assert [a["path"] for a in ok(api.get(f"{API}/runs/{run['id']}/artifacts",
                                          headers=as_("ed")))] == ["model.bin"]
    found = ok(api.post(f"{API}/runs/search", json={"experiment_ids": ["secret"]},
                        headers=as_("ed")))
    assert [r["id"] for r in found["runs"]] == [run["id"]]
    err(api.post(f"{API}/runs/{run['id']}/log-batch", json={"params": {"x": 1}},
                 headers=as_("ed")), 403, "permission-denied")
    err(api.put(f"{API}/experiments/{private['exp']['id']}/permissions/vic",
                json={"permission": "read"}, headers=as_("ed")), 403)
    ok(api.put(f"{API}/experiments/{private['exp']['id']}/permissions/ed",
               json={"permission": "edit"}, headers=as_("eve")))
    ok(api.post(f"{API}/runs/{run['id']}/log-batch", json={"params": {"x": 1}},
                headers=as_("ed")))
    admin_view = ok(api.post(f"{API}/runs/search", json={}, headers=as_("ada")))
    assert run["id"] in {r["id"] for r in admin_view["runs"]}


def test_revoking_the_last_permission_makes_it_public_again(auth_world: AuthWorld,
                                                            private: dict) -> None:
    api, as_ = auth_world.api, auth_world.as_
    exp_id = private["exp"]["id"]
    ok(api.delete(f"{API}/experiments/{exp_id}/permissions/ed", headers=as_("eve")))
    left = ok(api.delete(f"{API}/experiments/{exp_id}/permissions/eve", headers=as_("eve")))
    assert left == []
    ok(api.get(f"{API}/experiments/{exp_id}", headers=as_("vic")))


def test_every_write_records_its_author(auth_world: AuthWorld) -> None:
    api, as_ = auth_world.api, auth_world.as_
    exp = ok(api.post(f"{API}/experiments", json={"name": "who"}, headers=as_("eve")), 201)
    run = ok(api.post(f"{API}/runs", json={"experiment": "who", "context": {"user": "root"}},
                      headers=as_("ed")), 201)
    assert exp["created_by"] == "eve"
    assert run["created_by"] == "ed", "the signed-in user, not the client's OS user"
    assert run["context"]["user"] == "root"
    ok(api.post(f"{API}/runs/{run['id']}/log-batch", json={"params": {"a": 1}},
                headers=as_("ed")))
    ok(api.put(f"{API}/runs/{run['id']}/artifacts/x.txt", content=b"x", headers=as_("eve")),
       201)
    ok(api.post(f"{API}/runs/delete", json={"run_ids": [run["id"]]}, headers=as_("ada")), 204)
    err(api.get(f"{API}/audit-events", params={"target_type": "run"}, headers=as_("eve")), 403)
    events = ok(api.get(f"{API}/audit-events", params={"target_type": "run",
                                                         "target_id": run["id"]},
                        headers=as_("ada")))
    assert [(e["action"], e["actor"]) for e in events] == [
        ("run.create", "ed"), ("run.log_batch", "ed"), ("artifact.upload", "eve"),
        ("run.delete", "ada")]
    exp_events = ok(api.get(f"{API}/audit-events", params={"target_type": "experiment"},
                            headers=as_("ada")))
    assert [(e["action"], e["actor"]) for e in exp_events] == [("experiment.create", "eve")]


def test_system_routes_need_no_credentials(auth_world: AuthWorld) -> None:
    api = auth_world.api
    assert ok(api.get("/health")) == {"status": "ok"}
    assert ok(api.get("/ready")) == {"status": "ready"}
    assert api.get("/metrics").status_code == 200
    doc = ok(api.get(f"{API}/openapi.json"))
    assert doc["components"]["securitySchemes"]["token"]["scheme"] == "bearer"
