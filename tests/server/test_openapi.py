"""The OpenAPI document is served, covers every route, and stays true: schemathesis fuzzes
every operation from it and finds no 5xx and no response that breaks the schema."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)
from tests.server.conftest import ApiClient, ok

from shipyard.client import Client
from shipyard.server import create_app

API = "/api/v1"


@pytest.fixture
def fuzz_app(tmp_path: Path, migrated_sqlite: Path) -> Iterator[object]:
    home = tmp_path / "fuzz"
    home.mkdir()
    shutil.copy(migrated_sqlite, home / "shipyard.db")
    with Client(home=home) as client:
        exp = client.tracking.create_experiment("fuzz")
        run = client.tracking.create_run(experiment_id=exp.id)
        client.tracking.log_batch(run.id, metrics=[client.tracking.make_metric("m", float("nan"))])
        client.tracking.log_text(run.id, "hello", "a.txt")
        yield create_app(client, auth=False)


CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
EXAMPLES = 20


@pytest.mark.slow
def test_fuzzing_finds_no_server_error_and_no_schema_violation(fuzz_app: object) -> None:
    """Every operation, EXAMPLES generated requests each (schemathesis' pytest plugin is
    driven by hand: its collection hook does not support this pytest)."""
    schema = schemathesis.openapi.from_asgi(f"{API}/openapi.json", fuzz_app)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30

    for operation in operations:
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(checks=CHECKS)

        try:
            check()
        except Exception as exc:
            failures.append(f"{operation.label}: {str(exc)[:2000]}")
    assert failures == [], "\n\n".join(failures)


def test_openapi_document_lists_every_route(api: ApiClient) -> None:
    doc = ok(api.get(f"{API}/openapi.json"))
    assert doc["info"]["title"] == "Shipyard"
    paths = set(doc["paths"])
    for path in ("/api/v1/experiments", "/api/v1/runs", "/api/v1/runs/search",
                 "/api/v1/runs/{run_id}/log-batch", "/api/v1/runs/{run_id}/artifacts/{path}",
                 "/health", "/ready", "/metrics"):
        assert path in paths, path
    app_paths = {getattr(r, "path", "") for r in api.http._transport.app.routes}  # type: ignore[attr-defined]
    documented = {p.replace("{path}", "{path:path}").replace("{key}", "{key:path}")
                  for p in paths}
    missing = {p for p in app_paths if p.startswith(API) and p not in documented
               and not p.endswith(("/openapi.json", "/docs", "/docs/oauth2-redirect"))}
    assert missing == set()
    for path, ops in doc["paths"].items():
        if path.startswith(API):
            for method, op in ops.items():
                assert "422" in op["responses"], (method, path)
                if method != "head":
                    assert "404" in op["responses"], (method, path)


def test_docs_page_is_served(api: ApiClient) -> None:
    page = api.get(f"{API}/docs")
    assert page.status_code == 200
    assert "openapi.json" in page.text
