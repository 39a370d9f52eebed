"""The monitoring contract: every `MonitorStore` backend runs this suite.

Subclass it and override the ``store`` fixture::

    class TestSQLiteMonitorStore(MonitorStoreContract):
        @pytest.fixture
        def store(self, tmp_path): ...
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shipyard.entities.monitoring import AlertState, Monitor, MonitorResult
from shipyard.errors import (
    ConflictError,
    MonitorAlreadyExistsError,
    MonitorNotFoundError,
    NotFoundError,
)

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _monitor(name: str | None = None, **kw: Any) -> Monitor:
    defaults: dict[str, Any] = {
        "name": name or f"mon-{uuid.uuid4().hex[:10]}", "model_uri": "models:/churn@champion",
        "window_seconds": 3600, "rules": ("drift_share > 0.3", "auc < 0.8"),
        "webhooks": ("http://127.0.0.1:9/hook",), "config": {"cooldown_seconds": 60},
        "created_at": T0, "created_by": "alice"}
    defaults.update(kw)
    return Monitor(**defaults)


def _result(name: str, start: datetime, **summary: Any) -> MonitorResult:
    return MonitorResult(monitor=name, window_start=start, window_end=start + HOUR,
                         computed_at=start + HOUR, summary=summary)


class MonitorStoreContract:
    """Behaviour every monitoring store must have."""

    @pytest.fixture
    def store(self) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    @pytest.fixture
    def monitor(self, store: Any) -> Monitor:
        return store.create_monitor(_monitor())  # type: ignore[no-any-return]

    # monitors ---------------------------------------------------------------------------
    def test_create_and_get_round_trip(self, store: Any) -> None:
        m = _monitor(enabled=False)
        created = store.create_monitor(m)
        assert created == m
        assert store.get_monitor(m.name) == m

    def test_duplicate_name_raises(self, store: Any, monitor: Monitor) -> None:
        with pytest.raises(MonitorAlreadyExistsError, match=monitor.name):
            store.create_monitor(_monitor(monitor.name))

    def test_get_unknown_raises(self, store: Any) -> None:
        with pytest.raises(MonitorNotFoundError):
            store.get_monitor("nope-" + uuid.uuid4().hex)

    def test_list_is_ordered_by_name(self, store: Any) -> None:
        prefix = uuid.uuid4().hex[:6]
        for n in ("b", "a", "c"):
            store.create_monitor(_monitor(f"{prefix}-{n}"))
        names = [m.name for m in store.list_monitors() if m.name.startswith(prefix)]
        assert names == [f"{prefix}-a", f"{prefix}-b", f"{prefix}-c"]

    def test_update_changes_only_given_fields(self, store: Any, monitor: Monitor) -> None:
        got = store.update_monitor(monitor.name, enabled=False, rules=["rows < 10"],
                                   last_window_end=T0 + HOUR)
        assert (got.enabled, got.rules, got.last_window_end) == (False, ("rows < 10",),
                                                                 T0 + HOUR)
        assert (got.webhooks, got.config) == (monitor.webhooks, monitor.config)
        got = store.update_monitor(monitor.name, config={"x": 1}, webhooks=[])
        assert (got.config, got.webhooks, got.rules) == ({"x": 1}, (), ("rows < 10",))

    def test_update_unknown_raises(self, store: Any) -> None:
        with pytest.raises(MonitorNotFoundError):
            store.update_monitor("nope-" + uuid.uuid4().hex, enabled=False)

    def test_advancing_is_compare_and_swap(self, store: Any, monitor: Monitor) -> None:
        store.update_monitor(monitor.name, last_window_end=T0, expected_window_end=None)
        with pytest.raises(ConflictError):
            store.update_monitor(monitor.name, last_window_end=T0 + HOUR,
                                 expected_window_end=None)
        got = store.update_monitor(monitor.name, last_window_end=T0 + HOUR,
                                   expected_window_end=T0)
        assert got.last_window_end == T0 + HOUR

    def test_concurrent_advances_let_exactly_one_win(self, store: Any,
                                                     monitor: Monitor) -> None:
        outcomes: list[str] = []
        barrier = threading.Barrier(4)

        def advance() -> None:
            barrier.wait()
            try:
                store.update_monitor(monitor.name, last_window_end=T0 + HOUR,
                                     expected_window_end=None)
                outcomes.append("won")
            except ConflictError:
                outcomes.append("conflict")

        threads = [threading.Thread(target=advance) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes) == ["conflict"] * 3 + ["won"]

    def test_delete_is_idempotent_and_removes_everything(self, store: Any,
                                                         monitor: Monitor) -> None:
        store.log_monitor_result(_result(monitor.name, T0), {"rows": 5.0})
        store.create_alert(monitor=monitor.name, rule="rows < 10", value=5.0,
                           window_start=T0, window_end=T0 + HOUR, fired_at=T0 + HOUR)
        store.delete_monitor(monitor.name)
        store.delete_monitor(monitor.name)
        with pytest.raises(MonitorNotFoundError):
            store.get_monitor(monitor.name)
        assert store.list_monitor_results(monitor.name) == []
        assert store.get_monitor_values(monitor.name) == []
        assert store.list_alerts(monitor.name) == []

    # results and values -----------------------------------------------------------------
    def test_result_round_trip(self, store: Any, monitor: Monitor) -> None:
        store.log_monitor_result(_result(monitor.name, T0, drift={"share": 0.5}),
                                 {"drift_share": 0.5, "auc": 0.9})
        [res] = store.list_monitor_results(monitor.name)
        assert (res.window_start, res.window_end, res.summary) == (
            T0, T0 + HOUR, {"drift": {"share": 0.5}})
        values = {v.key: v.value for v in store.get_monitor_values(monitor.name)}
        assert values == {"drift_share": 0.5, "auc": 0.9}

    def test_logging_a_window_again_replaces_it(self, store: Any, monitor: Monitor) -> None:
        store.log_monitor_result(_result(monitor.name, T0, v=1), {"auc": 0.7, "old": 1.0})
        store.log_monitor_result(_result(monitor.name, T0, v=2), {"auc": 0.8})
        [res] = store.list_monitor_results(monitor.name)
        assert res.summary == {"v": 2}
        assert {v.key: v.value for v in store.get_monitor_values(monitor.name)} == {
            "auc": 0.8}

    def test_non_finite_values_are_stored_as_none(self, store: Any, monitor: Monitor) -> None:
        store.log_monitor_result(_result(monitor.name, T0),
                                 {"a": float("nan"), "b": float("inf"), "c": None, "d": 1.5})
        got = {v.key: v.value for v in store.get_monitor_values(monitor.name)}
        assert got == {"a": None, "b": None, "c": None, "d": 1.5}

    def test_results_filter_by_window_and_keep_the_newest(self, store: Any,
                                                          monitor: Monitor) -> None:
        for i in range(5):
            store.log_monitor_result(_result(monitor.name, T0 + i * HOUR, i=i), {"i": i})
        got = store.list_monitor_results(monitor.name, start=T0 + HOUR, end=T0 + 4 * HOUR)
        assert [r.summary["i"] for r in got] == [1, 2, 3]
        newest = store.list_monitor_results(monitor.name, max_results=2)
        assert [r.summary["i"] for r in newest] == [3, 4]
        back = store.list_monitor_results(monitor.name, max_results=2, skip_newest=1)
        assert [r.summary["i"] for r in back] == [2, 3]
        assert store.list_monitor_results(monitor.name, max_results=1, skip_newest=4)[
            0].summary["i"] == 0
        assert store.list_monitor_results(monitor.name, skip_newest=5) == []

    def test_values_filter_by_key(self, store: Any, monitor: Monitor) -> None:
        for i in range(3):
            store.log_monitor_result(_result(monitor.name, T0 + i * HOUR),
                                     {"auc": 0.9 - i / 10, "rows": 10.0 * i})
        auc = store.get_monitor_values(monitor.name, ["auc"])
        assert [(v.window_start, v.value) for v in auc] == [
            (T0, 0.9), (T0 + HOUR, 0.8), (T0 + 2 * HOUR, pytest.approx(0.7))]

    def test_latest_values_take_each_key_from_its_latest_window(self, store: Any,
                                                                monitor: Monitor) -> None:
        store.log_monitor_result(_result(monitor.name, T0), {"auc": 0.9, "rows": 1.0})
        store.log_monitor_result(_result(monitor.name, T0 + HOUR), {"rows": 2.0})
        latest = store.latest_monitor_values(monitor.name)
        assert {k: (v.value, v.window_start) for k, v in latest.items()} == {
            "auc": (0.9, T0), "rows": (2.0, T0 + HOUR)}

    def test_logging_for_an_unknown_monitor_raises(self, store: Any) -> None:
        with pytest.raises(MonitorNotFoundError):
            store.log_monitor_result(_result("nope-" + uuid.uuid4().hex, T0), {"a": 1.0})

    # alerts -----------------------------------------------------------------------------
    def test_alert_lifecycle(self, store: Any, monitor: Monitor) -> None:
        a = store.create_alert(monitor=monitor.name, rule="auc < 0.8", value=0.7,
                               window_start=T0, window_end=T0 + HOUR, fired_at=T0 + HOUR,
                               detail={"why": "x"})
        assert (a.state, a.value, a.notifications, a.detail) == (AlertState.FIRING, 0.7, 0,
                                                                 {"why": "x"})
        b = store.update_alert(a.id, state=AlertState.RESOLVED, resolved_at=T0 + 2 * HOUR,
                               notifications=2, last_notified_at=T0 + 2 * HOUR,
                               detail={"delivered": True})
        assert (b.state, b.resolved_at, b.notifications, b.detail, b.rule) == (
            AlertState.RESOLVED, T0 + 2 * HOUR, 2, {"delivered": True}, "auc < 0.8")

    def test_alerts_are_listed_newest_first_with_filters(self, store: Any,
                                                         monitor: Monitor) -> None:
        ids = [store.create_alert(monitor=monitor.name, rule=r, value=1.0, window_start=T0,
                                  window_end=T0 + HOUR, fired_at=T0).id
               for r in ("a > 0", "b > 0", "a > 0")]
        assert ids == sorted(ids)
        assert [x.id for x in store.list_alerts(monitor.name)] == ids[::-1]
        store.update_alert(ids[0], state=AlertState.RESOLVED)
        assert [x.id for x in store.list_alerts(monitor.name, state=AlertState.FIRING)] == [
            ids[2], ids[1]]
        assert [x.id for x in store.list_alerts(monitor.name, rule="a > 0")] == [
            ids[2], ids[0]]
        assert len(store.list_alerts(monitor.name, max_results=1)) == 1

    def test_updating_an_unknown_alert_raises(self, store: Any) -> None:
        with pytest.raises(NotFoundError):
            store.update_alert(10**9, state=AlertState.RESOLVED)
