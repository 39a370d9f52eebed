"""Monitors over the server's API, in process: create (editor), run the due windows (editor),
read a window's report as JSON or HTML (`MonitoringService.report`), delete (admin); roles
hold and bad input is a 4xx that names the field, the value and what was expected."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from tests.server.conftest import ApiClient, bearer, err, ok

from shipyard.errors import InvalidArgumentError, NotFoundError
from shipyard.server import create_app

from .conftest import HOUR, T0, Churn

API = "/api/v1/monitors"


def _body(**kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "churn-api", "model": "models:/churn@champion",
                            "window": "1h", "start": T0.isoformat(),
                            "rules": ["drift_share > 0.3"], "options": {"min_labels": 20}}
    body.update(kw)
    return body


@pytest.fixture
def api(churn: Churn) -> Iterator[ApiClient]:
    client = ApiClient(create_app(churn.client, auth=False))
    yield client
    client.close()


@pytest.fixture
def roles(churn: Churn) -> Iterator[tuple[ApiClient, dict[str, dict[str, str]]]]:
    auth = churn.client.auth
    headers = {}
    for name, role in (("ada", "admin"), ("eve", "editor"), ("vic", "viewer")):
        auth.create_user(name, role=role, password="correct horse battery")
        headers[name] = bearer(auth.create_token(name, name="t")[1])
    client = ApiClient(create_app(churn.client, auth=True))
    yield client, headers
    client.close()


def test_create_run_report_and_delete_over_the_api(api: ApiClient, churn: Churn) -> None:
    created = ok(api.post(API, json=_body()), 201)
    assert created["name"] == "churn-api"
    assert created["window_seconds"] == 3600
    assert created["config"]["min_labels"] == 20
    churn.log_hour(T0, 400, labels=0.5)
    churn.log_hour(T0 + HOUR, 400, shift=15)

    run = ok(api.post(f"{API}/churn-api/run", params={"max_windows": 2}))
    assert run["error"] is None
    assert [datetime.fromisoformat(w["start"]) for w in run["windows"]] == [T0, T0 + HOUR]
    assert run["rules"][0]["rule"] == "drift_share > 0.3"
    assert run["rules"][0]["firing"] is True  # the second window shifted age by 1.5 sd
    assert run["alerts"][0]["state"] == "firing"

    latest = ok(api.get(f"{API}/churn-api/report", params={"back": 0}))
    assert "age" in latest["drift"]["drifted_columns"]
    assert latest["title"].startswith("churn-api: 2026-01-05 11:00")
    first = ok(api.get(f"{API}/churn-api/report", params={"window": T0.isoformat()}))
    assert first["drift"]["drifted_columns"] == []
    assert first["performance"]["overall"]["coverage"] == 0.5
    assert [h["window_start"] for h in first["history"]] == [int(T0.timestamp() * 1000)]
    by_ms = ok(api.get(f"{API}/churn-api/report",
                       params={"window": int(T0.timestamp() * 1000)}))
    assert by_ms["drift"] == first["drift"]
    assert ok(api.get(f"{API}/churn-api/report", params={"back": 1}))["drift"] == first["drift"]

    page = api.get(f"{API}/churn-api/report", params={"back": 1, "format": "html"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "<h1>churn-api: 2026-01-05 10:00" in page.text

    deleted = ok(api.delete(f"{API}/churn-api"))
    assert deleted["name"] == "churn-api"
    err(api.get(f"{API}/churn-api"), 404)
    err(api.delete(f"{API}/churn-api"), 404)


def test_the_ui_report_and_its_json_twin_show_the_same_window(api: ApiClient,
                                                              churn: Churn) -> None:
    ok(api.post(API, json=_body()), 201)
    churn.log_hour(T0, 300)
    churn.log_hour(T0 + HOUR, 300, shift=15)
    ok(api.post(f"{API}/churn-api/run", params={"max_windows": 2}))
    ms = int(T0.timestamp() * 1000)
    page = api.get(f"/monitors/churn-api?window={ms}")
    assert page.status_code == 200
    assert f'href="/api/v1/monitors/churn-api/report?window={ms}"' in page.text
    assert "0 of 3 features drifted" in page.text
    # a window that is no epoch-ms value, however long, shows the latest window
    assert api.get(f"/monitors/churn-api?window={'9' * 5000}").status_code == 200
    html = api.get(f"/monitors/churn-api/report?window={ms}")
    twin = api.get(f"{API}/churn-api/report", params={"window": ms, "format": "html"})
    assert html.status_code == twin.status_code == 200
    # the same report (only the generation time differs)
    strip = [line for line in html.text.split("<p") if "generated" not in line]
    assert strip == [line for line in twin.text.split("<p") if "generated" not in line]


def test_roles_are_enforced_on_monitor_writes(
        roles: tuple[ApiClient, dict[str, dict[str, str]]], churn: Churn) -> None:
    api, who = roles
    err(api.post(API, json=_body()), 401)
    err(api.post(API, json=_body(), headers=who["vic"]), 403, "permission-denied")
    created = ok(api.post(API, json=_body(), headers=who["eve"]), 201)
    assert created["created_by"] == "eve"
    assert ok(api.get(f"{API}/churn-api", headers=who["vic"]))["created_by"] == "eve"
    err(api.post(f"{API}/churn-api/run", headers=who["vic"]), 403)
    churn.log_hour(T0, 200)
    run = ok(api.post(f"{API}/churn-api/run", params={"max_windows": 1}, headers=who["eve"]))
    assert len(run["windows"]) == 1
    denied = err(api.delete(f"{API}/churn-api", headers=who["eve"]), 403)
    assert "admin" in denied["message"]
    ok(api.get(f"{API}/churn-api/report", headers=who["vic"]))
    ok(api.delete(f"{API}/churn-api", headers=who["ada"]))
    events = churn.client.auth.audit_events("monitor", "churn-api")
    assert [(e.action, e.actor) for e in events] == [
        ("monitor.create", "eve"), ("monitor.run", "eve"), ("monitor.delete", "ada")]


@pytest.mark.parametrize(("change", "status", "words"), [
    ({"window": "soon"}, 400, ["window", "'soon'", "30s, 5m, 1h"]),
    ({"window": 0.5}, 400, ["window", "0.5", "between 1 second"]),
    ({"name": "no spaces"}, 400, ["name", "'no spaces'", "letters, digits"]),
    ({"model": "runs:/0123456789abcdef0123456789abcdef/m"}, 400, ["runs:/0123", "models:/"]),
    ({"rules": ["drift_share >"]}, 400, ["drift_share >"]),
    ({"webhooks": ["ftp://hooks.example"]}, 400, ["webhook", "'ftp://hooks.example'",
                                                  "http:// or https://"]),
    ({"options": {"drift_method": "magic"}}, 400, ["'magic'", "auto", "wasserstein"]),
    ({"options": {"quality_thresholds": {"speed": 1}}}, 400, ["'speed'", "missing"]),
    ({"options": {"share_threshold": 2}}, 422, ["options.share_threshold", "less than or equal"]),
    ({"options": {"bogus": 1}}, 422, ["options.bogus", "Extra inputs"]),
    ({"start": "2026-01-05T10:00:00"}, 422, ["start", "timezone"]),
    ({"start": "1969-12-31T00:00:00+00:00"}, 400, ["start", "1970"]),
    ({"start": "9999-12-31T23:00:00-02:00"}, 400, ["start", "9998"]),
    ({"window": None}, 422, ["window"]),
])
def test_bad_input_is_a_4xx_naming_field_value_and_expectation(
        api: ApiClient, change: dict[str, Any], status: int, words: list[str]) -> None:
    """It answers 400 (the service's check) or 422 (the schema's) and creates nothing."""
    error = err(api.post(API, json=_body(**change)), status)
    for word in words:
        assert word in error["message"], (word, error["message"])
    err(api.get(f"{API}/churn-api"), 404)  # nothing was created


def test_conflicts_unknown_monitors_and_bad_report_arguments(api: ApiClient,
                                                             churn: Churn) -> None:
    ok(api.post(API, json=_body()), 201)
    err(api.post(API, json=_body()), 409)
    err(api.post(f"{API}/nope/run"), 404)
    err(api.get(f"{API}/nope/report"), 404)
    none_yet = err(api.get(f"{API}/churn-api/report"), 404)
    assert "no window 0 back" in none_yet["message"]
    churn.log_hour(T0, 100)
    ok(api.post(f"{API}/churn-api/run", params={"max_windows": 1}))
    missing = err(api.get(f"{API}/churn-api/report",
                          params={"window": (T0 + timedelta(minutes=30)).isoformat()}), 404)
    assert "2026-01-05T10:30:00+00:00" in missing["message"]
    assert "2026-01-05T10:00:00+00:00" in missing["hint"]
    err(api.get(f"{API}/churn-api/report", params={"back": 1}), 404)
    err(api.get(f"{API}/churn-api/report", params={"back": -1}), 422)
    both = err(api.get(f"{API}/churn-api/report",
                       params={"back": 0, "window": T0.isoformat()}), 400)
    assert "'back'" in both["message"]
    err(api.get(f"{API}/churn-api/report", params={"window": "2026-01-05T10:00:00"}), 422)
    far = err(api.get(f"{API}/churn-api/report",
                      params={"window": "0001-01-01T00:00:00+01:00"}), 400)
    assert "1970" in far["message"]
    err(api.post(f"{API}/churn-api/run", params={"max_windows": 0}), 422)
    err(api.get(f"{API}/churn-api/report", params={"format": "pdf"}), 422)


def test_service_report_by_start_or_count_back(churn: Churn) -> None:
    svc = churn.client.monitoring
    svc.create_monitor("m", model="models:/churn@champion", window="1h", start=T0,
                       min_labels=20)
    for h in range(3):
        churn.log_hour(T0 + h * HOUR, 200, labels=0.5, shift=15 if h == 2 else 0)
    svc.run(now=T0 + 3 * HOUR)
    latest = svc.report("m")
    assert latest.to_dict()["drift"]["drifted_columns"] == ["age"]
    assert [h["window_start"] for h in latest.history] == [
        int((T0 + h * HOUR).timestamp() * 1000) for h in range(3)]
    assert all(h["label_coverage"] == 0.5 for h in latest.history)
    by_count, by_start = svc.report("m", 2).to_dict(), svc.report("m", T0).to_dict()
    by_count.pop("created_at")
    by_start.pop("created_at")
    assert by_count == by_start
    assert by_count["drift"]["drifted_columns"] == []
    assert "Performance" in svc.report("m", T0 + HOUR).to_html()
    with pytest.raises(NotFoundError, match="no window 3 back"):
        svc.report("m", 3)
    with pytest.raises(InvalidArgumentError, match="aware datetime"):
        svc.report("m", T0.replace(tzinfo=None))
    with pytest.raises(InvalidArgumentError, match="count of windows back"):
        svc.report("m", -1)


@pytest.mark.slow
def test_fuzzing_the_monitor_routes_finds_no_server_error(churn: Churn) -> None:
    """schemathesis drives every /api/v1/monitors operation from the OpenAPI document; path
    names point at real monitors (one with evaluated windows for reads and reports, one
    with nothing due for runs), so the handlers' own checks are fuzzed, not only 404s."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
    )

    svc = churn.client.monitoring
    svc.create_monitor("fz-hist", model="models:/churn@champion", window="1h", start=T0)
    churn.log_hour(T0, 200, labels=0.5)
    churn.log_hour(T0 + HOUR, 200, shift=15)
    svc.run("fz-hist", now=T0 + 2 * HOUR)
    svc.create_monitor("fz-new", model="models:/churn@champion", window="1h")
    app = create_app(churn.client, auth=False)
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    operations = [r.ok() for r in schema.get_all_operations()
                  if r.ok().path.startswith("/api/v1/monitors")]
    assert len(operations) == 9
    failures: list[str] = []
    for operation in operations:
        @settings(max_examples=25, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def check(case: schemathesis.Case) -> None:
            if case.path_parameters and "name" in case.path_parameters:
                if case.path.endswith("/run"):
                    case.path_parameters["name"] = "fz-new"
                elif case.method == "GET":
                    case.path_parameters["name"] = "fz-hist"
            case.call_and_validate(checks=[not_a_server_error, response_schema_conformance,
                                           content_type_conformance])

        try:
            check()
        except Exception as exc:  # collect every operation's failure
            failures.append(f"{operation.label}: {str(exc)[:2000]}")
    assert failures == [], "\n\n".join(failures)
    assert svc.get_monitor("fz-hist").last_window_end == T0 + 2 * HOUR
