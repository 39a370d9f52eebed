"""One SQLAlchemy-Core implementation of the metadata ports, shared by SQLite and PostgreSQL.

Dialect modules (``sqlite.py``, ``postgresql.py``) add only engine set-up and the dialect's
``insert`` (for ON CONFLICT upserts).
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any, TypedDict, TypeVar

from sqlalchemy import Connection, Engine, and_, delete, func, or_, select, update
from sqlalchemy import exc as sa_exc

from shipyard.backends.metadata.sql import schema as s
from shipyard.backends.metadata.sql._filters import compile_search
from shipyard.backends.metadata.sql._keys import run_keys
from shipyard.backends.metadata.sql.deployments import SqlDeploymentMixin
from shipyard.backends.metadata.sql.identity import SqlIdentityMixin
from shipyard.backends.metadata.sql.migrate import HEAD_REVISION, current_revision, upgrade
from shipyard.backends.metadata.sql.monitoring import SqlMonitoringMixin
from shipyard.backends.metadata.sql.registry import SqlRegistryMixin
from shipyard.entities._ids import from_ms, new_id, to_ms, utc_now
from shipyard.entities.search import Expr, OrderBy
from shipyard.entities.tracking import (
    ArtifactInfo,
    DatasetInput,
    Experiment,
    Lifecycle,
    Metric,
    ParamValue,
    Run,
    RunContext,
    RunStatus,
)
from shipyard.errors import (
    BackendError,
    BackendUnavailableError,
    ConflictError,
    ExperimentAlreadyExistsError,
    ExperimentNotFoundError,
    ParamConflictError,
    RunNotFoundError,
    SchemaVersionError,
    ShipyardError,
)
from shipyard.stores.metadata import UNSET, MetadataStore

T = TypeVar("T")
MetricRow = tuple[str, str, int, int, float | None]
_CHUNK = 500  # ids per IN (...) clause


def _chunks(items: Sequence[T], n: int = _CHUNK) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


class _SearchScope(TypedDict):
    """The `compile_search` keywords every page of one `search_runs` call shares."""

    include_deleted: bool
    deleted_only: bool
    dialect_name: str


def latest_rows(metric_rows: Sequence[MetricRow]) -> list[MetricRow]:
    """The newest point (highest step, then newest time) of each key, sorted by key: what
    ``latest_metrics`` keeps. No tuple is built per point: this loop sees every point."""
    latest: dict[str, MetricRow] = {}
    for r in metric_rows:
        cur = latest.get(r[1])
        if cur is None or r[2] > cur[2] or (r[2] == cur[2] and r[3] >= cur[3]):
            latest[r[1]] = r
    return [latest[k] for k in sorted(latest)]


def _param_columns(value: ParamValue) -> tuple[str, str | None, float | None]:
    encoded = json.dumps(value)
    if isinstance(value, bool):
        return encoded, str(value).lower(), float(value)
    if isinstance(value, int | float):
        return encoded, repr(value) if isinstance(value, float) else str(value), float(value)
    return encoded, None if value is None else str(value), None


class SqlMetadataStore(SqlRegistryMixin, SqlIdentityMixin, SqlDeploymentMixin,
                       SqlMonitoringMixin, MetadataStore):
    """Metadata in a relational database through SQLAlchemy Core."""

    backend_name = "sql"
    dialect_insert: Callable[..., Any]
    split_metric_order = False
    """Split searches ordered by a metric into head and tail queries (SQLite plans the single
    LEFT JOIN query as a full scan plus sort; PostgreSQL plans it well as it is)."""

    def __init__(self, engine: Engine, *, auto_migrate_empty: bool = True) -> None:
        self.engine = engine
        self._write_lock = threading.RLock()
        self._prepare_schema(auto_migrate_empty=auto_migrate_empty)

    # -- plumbing ---------------------------------------------------------------------
    def _prepare_schema(self, *, auto_migrate_empty: bool) -> None:
        with self._translate():
            with self.engine.connect() as conn:
                rev = current_revision(conn)
            if rev is None and auto_migrate_empty:
                upgrade(self.engine)
                return
        if rev != HEAD_REVISION:
            self.check()

    def check(self) -> None:
        with self._translate(), self.engine.connect() as conn:
            rev = current_revision(conn)
        if rev != HEAD_REVISION:
            msg = (
                f"The {self.backend_name} metadata database is at schema revision {rev!r}; "
                f"this Shipyard needs {HEAD_REVISION!r}."
            )
            raise SchemaVersionError(msg, backend=self.backend_name)

    def close(self) -> None:
        self.engine.dispose()

    def after_fork(self) -> None:
        # close=False: the pooled connections are the parent's too; closing them here could
        # end the parent's session (PostgreSQL) -- the child just opens its own
        self.engine.dispose(close=False)

    @contextlib.contextmanager
    def _translate(self) -> Iterator[None]:
        try:
            yield
        except ShipyardError:
            raise
        except sa_exc.OperationalError as exc:
            text = str(exc.orig).lower()
            if any(w in text for w in ("connect", "refused", "timeout", "could not", "unable")):
                msg = f"The {self.backend_name} metadata store is unreachable: {exc.orig}"
                raise BackendUnavailableError(
                    msg, backend=self.backend_name, hint="check SHIPYARD_METADATA_URI"
                ) from exc
            msg = f"The {self.backend_name} metadata store failed: {exc.orig}"
            raise BackendError(msg, backend=self.backend_name) from exc
        except sa_exc.SQLAlchemyError as exc:
            msg = f"The {self.backend_name} metadata store failed: {exc}"
            raise BackendError(msg, backend=self.backend_name) from exc

    def _write(self, fn: Callable[[Connection], T]) -> T:
        with self._write_lock, self._translate(), self.engine.connect() as conn:
            conn.info["write"] = True  # SQLite's begin hook turns this into BEGIN IMMEDIATE
            try:
                with conn.begin():
                    return fn(conn)
            finally:
                conn.info.pop("write", None)

    def _read(self, fn: Callable[[Connection], T]) -> T:
        with self._translate(), self.engine.connect() as conn:
            return fn(conn)

    def _insert_ignore(self, table: Any) -> Any:
        return self.dialect_insert(table).on_conflict_do_nothing()

    # -- experiments ------------------------------------------------------------------
    @staticmethod
    def _experiment(row: Any) -> Experiment:
        return Experiment(
            id=row.id, name=row.name, description=row.description or "",
            tags=json.loads(row.tags or "{}"), lifecycle=Lifecycle(row.lifecycle),
            created_at=from_ms(row.created_at), deleted_at=from_ms(row.deleted_at),  # type: ignore[arg-type]
            created_by=row.created_by,
        )

    def create_experiment(
        self, name: str, *, description: str = "", tags: dict[str, str] | None = None,
        created_by: str | None = None,
    ) -> Experiment:
        exp_id = new_id()

        def txn(conn: Connection) -> None:
            if conn.execute(select(s.experiments.c.id).where(s.experiments.c.name == name)).first():
                msg = f"An experiment named {name!r} already exists."
                raise ExperimentAlreadyExistsError(
                    msg, hint="pick another name, or restore it if it was deleted"
                )
            conn.execute(s.experiments.insert().values(
                id=exp_id, name=name, description=description, tags=json.dumps(tags or {}),
                lifecycle="active", created_at=to_ms(utc_now()),
                created_by=created_by,
            ))

        try:
            self._write(txn)
        except BackendError as exc:
            if isinstance(exc.__cause__, sa_exc.IntegrityError):
                msg = f"An experiment named {name!r} already exists."
                raise ExperimentAlreadyExistsError(msg) from exc
            raise
        return self.get_experiment(exp_id)

    def get_experiment(self, experiment_id: str) -> Experiment:
        row = self._read(lambda c: c.execute(
            select(s.experiments).where(s.experiments.c.id == experiment_id)).first())
        if row is None:
            msg = f"No experiment with id {experiment_id!r}."
            raise ExperimentNotFoundError(msg, hint="list them with `shipyard experiments list`")
        return self._experiment(row)

    def find_experiment_by_name(self, name: str) -> Experiment | None:
        row = self._read(lambda c: c.execute(
            select(s.experiments).where(s.experiments.c.name == name)).first())
        return None if row is None else self._experiment(row)

    def list_experiments(self, *, include_deleted: bool = False) -> list[Experiment]:
        q = select(s.experiments).order_by(s.experiments.c.created_at, s.experiments.c.id)
        if not include_deleted:
            q = q.where(s.experiments.c.lifecycle == "active")
        return [self._experiment(r) for r in self._read(lambda c: c.execute(q).all())]

    def set_experiment_deleted(self, experiment_id: str, *, deleted: bool) -> Experiment:
        self.get_experiment(experiment_id)
        now = to_ms(utc_now()) if deleted else None
        self._write(lambda c: c.execute(
            update(s.experiments).where(s.experiments.c.id == experiment_id).values(
                lifecycle="deleted" if deleted else "active", deleted_at=now)))
        return self.get_experiment(experiment_id)

    def purge_experiment(self, experiment_id: str) -> None:
        def txn(conn: Connection) -> None:
            left = conn.execute(select(func.count()).select_from(s.runs).where(
                s.runs.c.experiment_id == experiment_id)).scalar_one()
            if left:
                msg = f"Experiment {experiment_id!r} still has {left} runs; purge them first."
                raise ConflictError(msg)
            conn.execute(delete(s.experiments).where(s.experiments.c.id == experiment_id))

        self._write(txn)

    # -- runs -------------------------------------------------------------------------
    def create_run(
        self, *, experiment_id: str, name: str, start_time: datetime, context: RunContext,
        parent_id: str | None = None, description: str = "", tags: dict[str, str] | None = None,
        created_by: str | None = None,
    ) -> Run:
        run_id = new_id()

        def txn(conn: Connection) -> None:
            exp = conn.execute(select(s.experiments.c.lifecycle).where(
                s.experiments.c.id == experiment_id)).first()
            if exp is None:
                msg = f"No experiment with id {experiment_id!r}."
                raise ExperimentNotFoundError(msg)
            if parent_id is not None and conn.execute(
                    select(s.runs.c.id).where(s.runs.c.id == parent_id)).first() is None:
                msg = f"Parent run {parent_id!r} does not exist."
                raise RunNotFoundError(msg)
            start = to_ms(start_time)
            conn.execute(s.runs.insert().values(
                id=run_id, experiment_id=experiment_id, name=name, status="running",
                start_time=start, user=context.user, source=context.source,
                git_commit=context.git_commit, git_dirty=context.git_dirty,
                python_version=context.python_version, packages=json.dumps(context.packages),
                parent_id=parent_id, description=description, lifecycle="active",
                heartbeat_at=start, created_by=created_by,
            ))
            if tags:
                conn.execute(s.tags.insert(), [
                    {"run_id": run_id, "key": k, "value": v} for k, v in tags.items()])

        self._write(txn)
        return self.get_run(run_id)

    def _load_runs(self, conn: Connection, run_ids: Sequence[str]) -> dict[str, Run]:
        rows: dict[str, Any] = {}
        params: dict[str, dict[str, ParamValue]] = {}
        tags: dict[str, dict[str, str]] = {}
        metrics: dict[str, dict[str, float]] = {}
        for chunk in _chunks(list(run_ids)):
            for r in conn.execute(select(s.runs).where(s.runs.c.id.in_(chunk))):
                rows[r.id] = r
            for r in conn.execute(select(s.params.c.run_id, s.params.c.key, s.params.c.value)
                                  .where(s.params.c.run_id.in_(chunk))):
                params.setdefault(r.run_id, {})[r.key] = json.loads(r.value)
            for r in conn.execute(select(s.tags).where(s.tags.c.run_id.in_(chunk))):
                tags.setdefault(r.run_id, {})[r.key] = r.value
            for r in conn.execute(select(s.latest_metrics.c.run_id, s.latest_metrics.c.key,
                                         s.latest_metrics.c.value)
                                  .where(s.latest_metrics.c.run_id.in_(chunk))):
                metrics.setdefault(r.run_id, {})[r.key] = (
                    math.nan if r.value is None else r.value)
        out = {}
        for rid, r in rows.items():
            out[rid] = Run(
                id=r.id, experiment_id=r.experiment_id, name=r.name, status=RunStatus(r.status),
                start_time=from_ms(r.start_time), end_time=from_ms(r.end_time),  # type: ignore[arg-type]
                context=RunContext(
                    user=r.user, source=r.source, git_commit=r.git_commit,
                    git_dirty=r.git_dirty, python_version=r.python_version,
                    packages=json.loads(r.packages or "{}"),
                ),
                parent_id=r.parent_id, description=r.description or "", error=r.error,
                tags=tags.get(rid, {}), params=params.get(rid, {}),
                metrics=metrics.get(rid, {}), lifecycle=Lifecycle(r.lifecycle),
                deleted_at=from_ms(r.deleted_at), heartbeat_at=from_ms(r.heartbeat_at),
                created_by=r.created_by,
            )
        return out

    def get_run(self, run_id: str) -> Run:
        found = self._read(lambda c: self._load_runs(c, [run_id]))
        if run_id not in found:
            msg = f"No run with id {run_id!r}."
            raise RunNotFoundError(msg, hint="list runs with `shipyard runs list`")
        return found[run_id]

    def get_runs(self, run_ids: Sequence[str]) -> list[Run]:
        found = self._read(lambda c: self._load_runs(c, run_ids))
        return [found[i] for i in run_ids if i in found]

    @staticmethod
    def _require_run(conn: Connection, run_id: str, *, writable: bool = False) -> None:
        row = conn.execute(select(s.runs.c.lifecycle).where(s.runs.c.id == run_id)).first()
        if row is None:
            msg = f"No run with id {run_id!r}."
            raise RunNotFoundError(msg, hint="list runs with `shipyard runs list`")
        if writable and row.lifecycle == "deleted":
            msg = f"Run {run_id!r} is deleted; nothing can be logged to it."
            raise ConflictError(msg, hint=f"restore it with `shipyard runs restore {run_id}`")

    def update_run(
        self, run_id: str, *, status: RunStatus | object = UNSET,
        end_time: datetime | object | None = UNSET, name: str | object = UNSET,
        description: str | object = UNSET, error: str | object | None = UNSET,
    ) -> Run:
        values: dict[str, Any] = {}
        if status is not UNSET:
            values["status"] = RunStatus(status).value  # type: ignore[arg-type]
        if end_time is not UNSET:
            values["end_time"] = None if end_time is None else to_ms(end_time)  # type: ignore[arg-type]
        if name is not UNSET:
            values["name"] = name
        if description is not UNSET:
            values["description"] = description
        if error is not UNSET:
            values["error"] = error

        def txn(conn: Connection) -> None:
            self._require_run(conn, run_id)
            if values:
                conn.execute(update(s.runs).where(s.runs.c.id == run_id).values(**values))

        self._write(txn)
        return self.get_run(run_id)

    def heartbeat(self, run_ids: Sequence[str], at: datetime) -> None:
        if run_ids:
            self._write(lambda c: c.execute(update(s.runs).where(
                s.runs.c.id.in_(list(run_ids))).values(heartbeat_at=to_ms(at))))

    def log_batch(
        self, run_id: str, *, metrics: Sequence[Metric] = (),
        params: dict[str, ParamValue] | None = None, tags: dict[str, str] | None = None,
        batch_id: str | None = None,
    ) -> bool:
        stamps: dict[datetime, int] = {}  # points of one batch often share a timestamp
        for ts in {m.timestamp for m in metrics}:
            stamps[ts] = to_ms(ts)
        # NaN is stored as NULL (v == v is False only for NaN); one comprehension, no calls
        metric_rows: list[MetricRow] = [
            (run_id, m.key, m.step, stamps[m.timestamp], v if (v := m.value) == v else None)
            for m in metrics]
        return self._write(lambda c: self._log_batch_txn(
            c, run_id, metric_rows, params or {}, tags or {}, batch_id))

    def _log_batch_txn(
        self, conn: Connection, run_id: str, metric_rows: list[MetricRow],
        params: dict[str, ParamValue], tags: dict[str, str], batch_id: str | None,
    ) -> bool:
        self._require_run(conn, run_id, writable=True)
        if batch_id is not None:
            res = conn.execute(self._insert_ignore(s.metric_batches).values(
                batch_id=batch_id, run_id=run_id).returning(s.metric_batches.c.batch_id))
            if res.first() is None:
                return False
        if params:
            self._insert_params(conn, run_id, params)
        if tags:
            ins = self.dialect_insert(s.tags)
            conn.execute(ins.on_conflict_do_update(
                index_elements=["run_id", "key"], set_={"value": ins.excluded.value}),
                [{"run_id": run_id, "key": k, "value": v} for k, v in sorted(tags.items())])
        if metric_rows:
            self._insert_metrics(conn, metric_rows)
            self._upsert_latest(conn, metric_rows)
        return True

    def _insert_metrics(self, conn: Connection, rows: list[MetricRow]) -> None:
        """Bulk insert of points; dialects may override with a faster driver path."""
        cols = ("run_id", "key", "step", "timestamp", "value")
        conn.execute(s.metrics.insert(), [dict(zip(cols, r, strict=True)) for r in rows])

    def _insert_params(self, conn: Connection, run_id: str, params: dict[str, ParamValue]) -> None:
        rows: list[dict[str, Any]] = []
        for key, value in sorted(params.items()):
            encoded, str_value, num_value = _param_columns(value)
            rows.append({"run_id": run_id, "key": key, "value": encoded,
                         "str_value": str_value, "num_value": num_value})
        inserted = {r[0] for r in conn.execute(  # executemany form: the statement caches
            self._insert_ignore(s.params).returning(s.params.c.key), rows)}
        existing = [row for row in rows if row["key"] not in inserted]
        if not existing:
            return
        stored = dict(conn.execute(select(s.params.c.key, s.params.c.value).where(
            s.params.c.run_id == run_id,
            s.params.c.key.in_([row["key"] for row in existing]))).all())
        for row in existing:
            if stored.get(row["key"]) != row["value"]:
                key = row["key"]
                msg = (f"Param {key!r} of run {run_id!r} is already {json.loads(stored[key])!r}; "
                       f"params are immutable, so {params[key]!r} was not logged.")
                raise ParamConflictError(
                    msg, hint="log the new value under another key, or start a new run")

    def _upsert_latest(self, conn: Connection, metric_rows: list[MetricRow]) -> None:
        latest = latest_rows(metric_rows)
        ins = self.dialect_insert(s.latest_metrics)
        lm = s.latest_metrics.c
        stmt = ins.on_conflict_do_update(
            index_elements=["run_id", "key"],
            set_={"step": ins.excluded.step, "timestamp": ins.excluded.timestamp,
                  "value": ins.excluded.value},
            where=or_(ins.excluded.step > lm.step,
                      and_(ins.excluded.step == lm.step, ins.excluded.timestamp >= lm.timestamp)),
        )
        conn.execute(stmt, [
            {"run_id": r[0], "key": r[1], "step": r[2], "timestamp": r[3], "value": r[4]}
            for r in latest])

    def delete_tag(self, run_id: str, key: str) -> None:
        def txn(conn: Connection) -> None:
            self._require_run(conn, run_id, writable=True)
            conn.execute(delete(s.tags).where(s.tags.c.run_id == run_id, s.tags.c.key == key))

        self._write(txn)

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        def read(conn: Connection) -> list[Metric]:
            self._require_run(conn, run_id)
            m = s.metrics.c
            rows = conn.execute(select(m.step, m.timestamp, m.value).where(
                m.run_id == run_id, m.key == key).order_by(m.step, m.timestamp)).all()
            return [Metric(key=key, step=r.step, timestamp=from_ms(r.timestamp),  # type: ignore[arg-type]
                           value=math.nan if r.value is None else r.value) for r in rows]

        return self._read(read)

    def list_metric_keys(self, run_id: str) -> list[str]:
        """Keys of every metric series of a run (sorted)."""
        return sorted(self.get_run(run_id).metrics)

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput]) -> None:
        def txn(conn: Connection) -> None:
            self._require_run(conn, run_id, writable=True)
            seq = conn.execute(select(func.count()).select_from(s.datasets).where(
                s.datasets.c.run_id == run_id)).scalar_one()
            for i, d in enumerate(datasets):
                conn.execute(self._insert_ignore(s.datasets).values(
                    run_id=run_id, seq=seq + i, name=d.name, digest=d.digest,
                    context=d.context or "", source=d.source, schema=json.dumps(d.schema),
                    num_rows=d.num_rows))

        self._write(txn)

    def list_inputs(self, run_id: str) -> list[DatasetInput]:
        rows = self._read(lambda c: c.execute(select(s.datasets).where(
            s.datasets.c.run_id == run_id).order_by(s.datasets.c.seq)).all())
        return [DatasetInput(name=r.name, digest=r.digest, context=r.context or None,
                             source=r.source, schema=json.loads(r.schema), num_rows=r.num_rows)
                for r in rows]

    def record_artifact(self, run_id: str, info: ArtifactInfo) -> None:
        self.record_artifacts(run_id, [info])

    def record_artifacts(self, run_id: str, infos: Sequence[ArtifactInfo]) -> None:
        if not infos:
            return

        def txn(conn: Connection) -> None:
            self._require_run(conn, run_id, writable=True)
            ins = self.dialect_insert(s.artifacts)
            conn.execute(ins.on_conflict_do_update(
                index_elements=["run_id", "path"],
                set_={"size": ins.excluded.size, "sha256": ins.excluded.sha256,
                      "created_at": ins.excluded.created_at},
            ), [{"run_id": run_id, "path": i.path, "size": i.size, "sha256": i.sha256,
                 "created_at": to_ms(i.created_at)} for i in infos])

        self._write(txn)

    def list_artifacts(self, run_id: str, prefix: str = "") -> list[ArtifactInfo]:
        a = s.artifacts.c
        q = select(s.artifacts).where(a.run_id == run_id).order_by(a.path)
        if prefix:
            q = q.where(a.path.startswith(prefix, autoescape=True))
        rows = self._read(lambda c: c.execute(q).all())
        return [ArtifactInfo(path=r.path, size=r.size, sha256=r.sha256,
                             created_at=from_ms(r.created_at)) for r in rows]  # type: ignore[arg-type]

    def search_runs(
        self, experiment_ids: Sequence[str], *, filter: Expr | None = None,
        order_by: Sequence[OrderBy] = (), max_results: int = 100, offset: int = 0,
        include_deleted: bool = False, deleted_only: bool = False,
    ) -> list[Run]:
        args: _SearchScope = {"include_deleted": include_deleted, "deleted_only": deleted_only,
                              "dialect_name": self.engine.dialect.name}
        exps, orders = list(experiment_ids), list(order_by)

        def page_ids(conn: Connection) -> list[str]:
            if not (orders and orders[0].field.entity == "metric" and self.split_metric_order):
                q = compile_search(exps, filter, orders, max_results=max_results,
                                   offset=offset, **args)
                return [r[0] for r in conn.execute(q)]
            # Runs with a value for the first sort metric come first and can be read in index
            # order; runs without it follow (see compile_search's ``part``).
            head = compile_search(exps, filter, orders, max_results=max_results,
                                  offset=offset, part="head", **args)
            ids = [r[0] for r in conn.execute(head)]
            if len(ids) >= max_results:
                return ids
            if ids:
                head_total = offset + len(ids)
            else:
                everything = compile_search(exps, filter, orders, max_results=None,
                                            part="head", **args)
                head_total = conn.execute(
                    select(func.count()).select_from(everything.subquery())).scalar_one()
            tail = compile_search(exps, filter, orders, max_results=max_results - len(ids),
                                  offset=max(0, offset - head_total), part="tail", **args)
            return ids + [r[0] for r in conn.execute(tail)]

        def read(conn: Connection) -> list[Run]:
            ids = page_ids(conn)
            found = self._load_runs(conn, ids)
            return [found[i] for i in ids if i in found]

        return self._read(read)

    def list_run_keys(self, experiment_ids: Sequence[str]) -> dict[str, list[str]]:
        return self._read(lambda conn: run_keys(conn, experiment_ids))  # type: ignore[no-any-return]

    def set_runs_deleted(self, run_ids: Sequence[str], *, deleted: bool, at: datetime) -> None:
        ids = list(dict.fromkeys(run_ids))

        def txn(conn: Connection) -> None:
            known = {r[0] for r in conn.execute(select(s.runs.c.id).where(s.runs.c.id.in_(ids)))}
            missing = [i for i in ids if i not in known]
            if missing:
                msg = f"No run with id {missing[0]!r}."
                raise RunNotFoundError(msg)
            conn.execute(update(s.runs).where(s.runs.c.id.in_(ids)).values(
                lifecycle="deleted" if deleted else "active",
                deleted_at=to_ms(at) if deleted else None))

        self._write(txn)

    def list_deleted_runs(self, *, deleted_before: datetime | None = None) -> list[Run]:
        q = select(s.runs.c.id).where(s.runs.c.lifecycle == "deleted")
        if deleted_before is not None:
            q = q.where(s.runs.c.deleted_at < to_ms(deleted_before))
        ids = [r[0] for r in self._read(lambda c: c.execute(q).all())]
        return self.get_runs(ids)

    def purge_runs(self, run_ids: Sequence[str]) -> None:
        ids = list(run_ids)

        def txn(conn: Connection) -> None:
            for chunk in _chunks(ids):
                for table in (s.metrics, s.latest_metrics, s.params, s.tags, s.datasets,
                              s.artifacts, s.metric_batches):
                    conn.execute(delete(table).where(table.c.run_id.in_(chunk)))
                conn.execute(delete(s.runs).where(s.runs.c.id.in_(chunk)))

        self._write(txn)

    def find_stale_runs(self, *, heartbeat_before: datetime) -> list[Run]:
        q = select(s.runs.c.id).where(
            s.runs.c.status == "running",
            func.coalesce(s.runs.c.heartbeat_at, s.runs.c.start_time) < to_ms(heartbeat_before),
        )
        ids = [r[0] for r in self._read(lambda c: c.execute(q).all())]
        return self.get_runs(ids)
