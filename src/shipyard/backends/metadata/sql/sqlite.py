"""SQLite dialect: WAL, busy timeout and BEGIN IMMEDIATE writes, so concurrent writers queue
instead of failing with "database is locked"."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url

from shipyard.backends.metadata.sql.store import (
    MetricRow,
    SqlMetadataStore,
    _param_columns,
    latest_rows,
)
from shipyard.config import Settings
from shipyard.entities.tracking import ParamValue

_LOCK_RETRIES = 50
_INSERT_METRICS = ("INSERT INTO metrics (run_id, key, step, timestamp, value) "
                   "VALUES (?, ?, ?, ?, ?)")
_INSERT_PARAM = ("INSERT INTO params (run_id, key, value, str_value, num_value) "
                 "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")
_UPSERT_TAG = ("INSERT INTO tags (run_id, key, value) VALUES (?, ?, ?) "
               "ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value")
_UPSERT_LATEST = (  # the newest point (by step, then time) of each series wins
    "INSERT INTO latest_metrics (run_id, key, step, timestamp, value) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (run_id, key) DO UPDATE SET step = excluded.step, "
    "timestamp = excluded.timestamp, value = excluded.value "
    "WHERE excluded.step > latest_metrics.step OR (excluded.step = latest_metrics.step "
    "AND excluded.timestamp >= latest_metrics.timestamp)")


def make_sqlite_engine(url: str, *, busy_timeout: float = 60.0) -> Engine:
    """An engine whose connections use WAL and emit BEGIN IMMEDIATE for write transactions."""
    parsed = make_url(url)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        parsed, connect_args={"timeout": busy_timeout, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (pysqlite's is broken)
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        for attempt in range(_LOCK_RETRIES):
            try:
                cur.execute("PRAGMA journal_mode = WAL")
                break
            except Exception:
                time.sleep(0.05 * (attempt + 1))
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get("write") else "BEGIN")

    return engine


class SQLiteMetadataStore(SqlMetadataStore):
    """The embedded default: one file, nothing to start."""

    backend_name = "sqlite"
    split_metric_order = True
    dialect_insert = staticmethod(sqlite_insert)

    @classmethod
    def from_uri(cls, uri: str, settings: Settings | None = None) -> SQLiteMetadataStore:
        timeout = settings.sqlite_busy_timeout if settings else 60.0
        return cls(make_sqlite_engine(uri, busy_timeout=timeout))

    def _insert_metrics(self, conn: Connection, rows: list[Any]) -> None:
        # The driver's executemany on tuples is ~2x faster than Core's per-row processing.
        conn.exec_driver_sql(_INSERT_METRICS, rows)

    def _log_batch_txn(
        self, conn: Connection, run_id: str, metric_rows: list[MetricRow],
        params: dict[str, ParamValue], tags: dict[str, str], batch_id: str | None,
    ) -> bool:
        """The same transaction as the generic one, in the driver's own SQL.

        A fluent ``log_param`` or a 1,000-point batch is a handful of tiny statements, and
        SQLAlchemy's per-statement work (cache keys, compilation lookups, result objects)
        was most of their time; the generic code still raises every error.
        """
        cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            row = cur.execute("SELECT lifecycle FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None or row[0] == "deleted":
                self._require_run(conn, run_id, writable=True)  # raises the typed error
            if batch_id is not None:
                cur.execute("INSERT INTO metric_batches (batch_id, run_id) VALUES (?, ?) "
                            "ON CONFLICT DO NOTHING", (batch_id, run_id))
                if cur.rowcount == 0:
                    return False
            if params:
                conflicts: dict[str, ParamValue] = {}
                for key in sorted(params):
                    cur.execute(_INSERT_PARAM, (run_id, key, *_param_columns(params[key])))
                    if cur.rowcount == 0:
                        conflicts[key] = params[key]
                if conflicts:  # same value again is fine; another value raises
                    self._insert_params(conn, run_id, conflicts)
            if tags:
                cur.executemany(_UPSERT_TAG, [(run_id, k, v) for k, v in sorted(tags.items())])
            if metric_rows:
                cur.executemany(_INSERT_METRICS, metric_rows)
                cur.executemany(_UPSERT_LATEST, latest_rows(metric_rows))
            return True
        finally:
            cur.close()

    def _write(self, fn: Any) -> Any:
        for attempt in range(_LOCK_RETRIES):
            try:
                return super()._write(fn)
            except Exception as exc:
                cause = exc.__cause__
                if not (isinstance(cause, sa_exc.OperationalError)
                        and "locked" in str(cause.orig).lower()) or attempt == _LOCK_RETRIES - 1:
                    raise
                time.sleep(min(0.02 * (attempt + 1), 0.5))
        raise AssertionError  # pragma: no cover - loop always returns or raises
