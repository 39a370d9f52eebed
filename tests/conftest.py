"""Shared fixtures: real services, a fresh database/bucket per test session.

Locally a missing service skips with a reason; with CI=true it fails (never a silent skip).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require_service(reason: str) -> None:
    """Skip locally, fail in CI."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: a missing service is a failure)")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the user's SHIPYARD_* settings or writes into the working directory."""
    for key in list(os.environ):
        if key.startswith("SHIPYARD_") and not key.startswith("SHIPYARD_TEST_"):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a database created for this test session (dropped at the end)."""
    try:
        import psycopg
    except ImportError:
        require_service("psycopg is not installed: pip install 'shipyard[postgres]'")
    admin = os.environ.get("SHIPYARD_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    admin = admin.replace("postgresql+psycopg://", "postgresql://")
    name = f"shipyard_test_{uuid.uuid4().hex[:12]}"
    try:
        conn = psycopg.connect(admin, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        require_service(f"PostgreSQL is not reachable at {admin}: {exc}")
    with conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = admin.rpartition("/")
    url = f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)
    yield url
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A real S3 server (SeaweedFS) on a free loopback port for this test session."""
    from shipyard.testing.s3server import S3ServerUnavailable, start_s3_server

    try:
        server = start_s3_server(tmp_path_factory.mktemp("seaweed"))
    except S3ServerUnavailable as exc:
        require_service(f"no S3 server could be started: {exc}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, empty SQLite database to copy (migrating each test's database is slow)."""
    from shipyard.backends.metadata.sql.sqlite import SQLiteMetadataStore

    path = tmp_path_factory.mktemp("template") / "shipyard.db"
    SQLiteMetadataStore.from_uri(f"sqlite:///{path}").close()
    return path


@pytest.fixture
def client(tmp_path: Path, migrated_sqlite: Path) -> Iterator[object]:
    """A Client on embedded defaults in a fresh folder; the fluent API uses it too."""
    import shutil

    from shipyard.client import Client
    from shipyard.tracking import _fluent

    _fluent._reset_for_tests()
    home = tmp_path / ".shipyard"
    home.mkdir()
    shutil.copy(migrated_sqlite, home / "shipyard.db")
    c = Client(home=home)
    _fluent._client = c
    yield c
    _fluent._reset_for_tests()
