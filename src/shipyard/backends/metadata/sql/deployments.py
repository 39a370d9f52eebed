"""The deployment port on the shared SQL schema (mixed into `SqlMetadataStore`): the
``deployments`` table and each deployment's heartbeat history in ``deployment_samples``."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, delete, func, literal_column, select, update

from shipyard.backends.metadata.sql import schema as s
from shipyard.entities._ids import from_ms, to_ms
from shipyard.entities.serving import DeployedModel, Deployment, DeploymentSample
from shipyard.errors import AlreadyExistsError, DeploymentNotFoundError
from shipyard.stores.serving import DeploymentStore

dc = s.deployments.c
sc = s.deployment_samples.c


def _missing(deployment_id: str) -> DeploymentNotFoundError:
    msg = f"No deployment with id {deployment_id!r}."
    return DeploymentNotFoundError(msg)


def _models_json(models: Sequence[DeployedModel]) -> str:
    return json.dumps([{"name": m.name, "version": m.version, "uri": m.uri} for m in models])


def _opt(value: Any) -> float | None:
    return None if value is None else float(value)


def _sample(row: Any) -> DeploymentSample:
    return DeploymentSample(
        at=from_ms(int(row.at)), seconds=float(row.seconds),  # type: ignore[arg-type]
        requests=int(row.requests), errors=int(row.errors), p50_ms=_opt(row.p50_ms),
        p95_ms=_opt(row.p95_ms), p99_ms=_opt(row.p99_ms))


def _merged(conds: list[Any], lo: int, hi: int, max_points: int) -> Any:
    """Samples merged into ``max_points`` equal time buckets (see the port's docstring), in
    SQL. The integers are inlined so that ``/`` is integer division on both databases."""
    bucket = ((sc.at - literal_column(str(int(lo)))) * literal_column(str(int(max_points)))
              ).op("/")(literal_column(str(int(hi) - int(lo) + 1)))

    def pct(col: Any) -> Any:
        weight = func.sum(case((col.is_not(None), sc.requests), else_=0))
        return func.coalesce(func.sum(col * sc.requests) / func.nullif(weight, 0),
                             func.avg(col)).label(col.name)

    at = func.max(sc.at)
    return (select(at.label("at"), func.sum(sc.seconds).label("seconds"),
                   func.sum(sc.requests).label("requests"), func.sum(sc.errors).label("errors"),
                   pct(sc.p50_ms), pct(sc.p95_ms), pct(sc.p99_ms))
            .where(*conds).group_by(bucket).order_by(at))


def _deployment(row: Any) -> Deployment:
    return Deployment(
        id=row.id, url=row.url, host=row.host, pid=row.pid,
        models=tuple(DeployedModel(name=m["name"], version=m.get("version"), uri=m["uri"])
                     for m in json.loads(row.models or "[]")),
        started_at=from_ms(row.started_at), heartbeat_at=from_ms(row.heartbeat_at),  # type: ignore[arg-type]
        stopped_at=from_ms(row.stopped_at), stats=json.loads(row.stats or "{}"),
    )


class SqlDeploymentMixin(DeploymentStore):
    """`DeploymentStore` for `SqlMetadataStore` (which provides the plumbing)."""

    _write: Callable[..., Any]
    _read: Callable[..., Any]
    dialect_insert: Callable[..., Any]

    def create_deployment(self, deployment: Deployment) -> Deployment:
        def txn(conn: Connection) -> None:
            res = conn.execute(self.dialect_insert(s.deployments).values(
                id=deployment.id, url=deployment.url, models=_models_json(deployment.models),
                host=deployment.host, pid=deployment.pid,
                started_at=to_ms(deployment.started_at),
                heartbeat_at=to_ms(deployment.heartbeat_at),
                stopped_at=None if deployment.stopped_at is None else to_ms(
                    deployment.stopped_at),
                stats=json.dumps(dict(deployment.stats)),
            ).on_conflict_do_nothing().returning(dc.id))
            if res.first() is None:
                msg = f"A deployment with id {deployment.id!r} already exists."
                raise AlreadyExistsError(msg, hint="use a new id for every server start")

        self._write(txn)
        return self.get_deployment(deployment.id)

    def get_deployment(self, deployment_id: str) -> Deployment:
        row = self._read(lambda c: c.execute(
            select(s.deployments).where(dc.id == deployment_id)).first())
        if row is None:
            raise _missing(deployment_id)
        return _deployment(row)

    def heartbeat_deployment(
        self, deployment_id: str, *, at: datetime,
        models: Sequence[DeployedModel] | None = None, stats: Mapping[str, Any] | None = None,
        sample: DeploymentSample | None = None, keep_since: datetime | None = None,
    ) -> None:
        values: dict[str, Any] = {"heartbeat_at": to_ms(at)}
        if models is not None:
            values["models"] = _models_json(models)
        if stats is not None:
            values["stats"] = json.dumps(dict(stats))

        def txn(conn: Connection) -> None:
            res = conn.execute(update(s.deployments).where(dc.id == deployment_id)
                               .values(**values))
            if res.rowcount == 0:
                raise _missing(deployment_id)
            if sample is not None:
                conn.execute(self.dialect_insert(s.deployment_samples).values(
                    deployment_id=deployment_id, at=to_ms(sample.at),
                    seconds=float(sample.seconds), requests=int(sample.requests),
                    errors=int(sample.errors), p50_ms=sample.p50_ms, p95_ms=sample.p95_ms,
                    p99_ms=sample.p99_ms,
                ).on_conflict_do_nothing())
            if keep_since is not None:
                conn.execute(delete(s.deployment_samples).where(sc.at < to_ms(keep_since)))

        self._write(txn)

    def deployment_history(
        self, deployment_id: str, *, since: datetime | None = None,
        until: datetime | None = None, max_points: int | None = None,
    ) -> list[DeploymentSample]:
        conds = [sc.deployment_id == deployment_id]
        if since is not None:
            conds.append(sc.at >= to_ms(since))
        if until is not None:
            conds.append(sc.at <= to_ms(until))

        def read(conn: Connection) -> list[Any] | None:
            if max_points:
                lo, hi, n = conn.execute(select(func.min(sc.at), func.max(sc.at),
                                                func.count()).where(*conds)).one()
                if n > max_points:
                    return list(conn.execute(_merged(conds, lo, hi, max_points)).all())
            rows = list(conn.execute(select(s.deployment_samples).where(*conds)
                                     .order_by(sc.at)).all())
            # samples exist only for a known deployment: look it up only when there are none
            if not rows and conn.execute(select(dc.id).where(dc.id == deployment_id)
                                         ).first() is None:
                return None
            return rows

        rows = self._read(read)
        if rows is None:
            raise _missing(deployment_id)
        return [_sample(r) for r in rows]

    def stop_deployment(self, deployment_id: str, *, at: datetime) -> None:
        self._write(lambda c: c.execute(
            update(s.deployments).where(dc.id == deployment_id, dc.stopped_at.is_(None))
            .values(stopped_at=to_ms(at))))

    def list_deployments(self, *, include_stopped: bool = False) -> list[Deployment]:
        q = select(s.deployments).order_by(dc.started_at.desc(), dc.id)
        if not include_stopped:
            q = q.where(dc.stopped_at.is_(None))
        return [_deployment(r) for r in self._read(lambda c: c.execute(q).all())]

    def delete_deployments(self, *, stopped_before: datetime) -> int:
        def txn(conn: Connection) -> int:
            gone = (dc.stopped_at.is_not(None), dc.stopped_at < to_ms(stopped_before))
            conn.execute(delete(s.deployment_samples).where(
                sc.deployment_id.in_(select(dc.id).where(*gone))))
            res = conn.execute(delete(s.deployments).where(*gone))
            return int(res.rowcount or 0)

        return self._write(txn)  # type: ignore[no-any-return]
