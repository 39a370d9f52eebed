"""The web UI in process (httpx over ASGI): pages, their JSON twins, the runs table's
server-side search, CSRF, sessions and roles. The browser tests (tests/browser) drive the
same pages in Chromium."""

from __future__ import annotations

import re
import stat
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from tests.server.conftest import PASSWORD, ApiClient

from shipyard.client import Client
from shipyard.entities._ids import utc_now
from shipyard.entities.serving import DeployedModel, Deployment
from shipyard.errors import ConfigError
from shipyard.server import create_app
from shipyard.server.ui._core import STATIC, TEMPLATES, safe_next
from shipyard.server.ui._session import COOKIE, SessionCodec, load_secret_key

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def row_ids(html: str) -> list[str]:
    return re.findall(r'<tr data-run-id="([0-9a-f]+)"', html)


@pytest.fixture
def world(server_client: Client) -> dict[str, Any]:
    """An experiment of 25 runs with a metric and params, plus a second experiment."""
    t = server_client.tracking
    exp = t.create_experiment("sweep")
    ids = []
    for i in range(25):
        run = t.create_run(experiment_id=exp.id, name=f"r{i:03d}")
        t.log_batch(run.id, params={"lr": i / 100, "model": "rf" if i % 2 else "gbm"},
                    metrics=[t.make_metric("score", (i * 37) % 101 / 100)])
        ids.append(run.id)
    t.log_text(ids[0], "hello", "notes/readme.txt")
    t.log_text(ids[0], "<script>alert(1)</script>", "report.html")
    t.log_bytes(ids[0], b"\x00\x01binary", "blob.bin")
    t.log_text(ids[0], "a,b\n1,2\n3,4\n", "table.csv")
    other = t.create_experiment("other")
    run = t.create_run(experiment_id=other.id, name="alone")
    t.end_run(run.id)
    return {"exp": exp.id, "ids": ids, "other": other.id}


# -- packaging ------------------------------------------------------------------------------
def test_templates_and_scripts_load_nothing_from_other_sites() -> None:
    """No CDN: every script and stylesheet is a packaged file under /static."""
    for path in [*TEMPLATES.glob("*.html"), *STATIC.glob("*.js"), *STATIC.glob("*.css")]:
        text = path.read_text()
        assert not re.search(r"(src|href)=[\"'](https?:)?//", text), path
        assert "cdn" not in text.lower(), path
        for ref in re.findall(r"/static/([\w./-]+)", text):
            assert (STATIC / ref).is_file(), f"{path.name} loads a missing file {ref}"


def test_vendored_files_carry_their_version_and_licence() -> None:
    vendor = STATIC / "vendor"
    readme = (vendor / "README.md").read_text()
    for file in vendor.glob("*.js"):
        assert re.search(r"-\d+\.\d+\.\d+", file.name), file.name
        assert file.name in readme
    assert (vendor / "LICENSE-uPlot.txt").is_file()
    assert (vendor / "LICENSE-htmx.txt").is_file()


# -- pages and their JSON twins ----------------------------------------------------------------
def test_every_page_renders_and_names_a_json_twin_that_answers(ui: ApiClient,
                                                               world: dict[str, Any]) -> None:
    run = world["ids"][0]
    pages = ["/", f"/experiments/{world['exp']}", f"/runs/{run}",
             f"/runs/{run}?artifact=notes/readme.txt", f"/runs/{run}?artifact=table.csv",
             f"/compare?runs={run},{world['ids'][1]}", "/models", "/deployments", "/monitors"]
    for url in pages:
        page = ui.get(url)
        assert page.status_code == 200, (url, page.text[:500])
        assert page.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in page.headers["content-security-policy"]
        twin = re.search(r'<link rel="alternate" type="application/json" href="([^"]+)"',
                         page.text)
        assert twin, url
        answer = ui.get(twin.group(1).replace("&amp;", "&"))
        assert answer.status_code == 200, (url, twin.group(1), answer.text[:300])
        assert answer.headers["content-type"] == "application/json"


def test_runs_table_pages_through_the_database(ui: ApiClient, world: dict[str, Any]) -> None:
    base = f"/experiments/{world['exp']}"
    first = ui.get(f"{base}?size=10").text
    third = ui.get(f"{base}?size=10&page=3").text
    assert len(row_ids(first)) == 10
    assert len(row_ids(third)) == 5
    assert 'class="next"' in first
    assert 'class="next"' not in third
    everything = row_ids(first) + row_ids(ui.get(f"{base}?size=10&page=2").text) + row_ids(third)
    assert sorted(everything) == sorted(world["ids"])


