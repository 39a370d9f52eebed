"""In-process server fixtures: the app over a fresh SQLite store, called through
``httpx.ASGITransport`` (sync tests drive the async client through an anyio portal)."""

from __future__ import annotations

import base64
import functools
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio.from_thread
import httpx
import pytest

from shipyard.client import Client
from shipyard.server import create_app


class ApiClient:
    """A synchronous facade over ``httpx.AsyncClient(transport=ASGITransport(app))``."""

    def __init__(self, app: Any, headers: dict[str, str] | None = None) -> None:
        self._portal_cm = anyio.from_thread.start_blocking_portal()
        self.portal = self._portal_cm.__enter__()
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                      base_url="http://testserver", headers=headers)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self.portal.call(functools.partial(self.http.request, method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)

    def head(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("HEAD", url, **kwargs)

    def close(self) -> None:
        self.portal.call(self.http.aclose)
        self._portal_cm.__exit__(None, None, None)


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.text)
    return response.json() if response.content else None


def err(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "hint"}
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]  # type: ignore[no-any-return]


@pytest.fixture
def server_client(tmp_path: Path, migrated_sqlite: Path) -> Iterator[Client]:
    """The server's own Client, on a fresh copy of a migrated SQLite database."""
    home = tmp_path / "server"
    home.mkdir()
    shutil.copy(migrated_sqlite, home / "shipyard.db")
    with Client(home=home) as c:
        yield c


@pytest.fixture
def api(server_client: Client) -> Iterator[ApiClient]:
    client = ApiClient(create_app(server_client, auth=False))
    yield client
    client.close()


@pytest.fixture
def ui(api: ApiClient) -> ApiClient:
    """The same in-process app as ``api``, named for the tests of HTML pages."""
    return api


def basic(username: str, password: str) -> dict[str, str]:
    raw = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


PASSWORD = "correct horse battery"


@dataclass
class AuthWorld:
    """An auth-enabled app with one user per role, each with a token."""

    client: Client
    api: ApiClient
    tokens: dict[str, str]

    def as_(self, who: str) -> dict[str, str]:
        return bearer(self.tokens[who])


@pytest.fixture
def auth_world(server_client: Client) -> Iterator[AuthWorld]:
    auth = server_client.auth
    tokens = {}
    for name, role in (("ada", "admin"), ("eve", "editor"), ("ed", "editor"),
                       ("vic", "viewer")):
        auth.create_user(name, role=role, password=PASSWORD)
        tokens[name] = auth.create_token(name, name="test")[1]
    client = ApiClient(create_app(server_client, auth=True))
    yield AuthWorld(server_client, client, tokens)
    client.close()
