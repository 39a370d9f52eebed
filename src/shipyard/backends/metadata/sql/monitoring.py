"""The monitoring port on the shared SQL schema (mixed into `SqlMetadataStore`).

Tables ``monitors``, ``monitor_results``, ``monitor_values`` and ``alerts`` (migration 0003).
A window's result and values are replaced in one transaction, so a recomputed window (late
labels) never shows a mix of old and new values. Advancing a monitor is a compare-and-swap
on ``last_window_end``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, delete, func, select, update

from shipyard.backends.metadata.sql import schema as s
from shipyard.entities._ids import from_ms, to_ms
from shipyard.entities.monitoring import Alert, AlertState, Monitor, MonitorResult, MonitorValue
from shipyard.errors import (
    ConflictError,
    MonitorAlreadyExistsError,
    MonitorNotFoundError,
    NotFoundError,
)
from shipyard.stores.metadata import UNSET
from shipyard.stores.monitoring import MonitorStore

mo, mr, mval, al = s.monitors.c, s.monitor_results.c, s.monitor_values.c, s.alerts.c
_VALUE_CHUNK = 500


def _missing(name: str) -> MonitorNotFoundError:
    msg = f"No monitor named {name!r}."
    return MonitorNotFoundError(msg)


def _finite(value: float | None) -> float | None:
    if value is None:
        return None
    out = float(value)
    return out if math.isfinite(out) else None


def _monitor(row: Any) -> Monitor:
    return Monitor(
        name=row.name, model_uri=row.model_uri, window_seconds=row.window_seconds,
        rules=tuple(json.loads(row.rules or "[]")), webhooks=tuple(json.loads(row.webhooks or
                                                                              "[]")),
        config=json.loads(row.config or "{}"), enabled=bool(row.enabled),
        last_window_end=from_ms(row.last_window_end),
        created_at=from_ms(row.created_at),  # type: ignore[arg-type]
        created_by=row.created_by)


def _alert(row: Any) -> Alert:
    return Alert(
        id=row.id, monitor=row.monitor, rule=row.rule, state=AlertState(row.state),
        value=row.value, window_start=from_ms(row.window_start),  # type: ignore[arg-type]
        window_end=from_ms(row.window_end),  # type: ignore[arg-type]
        fired_at=from_ms(row.fired_at),  # type: ignore[arg-type]
        resolved_at=from_ms(row.resolved_at), last_notified_at=from_ms(row.last_notified_at),
        notifications=row.notifications or 0, detail=json.loads(row.detail or "{}"))


class SqlMonitoringMixin(MonitorStore):
    """`MonitorStore` for `SqlMetadataStore` (which provides the plumbing)."""

    _write: Callable[..., Any]
    _read: Callable[..., Any]
    dialect_insert: Callable[..., Any]

    @staticmethod
    def _require(conn: Connection, name: str) -> None:
        if conn.execute(select(mo.name).where(mo.name == name)).first() is None:
            raise _missing(name)

    # -- monitors -----------------------------------------------------------------------
    def create_monitor(self, monitor: Monitor) -> Monitor:
        def txn(conn: Connection) -> Monitor:
            res = conn.execute(self.dialect_insert(s.monitors).values(
                name=monitor.name, model_uri=monitor.model_uri,
                window_seconds=monitor.window_seconds, rules=json.dumps(list(monitor.rules)),
                webhooks=json.dumps(list(monitor.webhooks)), config=json.dumps(monitor.config),
                enabled=monitor.enabled,
                last_window_end=None if monitor.last_window_end is None else to_ms(
                    monitor.last_window_end),
                created_at=to_ms(monitor.created_at), created_by=monitor.created_by,
            ).on_conflict_do_nothing().returning(mo.name))
            if res.first() is None:
                msg = f"A monitor named {monitor.name!r} already exists."
                raise MonitorAlreadyExistsError(msg)
            return _monitor(conn.execute(select(s.monitors).where(
                mo.name == monitor.name)).one())

        return self._write(txn)  # type: ignore[no-any-return]

    def get_monitor(self, name: str) -> Monitor:
        def read(conn: Connection) -> Monitor:
            row = conn.execute(select(s.monitors).where(mo.name == name)).first()
            if row is None:
                raise _missing(name)
            return _monitor(row)

        return self._read(read)  # type: ignore[no-any-return]

    def list_monitors(self) -> list[Monitor]:
        def read(conn: Connection) -> list[Monitor]:
            return [_monitor(r) for r in conn.execute(select(s.monitors).order_by(mo.name))]

        return self._read(read)  # type: ignore[no-any-return]

    def update_monitor(
        self, name: str, *, last_window_end: datetime | object = UNSET,
        expected_window_end: datetime | object | None = UNSET,
        enabled: bool | object = UNSET, config: Mapping[str, Any] | object = UNSET,
        rules: Sequence[str] | object = UNSET, webhooks: Sequence[str] | object = UNSET,
    ) -> Monitor:
        values: dict[str, Any] = {}
        if last_window_end is not UNSET:
            values["last_window_end"] = to_ms(last_window_end)  # type: ignore[arg-type]
        if enabled is not UNSET:
            values["enabled"] = bool(enabled)
        if config is not UNSET:
            values["config"] = json.dumps(dict(cast(Mapping[str, Any], config)))
        if rules is not UNSET:
            values["rules"] = json.dumps(list(cast(Sequence[str], rules)))
        if webhooks is not UNSET:
            values["webhooks"] = json.dumps(list(cast(Sequence[str], webhooks)))

        def txn(conn: Connection) -> Monitor:
            stmt = update(s.monitors).where(mo.name == name)
            if expected_window_end is not UNSET:
                stmt = stmt.where(mo.last_window_end.is_(None) if expected_window_end is None
                                  else mo.last_window_end == to_ms(
                                      expected_window_end))  # type: ignore[arg-type]
            if values:
                res = conn.execute(stmt.values(**values))
                if res.rowcount == 0:
                    self._require(conn, name)
                    msg = (f"Monitor {name!r} was advanced by another runner since it was "
                           "read.")
                    raise ConflictError(msg, hint="run it again; the other runner did the "
                                                  "work")
            row = conn.execute(select(s.monitors).where(mo.name == name)).first()
            if row is None:
                raise _missing(name)
            return _monitor(row)

        return self._write(txn)  # type: ignore[no-any-return]

    def delete_monitor(self, name: str) -> None:
        def txn(conn: Connection) -> None:
            conn.execute(delete(s.monitor_values).where(mval.monitor == name))
            conn.execute(delete(s.monitor_results).where(mr.monitor == name))
            conn.execute(delete(s.alerts).where(al.monitor == name))
            conn.execute(delete(s.monitors).where(mo.name == name))

        self._write(txn)

    # -- results ------------------------------------------------------------------------
    def log_monitor_result(self, result: MonitorResult,
                           values: Mapping[str, float | None]) -> None:
        start = to_ms(result.window_start)

        def txn(conn: Connection) -> None:
            self._require(conn, result.monitor)
            conn.execute(delete(s.monitor_results).where(
                mr.monitor == result.monitor, mr.window_start == start))
            conn.execute(delete(s.monitor_values).where(
                mval.monitor == result.monitor, mval.window_start == start))
            conn.execute(s.monitor_results.insert().values(
                monitor=result.monitor, window_start=start,
                window_end=to_ms(result.window_end), computed_at=to_ms(result.computed_at),
                summary=json.dumps(result.summary, default=str)))
            rows = [{"monitor": result.monitor, "window_start": start, "key": k,
                     "value": _finite(v)} for k, v in values.items()]
            for i in range(0, len(rows), _VALUE_CHUNK):
                conn.execute(s.monitor_values.insert(), rows[i:i + _VALUE_CHUNK])

        self._write(txn)

    def list_monitor_results(self, name: str, *, start: datetime | None = None,
                             end: datetime | None = None, max_results: int = 1000,
                             skip_newest: int = 0) -> list[MonitorResult]:
        def read(conn: Connection) -> list[MonitorResult]:
            q = select(s.monitor_results).where(mr.monitor == name)
            if start is not None:
                q = q.where(mr.window_start >= to_ms(start))
            if end is not None:
                q = q.where(mr.window_start < to_ms(end))
            rows = conn.execute(q.order_by(mr.window_start.desc()).limit(max_results)
                                .offset(skip_newest)).all()
            return [MonitorResult(
                monitor=r.monitor, window_start=from_ms(r.window_start),  # type: ignore[arg-type]
                window_end=from_ms(r.window_end),  # type: ignore[arg-type]
                computed_at=from_ms(r.computed_at),  # type: ignore[arg-type]
                summary=json.loads(r.summary or "{}")) for r in reversed(rows)]

        return self._read(read)  # type: ignore[no-any-return]

    def get_monitor_values(self, name: str, keys: Sequence[str] | None = None, *,
                           start: datetime | None = None, end: datetime | None = None,
                           max_results: int = 10_000) -> list[MonitorValue]:
        def read(conn: Connection) -> list[MonitorValue]:
            q = select(s.monitor_values).where(mval.monitor == name)
            if keys is not None:
                q = q.where(mval.key.in_(list(keys)))
            if start is not None:
                q = q.where(mval.window_start >= to_ms(start))
            if end is not None:
                q = q.where(mval.window_start < to_ms(end))
            rows = conn.execute(q.order_by(mval.window_start, mval.key)
                                .limit(max_results)).all()
            return [MonitorValue(monitor=r.monitor, key=r.key,
                                 window_start=from_ms(r.window_start),  # type: ignore[arg-type]
                                 value=r.value) for r in rows]

        return self._read(read)  # type: ignore[no-any-return]

    def latest_monitor_values(self, name: str) -> dict[str, MonitorValue]:
        def read(conn: Connection) -> dict[str, MonitorValue]:
            latest = (select(mval.key, func.max(mval.window_start).label("ws"))
                      .where(mval.monitor == name).group_by(mval.key).subquery())
            q = select(s.monitor_values).join(latest, (mval.key == latest.c.key) & (
                mval.window_start == latest.c.ws)).where(mval.monitor == name)
            return {r.key: MonitorValue(monitor=r.monitor, key=r.key,
                                        window_start=from_ms(r.window_start),  # type: ignore[arg-type]
                                        value=r.value) for r in conn.execute(q)}

        return self._read(read)  # type: ignore[no-any-return]

    # -- alerts -------------------------------------------------------------------------
    def create_alert(self, *, monitor: str, rule: str, value: float | None,
                     window_start: datetime, window_end: datetime, fired_at: datetime,
                     detail: Mapping[str, Any] | None = None) -> Alert:
        def txn(conn: Connection) -> Alert:
            self._require(conn, monitor)
            res = conn.execute(s.alerts.insert().values(
                monitor=monitor, rule=rule, state=AlertState.FIRING.value,
                value=_finite(value), window_start=to_ms(window_start),
                window_end=to_ms(window_end), fired_at=to_ms(fired_at), notifications=0,
                detail=json.dumps(dict(detail or {}), default=str)).returning(al.id))
            alert_id = res.scalar_one()
            return _alert(conn.execute(select(s.alerts).where(al.id == alert_id)).one())

        return self._write(txn)  # type: ignore[no-any-return]

    def update_alert(
        self, alert_id: int, *, state: AlertState | object = UNSET,
        value: float | object | None = UNSET, window_start: datetime | object = UNSET,
        window_end: datetime | object = UNSET, resolved_at: datetime | object | None = UNSET,
        last_notified_at: datetime | object | None = UNSET,
        notifications: int | object = UNSET, detail: Mapping[str, Any] | object = UNSET,
    ) -> Alert:
        values: dict[str, Any] = {}
        if state is not UNSET:
            values["state"] = AlertState(state).value  # type: ignore[arg-type]
        if value is not UNSET:
            values["value"] = _finite(value)  # type: ignore[arg-type]
        for key, when in (("window_start", window_start), ("window_end", window_end),
                          ("resolved_at", resolved_at), ("last_notified_at", last_notified_at)):
            if when is not UNSET:
                values[key] = None if when is None else to_ms(when)  # type: ignore[arg-type]
        if notifications is not UNSET:
            values["notifications"] = int(cast(int, notifications))
        if detail is not UNSET:
            values["detail"] = json.dumps(dict(cast(Mapping[str, Any], detail)), default=str)

        def txn(conn: Connection) -> Alert:
            if values:
                conn.execute(update(s.alerts).where(al.id == alert_id).values(**values))
            row = conn.execute(select(s.alerts).where(al.id == alert_id)).first()
            if row is None:
                msg = f"No alert with id {alert_id!r}."
                raise NotFoundError(msg, hint="list alerts with `shipyard monitor alerts`")
            return _alert(row)

        return self._write(txn)  # type: ignore[no-any-return]

    def list_alerts(self, monitor: str | None = None, *, state: AlertState | None = None,
                    rule: str | None = None, max_results: int = 100) -> list[Alert]:
        def read(conn: Connection) -> list[Alert]:
            q = select(s.alerts)
            if monitor is not None:
                q = q.where(al.monitor == monitor)
            if state is not None:
                q = q.where(al.state == AlertState(state).value)
            if rule is not None:
                q = q.where(al.rule == rule)
            rows = conn.execute(q.order_by(al.id.desc()).limit(max_results)).all()
            return [_alert(r) for r in rows]

        return self._read(read)  # type: ignore[no-any-return]