def test_runs_table_sorts_filters_and_picks_columns(ui: ApiClient,
                                                    world: dict[str, Any]) -> None:
    t = ui.get(f"/experiments/{world['exp']}", params={
        "filter": "params.model = 'rf' and metrics.score > 0.5", "order": "metrics.score DESC",
        "cols": "metrics.score,params.lr", "size": "200"}).text
    ids = row_ids(t)
    assert ids
    scores = [float(v) for v in re.findall(r'<td class="num">([0-9.]+)</td>\s*<td>',
                                           t)]
    assert scores == sorted(scores, reverse=True)
    assert all(s > 0.5 for s in scores)
    assert 'data-field="metrics.score"' in t
    assert 'data-field="params.lr"' in t
    assert 'data-field="params.model"' not in t  # not chosen


def test_invalid_filter_is_shown_inline_with_the_caret(ui: ApiClient,
                                                        world: dict[str, Any]) -> None:
    page = ui.get(f"/experiments/{world['exp']}", params={"filter": "metrics.score >> 1"})
    assert page.status_code == 200
    assert 'id="error-box"' in page.text
    assert "Invalid filter at column" in page.text
    assert "^" in page.text
    twin = ui.get("/api/v1/runs/search", params={"experiment_ids": world["exp"],
                                                 "filter": "metrics.score >> 1"})
    assert twin.status_code == 400
    assert twin.json()["error"]["code"] == "invalid-filter"


def test_htmx_requests_get_only_the_table(ui: ApiClient, world: dict[str, Any]) -> None:
    part = ui.get(f"/experiments/{world['exp']}", headers={"HX-Request": "true"}).text
    assert part.lstrip().startswith('<div id="runs-view">')
    assert "<html" not in part
    restored = ui.get(f"/experiments/{world['exp']}", headers={
        "HX-Request": "true", "HX-History-Restore-Request": "true"}).text
    assert "<html" in restored


def test_run_page_previews_and_serves_artifacts_safely(ui: ApiClient,
                                                        world: dict[str, Any]) -> None:
    run = world["ids"][0]
    table = ui.get(f"/runs/{run}?artifact=table.csv").text
    assert '<table class="preview-table">' in table
    assert "<td>3</td>" in table
    html = ui.get(f"/runs/{run}/raw/report.html")
    assert html.headers["content-security-policy"].startswith("sandbox allow-scripts")
    blob = ui.get(f"/runs/{run}/raw/blob.bin")
    assert blob.headers["content-disposition"].startswith("attachment")
    assert blob.content == b"\x00\x01binary"
    assert ui.get(f"/runs/{run}/raw/missing.txt").status_code == 404


def test_compare_rejects_one_run_and_highlights_differences(ui: ApiClient,
                                                             world: dict[str, Any]) -> None:
    one = ui.get(f"/compare?runs={world['ids'][0]}")
    assert one.status_code == 400
    assert "Compare needs 2 to 50 runs" in one.text
    page = ui.get(f"/compare?runs={world['ids'][1]},{world['ids'][2]}").text
    assert 'class="differs" data-key="params.model"' in page
    assert 'id="parcoords-data"' in page


def test_unknown_run_is_a_404_page(ui: ApiClient) -> None:
    page = ui.get("/runs/" + "0" * 32)
    assert page.status_code == 404
    assert "Not found" in page.text
    assert "text/html" in page.headers["content-type"]


# -- forms: CSRF and bulk actions ------------------------------------------------------------
def test_bulk_delete_and_restore_need_the_csrf_token(ui: ApiClient,
                                                     world: dict[str, Any]) -> None:
    base = f"/experiments/{world['exp']}"
    token = csrf_of(ui.get(base).text)
    victims = world["ids"][:3]
    forged = ui.post(f"{base}/runs", data={"action": "delete", "run_ids": victims})
    assert forged.status_code == 403
    wrong = ui.post(f"{base}/runs", data={"action": "delete", "run_ids": victims,
                                          "csrf_token": "x" * 40})
    assert wrong.status_code == 403
    done = ui.post(f"{base}/runs", data={"action": "delete", "run_ids": victims,
                                         "csrf_token": token, "next": f"{base}?size=25"})
    assert done.status_code == 303
    assert done.headers["location"] == f"{base}?size=25"
    deleted = ui.get(f"{base}?show=deleted").text
    assert sorted(row_ids(deleted)) == sorted(victims)
    ui.post(f"{base}/runs", data={"action": "restore", "run_ids": victims,
                                  "csrf_token": token})
    assert row_ids(ui.get(f"{base}?show=deleted").text) == []


def test_compare_button_redirects_to_the_compare_page(ui: ApiClient,
                                                      world: dict[str, Any]) -> None:
    base = f"/experiments/{world['exp']}"
    token = csrf_of(ui.get(base).text)
    answer = ui.post(f"{base}/runs", data={"action": "compare", "csrf_token": token,
                                           "run_ids": world["ids"][:3]})
    assert answer.status_code == 303
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert query["runs"] == [",".join(world["ids"][:3])]


