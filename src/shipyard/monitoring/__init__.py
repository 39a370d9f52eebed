"""Model monitoring: data drift, prediction drift, data quality and performance with late
labels, computed per window over the prediction log, with rules, alerts, reports and
Prometheus gauges.

Library use needs no monitor::

    from shipyard.monitoring import drift_report
    report = drift_report(train_df, last_week_df)
    report.drift_share, report.drifted_columns, report.to_frame(), report.to_json()

Monitors (``Client().monitoring`` / ``shipyard monitor``) run the same computations on
windows of a served model's prediction log. numpy, scipy, pandas and pyarrow are needed
(``pip install 'shipyard[monitoring]'``) and are imported only when used.
"""

from shipyard.monitoring._alerts import AlertNotifier, Delivery
from shipyard.monitoring._config import MonitorConfig, parse_duration
from shipyard.monitoring._drift import (
    DEFAULT_THRESHOLDS,
    METHODS,
    ColumnDrift,
    DriftReport,
    drift_report,
)
from shipyard.monitoring._log import read_log, write_log
from shipyard.monitoring._performance import (
    PerformanceReport,
    PerformanceWindow,
    classification_metrics,
    join_labels,
    performance_report,
    regression_metrics,
)
from shipyard.monitoring._prometheus import MonitoringCollector, prometheus_text
from shipyard.monitoring._quality import (
    DEFAULT_QUALITY_THRESHOLDS,
    ColumnQuality,
    QualityReport,
    quality_report,
)
from shipyard.monitoring._reference import ReferenceProfile
from shipyard.monitoring._report import MonitoringReport, monitoring_report
from shipyard.monitoring._rules import RuleOutcome, check_rule, evaluate
from shipyard.monitoring._service import MonitoringService, WindowOutcome

__all__ = [
    "DEFAULT_QUALITY_THRESHOLDS",
    "DEFAULT_THRESHOLDS",
    "METHODS",
    "AlertNotifier",
    "ColumnDrift",
    "ColumnQuality",
    "Delivery",
    "DriftReport",
    "MonitorConfig",
    "MonitoringCollector",
    "MonitoringReport",
    "MonitoringService",
    "PerformanceReport",
    "PerformanceWindow",
    "QualityReport",
    "ReferenceProfile",
    "RuleOutcome",
    "WindowOutcome",
    "check_rule",
    "classification_metrics",
    "drift_report",
    "evaluate",
    "join_labels",
    "monitoring_report",
    "parse_duration",
    "performance_report",
    "prometheus_text",
    "quality_report",
    "read_log",
    "regression_metrics",
    "write_log",
]
