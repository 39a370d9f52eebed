"""Monitors end to end: prediction log -> windows -> stored time series -> rules -> alerts to
a real HTTP receiver on loopback; late labels; Prometheus gauges."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from shipyard.entities.monitoring import AlertState
from shipyard.errors import (
    InvalidArgumentError,
    InvalidRuleError,
    MonitorAlreadyExistsError,
    MonitorNotFoundError,
)
from shipyard.registry import verify_signature

from .conftest import HOUR, T0, Churn, Receiver


def _monitor(churn: Churn, **kw: Any) -> Any:
    opts: dict[str, Any] = {"model": "models:/churn@champion", "window": "1h", "start": T0,
                            "min_labels": 20}
    opts.update(kw)
    return churn.client.monitoring.create_monitor("churn-mon", **opts)


def test_run_evaluates_each_due_window_once_and_stores_the_series(churn: Churn) -> None:
    mon = _monitor(churn, rules=["drift_share > 0.3"])
    churn.log_hour(T0, 400, labels=0.5)
    churn.log_hour(T0 + HOUR, 400, shift=15)
    svc = churn.client.monitoring
    [out] = svc.run(now=T0 + 2 * HOUR + timedelta(minutes=5))
    assert out.error is None
    assert [w[0] for w in out.windows] == [T0, T0 + HOUR]
    assert svc.get_monitor(mon.name).last_window_end == T0 + 2 * HOUR
    series = {(v.window_start, v.key): v.value for v in svc.get_values(
        mon.name, ["drift_share", "rows", "drift.age.drifted", "label_coverage"])}
    assert series[(T0, "rows")] == 400
    assert series[(T0, "drift.age.drifted")] == 0.0
    assert series[(T0 + HOUR, "drift.age.drifted")] == 1.0
    assert series[(T0, "label_coverage")] == 0.5
    results = svc.list_results(mon.name)
    assert results[0].summary["model"]["version"] == churn.version
    assert results[0].summary["performance"]["validation"]["auc"] == 0.9
    # nothing new is due: a second run evaluates nothing
    [again] = svc.run(now=T0 + 2 * HOUR + timedelta(minutes=30))
    assert again.windows == []


def test_a_window_reads_only_the_hour_partitions_it_overlaps(churn: Churn) -> None:
    for h in range(6):
        churn.log_hour(T0 + h * HOUR, 50)
    _monitor(churn, window="2h", start=T0 + 2 * HOUR)
    listed: list[str] = []
    store = churn.client.artifacts
    original = store.list

    def spy(prefix: str = "") -> Any:
        listed.append(prefix)
        return original(prefix)

    store.list = spy  # type: ignore[method-assign]
    try:
        [out] = churn.client.monitoring.run(now=T0 + 4 * HOUR)
    finally:
        del store.list
    assert out.windows == [(T0 + 2 * HOUR, T0 + 4 * HOUR)]
    predictions = sorted({p for p in listed if p.startswith("predictions/")})
    assert predictions == ["predictions/churn/2026-01-05/12/",
                           "predictions/churn/2026-01-05/13/"]


def test_late_labels_update_a_past_windows_performance(churn: Churn) -> None:
    _monitor(churn, rules=["auc < 0.5"])
    frame = churn.log_hour(T0, 300)
    svc = churn.client.monitoring
    svc.run(now=T0 + HOUR + timedelta(minutes=1))
    latest = svc.latest_values("churn-mon")
    assert latest["label_coverage"].value == 0.0
    assert "auc" not in latest
    import numpy as np

    truth = (frame["input.age"].to_numpy() > 40).astype(int)
    churn.label(frame.iloc[:150], truth[:150], at=T0 + 3 * HOUR)
    churn.label(frame.iloc[:10], 1 - truth[:10], at=T0 + 2 * HOUR)  # older, overridden
    [out] = svc.run(now=T0 + 3 * HOUR + timedelta(minutes=1))
    assert T0 in out.refreshed
    latest = svc.latest_values("churn-mon")
    assert latest["label_coverage"].value == 0.5
    assert latest["labelled"].value == 150
    assert latest["auc"].value > 0.9
    assert latest["auc"].window_start == T0
    assert np.isfinite(latest["drift_share"].value)  # the rest of the window is kept
    assert [r.firing for r in out.rules] == [False]


def test_alerts_are_deduplicated_cooled_down_resolved_and_signed(
        churn: Churn, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    svc = churn.client.monitoring
    svc.notifier.secret = "s3cret"
    svc.notifier.backoff = 0.01
    _monitor(churn, rules=["rows > 100"], webhooks=[receiver.url], cooldown_seconds=5400)
    receiver.fail_next = 1  # the first attempt fails: retried with back-off

    def hour(i: int, rows: int) -> list[Any]:
        churn.log_hour(T0 + i * HOUR, rows, prefix=f"h{i}-")
        return svc.run(now=T0 + (i + 1) * HOUR + timedelta(minutes=5))[0].alerts

    [a] = hour(0, 200)  # fires: one message after one retry
    assert (a.state, a.notifications) == (AlertState.FIRING, 1)
    assert [r["status"] for r in receiver.requests] == [503, 200]
    first = receiver.requests[1]
    assert first["headers"]["X-Shipyard-Delivery"] == f"{a.id}-firing"
    assert verify_signature(first["raw"], first["headers"]["X-Shipyard-Signature"], "s3cret")
    body = first["body"]
    assert (body["monitor"], body["rule"], body["state"], body["value"]) == (
        "churn-mon", "rows > 100", "firing", 200.0)
    assert body["window"]["start"] == T0.isoformat()
    assert body["links"]["cli"] == "shipyard monitor alerts churn-mon"

    [b] = hour(1, 300)  # still firing: same incident, no message
    assert b.id == a.id
    assert len(receiver.bodies) == 1

    [c] = hour(2, 50)  # clears: resolved message
    assert (c.id, c.state) == (a.id, AlertState.RESOLVED)
    assert [x["state"] for x in receiver.bodies] == ["firing", "resolved"]

    [d] = hour(3, 200)  # fires again within the cool-down: recorded, not sent
    assert d.id != a.id
    assert d.detail["suppressed"] is True
    [e] = hour(4, 50)  # its resolution is not sent either
    assert e.state == AlertState.RESOLVED
    assert len(receiver.bodies) == 2

    [f] = hour(5, 200)  # past the cool-down: a new incident, announced
    assert f.notifications == 1
    assert [x["state"] for x in receiver.bodies] == ["firing", "resolved", "firing"]
    history = svc.list_alerts("churn-mon")
    assert [h.id for h in history] == [f.id, d.id, a.id]
    assert [h.state for h in svc.list_alerts("churn-mon", state="firing")] == [
        AlertState.FIRING]


def test_a_webhook_that_keeps_failing_is_recorded(churn: Churn, receiver: Receiver) -> None:
    svc = churn.client.monitoring
    svc.notifier.backoff = 0.0
    svc.notifier.retries = 2
    _monitor(churn, rules=["rows > 1"], webhooks=[receiver.url])
    receiver.fail_next = 10
    churn.log_hour(T0, 20)
    [alert] = svc.run(now=T0 + HOUR)[0].alerts
    assert alert.notifications == 0
    assert alert.detail["firing_delivered"] is False
    assert alert.detail["firing_attempts"] == 3
    assert "HTTP 503" in alert.detail["firing_errors"][0]


def test_prometheus_gauges_show_the_latest_values(churn: Churn) -> None:
    from shipyard.monitoring._prometheus import prometheus_text

    _monitor(churn, rules=["rows > 1"])
    churn.log_hour(T0, 300, shift=15, labels=0.5)
    churn.client.monitoring.run(now=T0 + HOUR)
    text = prometheus_text(churn.client.monitoring)
    assert 'shipyard_monitor_drift_share{monitor="churn-mon"}' in text
    assert 'shipyard_monitor_column_drifted{column="age",monitor="churn-mon"} 1.0' in text
    assert 'shipyard_monitor_performance{metric="auc",monitor="churn-mon"}' in text
    assert 'shipyard_monitor_label_coverage{monitor="churn-mon"} 0.5' in text
    assert 'shipyard_monitor_alerts_firing{monitor="churn-mon"} 1.0' in text
    assert 'shipyard_monitor_rows{monitor="churn-mon"} 300.0' in text


def test_the_window_is_judged_on_the_alias_version(churn: Churn) -> None:
    _monitor(churn)
    churn.log_hour(T0, 100, version=churn.version)
    churn.log_hour(T0, 300, version=churn.version + 7, prefix="other")
    churn.client.monitoring.run(now=T0 + HOUR)
    [res] = churn.client.monitoring.list_results("churn-mon")
    assert res.summary["model"]["version"] == churn.version
    assert res.summary["model"]["versions"] == {str(churn.version): 100,
                                                str(churn.version + 7): 300}
    assert res.summary["rows"] == 100


def test_create_checks_its_arguments(churn: Churn) -> None:
    svc = churn.client.monitoring
    with pytest.raises(InvalidRuleError, match="Monitor rule"):
        _monitor(churn, rules=["__import__('os')"])
    with pytest.raises(InvalidArgumentError, match="models:/"):
        _monitor(churn, model="runs:/" + "a" * 32 + "/model")
    with pytest.raises(InvalidArgumentError, match="http"):
        _monitor(churn, webhooks=["ftp://x"])
    with pytest.raises(InvalidArgumentError, match="Unknown monitor options"):
        _monitor(churn, colour="blue")
    with pytest.raises(InvalidArgumentError, match="duration"):
        _monitor(churn, window="soon")
    _monitor(churn)
    with pytest.raises(MonitorAlreadyExistsError):
        _monitor(churn)
    assert [m.name for m in svc.list_monitors()] == ["churn-mon"]
    svc.update_monitor("churn-mon", rules=["auc < 0.7"], cooldown_seconds=60)
    got = svc.get_monitor("churn-mon")
    assert (got.rules, got.config["cooldown_seconds"]) == (("auc < 0.7",), 60)
    svc.delete_monitor("churn-mon")
    with pytest.raises(MonitorNotFoundError):
        svc.get_monitor("churn-mon")


def test_a_reference_file_replaces_the_version_profile(churn: Churn, tmp_path: Any) -> None:
    import numpy as np

    from .conftest import features

    ref = features(2000, np.random.default_rng(9), shift=15)
    path = tmp_path / "ref.parquet"
    ref.to_parquet(path)
    _monitor(churn, reference=str(path))
    churn.log_hour(T0, 300, shift=15)
    churn.client.monitoring.run(now=T0 + HOUR)
    latest = churn.client.monitoring.latest_values("churn-mon")
    assert latest["drift.age.drifted"].value == 0.0
    keys = list(churn.client.artifacts.list("monitoring/churn-mon/"))
    assert "monitoring/churn-mon/reference.json" in keys
    churn.client.monitoring.delete_monitor("churn-mon")
    assert list(churn.client.artifacts.list("monitoring/churn-mon/")) == []


def test_an_empty_window_reports_only_its_volume(churn: Churn) -> None:
    _monitor(churn, rules=["rows < 1"], expected_rows=100)
    [out] = churn.client.monitoring.run(now=T0 + HOUR)
    assert [r.firing for r in out.rules] == [True]
    [res] = churn.client.monitoring.list_results("churn-mon")
    assert res.summary["note"] == "no predictions in this window"
    latest = churn.client.monitoring.latest_values("churn-mon")
    assert (latest["rows"].value, latest["volume_ratio"].value) == (0.0, 0.0)