# -- auth: sessions, login, roles -------------------------------------------------------------
@pytest.fixture
def auth_ui(server_client: Client, world: dict[str, Any]) -> Iterator[dict[str, Any]]:
    auth = server_client.auth
    for name, role in (("ada", "admin"), ("vic", "viewer"), ("eve", "editor")):
        auth.create_user(name, role=role, password=PASSWORD)
    auth.grant(auth.policy(auth.get_user("ada")), world["other"], "eve", "read")
    clients: list[ApiClient] = []

    def browser(https: bool = False) -> ApiClient:
        client = ApiClient(create_app(server_client, auth=True))
        if https:
            client.http.base_url = "https://testserver"  # type: ignore[assignment]
        clients.append(client)
        return client

    yield {"browser": browser, "client": server_client, **world}
    for c in clients:
        c.close()


def login(b: ApiClient, username: str, password: str = PASSWORD,
          target: str = "/") -> Any:
    form = b.get(f"/login?next={target}")
    return b.post("/login", data={"username": username, "password": password,
                                  "next": target, "csrf_token": csrf_of(form.text)})


def test_pages_redirect_to_login_and_back(auth_ui: dict[str, Any]) -> None:
    b = auth_ui["browser"]()
    page = b.get(f"/experiments/{auth_ui['exp']}?size=25")
    assert page.status_code == 303
    assert page.headers["location"].startswith("/login?next=")
    answer = login(b, "vic", target=f"/experiments/{auth_ui['exp']}?size=25")
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/experiments/{auth_ui['exp']}?size=25"
    assert b.get(answer.headers["location"]).status_code == 200


def test_session_cookie_is_httponly_lax_and_secure_on_https(auth_ui: dict[str, Any]) -> None:
    for https in (False, True):
        b = auth_ui["browser"](https=https)
        answer = login(b, "vic")
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE}=")
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie
        assert ("Secure" in cookie) is https


def test_wrong_password_is_refused_on_the_login_page(auth_ui: dict[str, Any]) -> None:
    b = auth_ui["browser"]()
    answer = login(b, "vic", "not the password")
    assert answer.status_code == 401
    assert "wrong user name or password" in answer.text
    assert b.get("/").status_code == 303


def test_login_form_needs_its_csrf_token(auth_ui: dict[str, Any]) -> None:
    b = auth_ui["browser"]()
    answer = b.post("/login", data={"username": "vic", "password": PASSWORD})
    assert answer.status_code == 403
    assert b.get("/").status_code == 303


def test_viewer_sees_no_private_experiment_and_cannot_delete(auth_ui: dict[str, Any]) -> None:
    b = auth_ui["browser"]()
    login(b, "vic")
    home = b.get("/").text
    assert "sweep" in home
    assert ">other<" not in home
    assert b.get(f"/experiments/{auth_ui['other']}").status_code == 403
    runs = b.get(f"/experiments/{auth_ui['exp']}").text
    assert 'value="delete"' not in runs  # no button
    forged = b.post(f"/experiments/{auth_ui['exp']}/runs", data={
        "action": "delete", "run_ids": auth_ui["ids"][:1], "csrf_token": csrf_of(runs)})
    assert forged.status_code == 403
    assert "needs the admin role" in forged.text
    assert auth_ui["client"].tracking.get_run(auth_ui["ids"][0]).lifecycle == "active"


def test_listed_editor_sees_the_private_experiment(auth_ui: dict[str, Any]) -> None:
    b = auth_ui["browser"]()
    login(b, "eve")
    assert ">other<" in b.get("/").text
    assert b.get(f"/experiments/{auth_ui['other']}").status_code == 200


def test_admin_deletes_through_the_ui_and_it_is_audited(auth_ui: dict[str, Any]) -> None:
    b = auth_ui["browser"]()
    login(b, "ada")
    base = f"/experiments/{auth_ui['exp']}"
    token = csrf_of(b.get(base).text)
    answer = b.post(f"{base}/runs", data={"action": "delete", "csrf_token": token,
                                          "run_ids": auth_ui["ids"][:2]})
    assert answer.status_code == 303
    events = auth_ui["client"].auth.audit_events("run", auth_ui["ids"][0])
    assert [(e.action, e.actor) for e in events] == [("run.delete", "ada")]


def test_password_change_and_logout_end_the_session(auth_ui: dict[str, Any]) -> None:
    b = auth_ui["browser"]()
    login(b, "vic")
    assert b.get("/").status_code == 200
    auth_ui["client"].auth.set_password("vic", "a brand new password")
    assert b.get("/").status_code == 303
    login(b, "vic", "a brand new password")
    page = b.get("/")
    assert page.status_code == 200
    out = b.post("/logout", data={"csrf_token": csrf_of(page.text)})
    assert out.status_code == 303
    assert b.get("/").status_code == 303


