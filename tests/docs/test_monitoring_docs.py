"""docs/monitoring.md and the Grafana dashboard stay true to the code."""

from __future__ import annotations

import json
import re
from pathlib import Path

from shipyard.cli.commands.monitor import monitor
from shipyard.monitoring import DEFAULT_THRESHOLDS, METHODS, _prometheus

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_every_method_threshold_and_command_is_documented() -> None:
    text = (DOCS / "monitoring.md").read_text()
    for method in METHODS:
        assert f"`{method}`" in text
    assert "adjusted p < 0.05" in text
    assert DEFAULT_THRESHOLDS == {"ks": 0.05, "chi2": 0.05, "wasserstein": 0.1, "psi": 0.2,
                                  "js": 0.1}
    for name in monitor.commands:
        assert f"shipyard monitor {name}" in text, name


def test_the_dashboard_uses_only_gauges_the_collector_exports() -> None:
    exported = set(re.findall(r"shipyard_monitor_\w+", _prometheus.__doc__ or ""))
    docs = (DOCS / "monitoring.md").read_text()
    dashboard = json.loads((DOCS / "grafana" / "shipyard-monitoring.json").read_text())
    used = {name for panel in dashboard["panels"] for target in panel["targets"]
            for name in re.findall(r"shipyard_monitor_\w+", target["expr"])}
    used |= set(re.findall(r"shipyard_monitor_\w+", json.dumps(dashboard["templating"])))
    assert used
    assert used <= exported
    for name in exported:
        assert f"`{name}`" in docs, name


def test_every_monitor_api_route_is_documented() -> None:
    """Each ``/api/v1/monitors`` route (method and path) appears in docs/monitoring.md."""
    from shipyard.server.routes.monitors import router

    text = (DOCS / "monitoring.md").read_text()
    routes = {(method, route.path) for route in router.routes  # type: ignore[attr-defined]
              for method in route.methods}  # type: ignore[attr-defined]
    assert len(routes) >= 9
    for method, path in routes:
        assert f"`{method} {path}" in text, (method, path)
