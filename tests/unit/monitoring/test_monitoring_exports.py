"""The public surface of shipyard.monitoring is pinned, and importing it stays light."""

from __future__ import annotations

import subprocess
import sys

import shipyard.monitoring


def test_exported_names_are_pinned() -> None:
    assert set(shipyard.monitoring.__all__) == {
        "DEFAULT_QUALITY_THRESHOLDS", "DEFAULT_THRESHOLDS", "METHODS", "AlertNotifier",
        "ColumnDrift", "ColumnQuality", "Delivery", "DriftReport", "MonitorConfig",
        "MonitoringCollector", "MonitoringReport", "MonitoringService", "PerformanceReport",
        "PerformanceWindow", "QualityReport", "ReferenceProfile", "RuleOutcome",
        "WindowOutcome", "check_rule", "classification_metrics", "drift_report", "evaluate",
        "join_labels", "monitoring_report", "parse_duration", "performance_report",
        "prometheus_text", "quality_report", "read_log", "regression_metrics", "write_log"}
    for name in shipyard.monitoring.__all__:
        assert getattr(shipyard.monitoring, name) is not None


def test_importing_monitoring_loads_no_heavy_library() -> None:
    code = ("import sys, shipyard, shipyard.monitoring, shipyard.client; "
            "heavy = {'numpy', 'pandas', 'scipy', 'pyarrow', 'prometheus_client', 'httpx'}; "
            "print(sorted(heavy & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"