def test_a_tampered_cookie_is_ignored(auth_ui: dict[str, Any]) -> None:
    b = auth_ui["browser"]()
    login(b, "vic")
    value = b.http.cookies[COOKIE]
    payload, mac = value.split(".")
    b.http.cookies.set(COOKIE, payload[:-2] + "xx." + mac)
    assert b.get("/").status_code == 303


def test_session_codec_expires_and_rejects_forgeries() -> None:
    codec = SessionCodec(b"k" * 32, max_age=60)
    value = codec.dumps({"csrf": "t", "uid": "u", "iat": 10**10})
    assert codec.loads(value) is None  # from the future
    import time

    now = int(time.time())
    good = codec.dumps({"csrf": "t", "uid": "u", "iat": now})
    assert codec.loads(good) == {"csrf": "t", "uid": "u", "iat": now}
    assert codec.loads(codec.dumps({"csrf": "t", "iat": now - 61})) is None
    assert SessionCodec(b"other" * 8, max_age=60).loads(good) is None
    assert codec.loads("garbage") is None


def test_next_after_login_stays_on_this_site() -> None:
    assert safe_next("/runs/abc?x=1") == "/runs/abc?x=1"
    for evil in ("//evil.example/", "https://evil.example/", "/\\evil.example", "", None,
                 "javascript:alert(1)"):
        assert safe_next(evil) == "/"


def test_secret_key_is_made_once_privately_and_checked(tmp_path: Path) -> None:
    from shipyard.config import load_settings

    settings = load_settings(home=tmp_path / "h")
    first = load_secret_key(settings)
    assert load_secret_key(settings) == first
    key_file = tmp_path / "h" / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert load_secret_key(load_settings(home=tmp_path / "h",
                                         secret_key="s" * 32)) == b"s" * 32
    with pytest.raises(ConfigError, match="SHIPYARD_SECRET_KEY"):
        load_secret_key(load_settings(home=tmp_path / "h", secret_key="short"))


# -- registry, deployments and monitoring pages -----------------------------------------------
def test_deployments_page_lists_live_stale_and_stopped(ui: ApiClient,
                                                       server_client: Client) -> None:
    now = utc_now().replace(microsecond=0)
    store = server_client.serving.store
    model = (DeployedModel(name="churn", version=3, uri="models:/churn@champion"),)
    store.create_deployment(Deployment(id="1" * 32, url="http://a:8080", models=model,
                                       started_at=now, heartbeat_at=now,
                                       stats={"requests": 100, "errors": 5}))
    store.create_deployment(Deployment(id="2" * 32, url="http://b:8080", models=model,
                                       started_at=now - timedelta(hours=2),
                                       heartbeat_at=now - timedelta(hours=1)))
    store.create_deployment(Deployment(id="3" * 32, url="http://c:8080", models=model,
                                       started_at=now, heartbeat_at=now))
    store.stop_deployment("3" * 32, at=now)
    page = ui.get("/deployments").text
    assert re.findall(r'data-state="(\w+)"', page) == ["live", "stale"]
    assert "5.00%" in page  # error rate
    everything = ui.get("/deployments?stopped=1").text
    assert "stopped" in re.findall(r'data-state="(\w+)"', everything)
    assert len(ui.get("/api/v1/deployments?live=true").json()) == 1
    assert 'data-server="http://a:8080"' not in page  # one process per URL: no server line


def test_forked_workers_of_one_server_are_summed(ui: ApiClient, server_client: Client) -> None:
    now = utc_now().replace(microsecond=0)
    store = server_client.serving.store
    model = (DeployedModel(name="churn", version=3, uri="models:/churn@champion"),)
    for i, (pid, requests) in enumerate(((4101, 300), (4102, 120))):
        store.create_deployment(Deployment(
            id=f"{i + 7}" * 32, url="http://w:9090", host="box", pid=pid, models=model,
            started_at=now, heartbeat_at=now, stats={"requests": requests, "errors": i}))
    page = ui.get("/deployments").text
    line = re.search(r'<p class="small" data-server="http://w:9090">(.*?)</p>', page)
    assert line, page
    text = re.sub(r"<[^>]+>", "", line.group(1))
    assert "2 workers (pids 4101, 4102)" in text
    assert "420 requests" in text
    assert "1 errors in all" in text
    for i in range(2):  # leave no live deployments behind for other tests
        store.stop_deployment(f"{i + 7}" * 32, at=now)


def test_missing_model_and_monitor_are_404_pages(ui: ApiClient) -> None:
    assert ui.get("/models/nope").status_code == 404
    assert ui.get("/models/nope/versions/1").status_code == 404
    assert ui.get("/monitors/nope").status_code == 404
    assert ui.get("/api/v1/models/nope").status_code == 404
    assert ui.get("/api/v1/monitors/nope").status_code == 404
