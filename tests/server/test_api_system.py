"""/health, /ready, /metrics and the app factory."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from tests.server.conftest import ApiClient, err, ok

from shipyard.client import Client
from shipyard.errors import ConfigError
from shipyard.server import create_app
from shipyard.server.errors import status_for


def test_health_is_always_ok(api: ApiClient) -> None:
    assert ok(api.get("/health")) == {"status": "ok"}


def test_ready_when_the_database_answers_at_head(api: ApiClient) -> None:
    assert ok(api.get("/ready")) == {"status": "ready"}


def test_not_ready_when_the_schema_is_stale(api: ApiClient, server_client: Client) -> None:
    engine = server_client.metadata.engine  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    error = err(api.get("/ready"), 503, "schema-version")
    assert "shipyard db upgrade" in error["hint"]


def test_not_ready_when_the_database_is_gone(tmp_path: Path, migrated_sqlite: Path) -> None:
    home = tmp_path / "gone"
    home.mkdir()
    shutil.copy(migrated_sqlite, home / "shipyard.db")
    client = Client(home=home)
    api = ApiClient(create_app(client))
    try:
        (home / "shipyard.db").unlink()
        (home / "shipyard.db").mkdir()  # not a database file any more
        client.metadata.close()
        response = api.get("/ready")
        assert response.status_code == 503
        assert ok(api.get("/health")) == {"status": "ok"}
    finally:
        api.close()
        client.close()


def test_metrics_count_requests_by_route_template_method_and_status(api: ApiClient) -> None:
    ok(api.post("/api/v1/experiments", json={"name": "m"}), 201)
    err(api.get(f"/api/v1/runs/{'0' * 32}"), 404)
    err(api.get(f"/api/v1/runs/{'1' * 32}"), 404)
    api.get("/nowhere")
    body = api.get("/metrics").text
    assert re.search(r'shipyard_http_requests_total\{method="GET",route="/api/v1/runs/'
                     r'\{run_id\}",status="404"\} 2\.0', body), body
    assert 'route="/api/v1/experiments",status="201"' in body
    assert 'route="<unmatched>",status="404"' in body
    assert "shipyard_http_request_duration_seconds_bucket" in body
    assert "0" * 32 not in body, "raw paths never become labels"


def test_each_app_has_its_own_metrics(server_client: Client) -> None:
    first, second = ApiClient(create_app(server_client)), ApiClient(create_app(server_client))
    try:
        first.get("/health")
        assert 'route="/health"' not in second.get("/metrics").text
    finally:
        first.close()
        second.close()


def test_a_server_cannot_run_in_client_mode() -> None:
    with Client(tracking_uri="http://127.0.0.1:9") as remote, pytest.raises(
            ConfigError, match="client mode"):
        create_app(remote)


def test_auth_needs_a_store_that_keeps_users(server_client: Client) -> None:
    from shipyard.auth import AuthService

    assert isinstance(server_client.auth, AuthService)
    app = create_app(server_client, auth=True)
    assert app.state.shipyard.auth is server_client.auth


@pytest.mark.parametrize(("code", "status"), [
    ("invalid-argument", 400), ("invalid-filter", 400), ("unauthenticated", 401),
    ("permission-denied", 403), ("run-not-found", 404), ("experiment-already-exists", 409),
    ("param-conflict", 409), ("range-not-satisfiable", 416), ("backend-unavailable", 503),
    ("schema-version", 503), ("backend-error", 500), ("config-error", 500),
])
def test_error_codes_map_to_statuses_in_one_place(code: str, status: int) -> None:
    from shipyard.errors import ShipyardError

    assert status_for(ShipyardError.from_code(code, "m")) == status


def test_web_stack_stays_out_of_import_shipyard_and_the_cli() -> None:
    code = ("import sys, shipyard, shipyard.cli.main, shipyard.client; "
            "bad = [m for m in ('fastapi', 'starlette', 'uvicorn', 'prometheus_client', "
            "'shipyard.server', 'shipyard.backends.remote') if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
    code = ("import sys, shipyard; "
            "print([m for m in ('httpx', 'fastapi', 'starlette') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_server_help_does_not_import_the_web_stack() -> None:
    code = ("import sys; from click.testing import CliRunner; from shipyard.cli.main import cli; "
            "r = CliRunner().invoke(cli, ['server', '--help']); assert r.exit_code == 0, r.output;"
            " print([m for m in ('fastapi', 'uvicorn') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_missing_server_extra_becomes_an_install_hint() -> None:
    code = ("import sys; sys.modules['uvicorn'] = None; "
            "from click.testing import CliRunner; from shipyard.cli.main import cli; "
            "r = CliRunner().invoke(cli, ['server']); print(r.exit_code); print(r.output)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    exit_code, output = out.stdout.split("\n", 1)
    assert exit_code == "1"
    assert "pip install 'shipyard[server]'" in output


def test_the_server_banner_never_prints_a_database_password() -> None:
    from shipyard.cli.commands.server import _hide_password

    assert _hide_password("postgresql+psycopg://app:s3cr:et@db/x") == (
        "postgresql+psycopg://app:***@db/x")
    assert _hide_password("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"
