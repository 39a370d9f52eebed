"""Prometheus gauges of every monitor's latest values, so existing Grafana setups work
(``docs/grafana/shipyard-monitoring.json`` is a ready dashboard).

`MonitoringCollector` reads the metadata store on each scrape (one query per monitor) and
yields::

    shipyard_monitor_drift_share{monitor}                    share of drifted columns
    shipyard_monitor_dataset_drift{monitor}                  1 when the share crossed its threshold
    shipyard_monitor_column_drift_score{monitor,column,method}  the deciding statistic
    shipyard_monitor_column_drifted{monitor,column}          1 when the column drifted
    shipyard_monitor_prediction_drift_share{monitor}
    shipyard_monitor_performance{monitor,metric}             accuracy, auc, f1, rmse, ...
    shipyard_monitor_label_coverage{monitor}                 labelled / predictions
    shipyard_monitor_rows{monitor}                           rows in the latest window
    shipyard_monitor_missing_share{monitor,column}
    shipyard_monitor_quality_issues{monitor}
    shipyard_monitor_alerts_firing{monitor}
    shipyard_monitor_window_end_timestamp_seconds{monitor}
    shipyard_monitor_value{monitor,key}                      every other value, by key

Servers mount it with ``registry.register(MonitoringCollector(client.monitoring))``;
`prometheus_text` renders the same gauges as text. prometheus-client is imported only here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from shipyard.entities.monitoring import AlertState

if TYPE_CHECKING:
    from shipyard.monitoring._service import MonitoringService

PERFORMANCE = ("accuracy", "precision", "recall", "f1", "auc", "log_loss", "mae", "rmse", "r2")


class MonitoringCollector:
    """A prometheus-client collector over a `MonitoringService`."""

    def __init__(self, service: MonitoringService) -> None:
        self.service = service

    def describe(self) -> list[Any]:
        return []  # gauges depend on the monitors present at scrape time

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        def family(name: str, doc: str, labels: list[str]) -> Any:
            return GaugeMetricFamily(f"shipyard_monitor_{name}", doc, labels=["monitor",
                                                                                *labels])

        share = family("drift_share", "Share of monitored columns that drifted", [])
        dataset = family("dataset_drift", "1 when the drift share crossed its threshold", [])
        score = family("column_drift_score", "Deciding drift statistic of a column",
                       ["column", "method"])
        drifted = family("column_drifted", "1 when the column drifted", ["column"])
        pred = family("prediction_drift_share", "Share of model outputs that drifted", [])
        perf = family("performance", "Latest model metric with enough labels", ["metric"])
        coverage = family("label_coverage", "Labelled / predictions in the latest window", [])
        rows = family("rows", "Rows in the latest window", [])
        missing = family("missing_share", "Share of missing values", ["column"])
        issues = family("quality_issues", "Data quality issues in the latest window", [])
        firing = family("alerts_firing", "Open alert incidents", [])
        window_end = family("window_end_timestamp_seconds", "End of the latest window", [])
        other = family("value", "Any other monitor value, by key", ["key"])
        for monitor in self.service.list_monitors():
            name = monitor.name
            latest = self.service.store.latest_monitor_values(name)
            results = self.service.store.list_monitor_results(name, max_results=1)
            methods: dict[str, str] = {}
            if results:
                drift = results[-1].summary.get("drift") or {}
                methods = {c["column"]: c["method"] for c in drift.get("columns", [])}
            for key, point in latest.items():
                value = point.value
                if value is None:
                    continue
                parts = key.split(".")
                if key == "drift_share":
                    share.add_metric([name], value)
                elif key == "drift.dataset_drift":
                    dataset.add_metric([name], value)
                elif key == "prediction_drift_share":
                    pred.add_metric([name], value)
                elif key in PERFORMANCE:
                    perf.add_metric([name, key], value)
                elif key == "label_coverage":
                    coverage.add_metric([name], value)
                elif key == "rows":
                    rows.add_metric([name], value)
                elif key == "quality.issues":
                    issues.add_metric([name], value)
                elif parts[0] == "drift" and len(parts) >= 3 and parts[-1] == "score":
                    column = ".".join(parts[1:-1])
                    score.add_metric([name, column, methods.get(column, "")], value)
                elif parts[0] == "drift" and len(parts) >= 3 and parts[-1] == "drifted":
                    drifted.add_metric([name, ".".join(parts[1:-1])], value)
                elif parts[0] == "missing" and len(parts) >= 2:
                    missing.add_metric([name, ".".join(parts[1:])], value)
                else:
                    other.add_metric([name, key], value)
            open_ = self.service.store.list_alerts(name, state=AlertState.FIRING,
                                                   max_results=1000)
            firing.add_metric([name], float(len(open_)))
            if monitor.last_window_end is not None:
                window_end.add_metric([name], monitor.last_window_end.timestamp())
        yield from (share, dataset, score, drifted, pred, perf, coverage, rows, missing,
                    issues, firing, window_end, other)


def prometheus_text(service: MonitoringService) -> str:
    """The gauges in the Prometheus text format (for a ``/metrics`` endpoint or a test)."""
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry(auto_describe=False)
    registry.register(MonitoringCollector(service))  # type: ignore[arg-type]
    return generate_latest(registry).decode()
