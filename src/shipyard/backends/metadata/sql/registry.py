"""The registry and audit ports on the shared SQL schema (mixed into `SqlMetadataStore`).

Alias moves are compare-and-swap on ``model_aliases.revision``; every write first touches the
model's row (``updated_at``), which on PostgreSQL takes a row lock, so version numbers and
alias moves of one model are serialized. A version's lineage is kept in its ``tags`` JSON under
the key ``#lineage`` (a key user tags can never have), so no migration was needed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, delete, func, select, update

from shipyard.backends.metadata.sql import schema as s
from shipyard.entities._ids import from_ms, to_ms, utc_now
from shipyard.entities.registry import (
    AuditEvent,
    Lineage,
    ModelAlias,
    ModelVersion,
    RegisteredModel,
    VersionStatus,
)
from shipyard.entities.tracking import DatasetInput
from shipyard.errors import (
    AliasConflictError,
    AliasNotFoundError,
    ModelAlreadyExistsError,
    ModelNotFoundError,
    ModelVersionNotFoundError,
)
from shipyard.stores.metadata import UNSET
from shipyard.stores.registry import AuditStore, ModelStore

T = TypeVar("T")
LINEAGE_KEY = "#lineage"
rm, mv, ma, ae = (s.registered_models.c, s.model_versions.c, s.model_aliases.c,
                  s.audit_events.c)


def _lineage_to_json(lineage: Lineage) -> dict[str, Any]:
    return {
        "run_id": lineage.run_id, "experiment_id": lineage.experiment_id,
        "git_commit": lineage.git_commit, "git_dirty": lineage.git_dirty,
        "source": lineage.source,
        "datasets": [{"name": d.name, "digest": d.digest, "source": d.source,
                      "schema": d.schema, "num_rows": d.num_rows, "context": d.context}
                     for d in lineage.datasets],
    }


def _lineage_from_json(data: Mapping[str, Any] | None) -> Lineage:
    if not data:
        return Lineage()
    return Lineage(
        run_id=data.get("run_id"), experiment_id=data.get("experiment_id"),
        git_commit=data.get("git_commit"), git_dirty=data.get("git_dirty"),
        source=data.get("source"),
        datasets=tuple(DatasetInput(**d) for d in data.get("datasets", [])),
    )


def _model_missing(name: str) -> ModelNotFoundError:
    msg = f"No registered model named {name!r}."
    return ModelNotFoundError(msg)


def _version_missing(name: str, version: int) -> ModelVersionNotFoundError:
    msg = f"Model {name!r} has no version {version!r}."
    return ModelVersionNotFoundError(msg, hint=f"list them with `shipyard models versions {name}`")


class SqlRegistryMixin(ModelStore, AuditStore):
    """`ModelStore` and `AuditStore` for `SqlMetadataStore` (which provides the plumbing)."""

    _write: Callable[..., Any]
    _read: Callable[..., Any]
    dialect_insert: Callable[..., Any]

    # -- helpers ----------------------------------------------------------------------
    @staticmethod
    def _touch_model(conn: Connection, name: str) -> None:
        """Bump ``updated_at`` (and lock the row on PostgreSQL); raise if the model is gone."""
        res = conn.execute(update(s.registered_models).where(rm.name == name)
                           .values(updated_at=to_ms(utc_now())))
        if res.rowcount == 0:
            raise _model_missing(name)

    @staticmethod
    def _require_model(conn: Connection, name: str) -> None:
        if conn.execute(select(rm.name).where(rm.name == name)).first() is None:
            raise _model_missing(name)

    @staticmethod
    def _model(conn: Connection, row: Any) -> RegisteredModel:
        aliases = dict(conn.execute(select(ma.alias, ma.version).where(ma.name == row.name)
                                    .order_by(ma.alias)).all())
        latest = conn.execute(select(func.max(mv.version)).where(
            mv.name == row.name, mv.status == VersionStatus.READY.value)).scalar_one()
        return RegisteredModel(
            name=row.name, description=row.description or "", tags=json.loads(row.tags or "{}"),
            created_at=from_ms(row.created_at), updated_at=from_ms(row.updated_at),  # type: ignore[arg-type]
            created_by=row.created_by, aliases=aliases, latest_version=latest,
        )

    @staticmethod
    def _version(row: Any, aliases: Sequence[str]) -> ModelVersion:
        tags = json.loads(row.tags or "{}")
        lineage = _lineage_from_json(tags.pop(LINEAGE_KEY, None))
        return ModelVersion(
            name=row.name, version=row.version, run_id=row.run_id,
            artifact_path=row.artifact_path, flavor=row.flavor,
            signature=json.loads(row.signature or "{}"), metrics=json.loads(row.metrics or "{}"),
            tags=tags, description=row.description or "", status=VersionStatus(row.status),
            lineage=lineage, created_at=from_ms(row.created_at),  # type: ignore[arg-type]
            created_by=row.created_by, deleted_at=from_ms(row.deleted_at),
            aliases=tuple(aliases),
        )

    def _load_version(self, conn: Connection, name: str, version: int) -> ModelVersion:
        row = conn.execute(select(s.model_versions).where(
            mv.name == name, mv.version == version)).first()
        if row is None:
            self._require_model(conn, name)
            raise _version_missing(name, version)
        aliases = [r[0] for r in conn.execute(select(ma.alias).where(
            ma.name == name, ma.version == version).order_by(ma.alias))]
        return self._version(row, aliases)

    @staticmethod
    def _alias(row: Any) -> ModelAlias:
        return ModelAlias(name=row.name, alias=row.alias, version=row.version,
                          revision=row.revision, updated_at=from_ms(row.updated_at),  # type: ignore[arg-type]
                          updated_by=row.updated_by)

    @staticmethod
    def _merge_tags(current: str | None, set_tags: Mapping[str, str] | None,
                    delete_tags: Sequence[str]) -> str:
        tags = json.loads(current or "{}")
        tags.update(set_tags or {})
        for key in delete_tags:
            tags.pop(key, None)
        return json.dumps(tags)

    # -- registered models ------------------------------------------------------------
    def create_registered_model(
        self, name: str, *, description: str = "", tags: Mapping[str, str] | None = None,
        created_by: str | None = None,
    ) -> RegisteredModel:
        def txn(conn: Connection) -> RegisteredModel:
            now = to_ms(utc_now())
            res = conn.execute(self.dialect_insert(s.registered_models).values(
                name=name, description=description, tags=json.dumps(dict(tags or {})),
                created_at=now, updated_at=now, created_by=created_by,
            ).on_conflict_do_nothing().returning(rm.name))
            if res.first() is None:
                msg = f"A registered model named {name!r} already exists."
                raise ModelAlreadyExistsError(
                    msg, hint="register a new version of it instead, or pick another name")
            row = conn.execute(select(s.registered_models).where(rm.name == name)).one()
            return self._model(conn, row)

        return self._write(txn)  # type: ignore[no-any-return]

    def get_registered_model(self, name: str) -> RegisteredModel:
        def read(conn: Connection) -> RegisteredModel:
            row = conn.execute(select(s.registered_models).where(rm.name == name)).first()
            if row is None:
                raise _model_missing(name)
            return self._model(conn, row)

        return self._read(read)  # type: ignore[no-any-return]

    def list_registered_models(self, *, max_results: int = 100,
                               offset: int = 0) -> list[RegisteredModel]:
        def read(conn: Connection) -> list[RegisteredModel]:
            rows = conn.execute(select(s.registered_models).order_by(rm.name)
                                .limit(max_results).offset(offset)).all()
            return [self._model(conn, r) for r in rows]

        return self._read(read)  # type: ignore[no-any-return]

    def update_registered_model(
        self, name: str, *, description: str | object = UNSET,
        set_tags: Mapping[str, str] | None = None, delete_tags: Sequence[str] = (),
    ) -> RegisteredModel:
        def txn(conn: Connection) -> RegisteredModel:
            self._touch_model(conn, name)
            row = conn.execute(select(s.registered_models).where(rm.name == name)).one()
            values: dict[str, Any] = {"tags": self._merge_tags(row.tags, set_tags, delete_tags)}
            if description is not UNSET:
                values["description"] = description
            conn.execute(update(s.registered_models).where(rm.name == name).values(**values))
            row = conn.execute(select(s.registered_models).where(rm.name == name)).one()
            return self._model(conn, row)

        return self._write(txn)  # type: ignore[no-any-return]

    def delete_registered_model(self, name: str) -> None:
        def txn(conn: Connection) -> None:
            for table in (s.model_aliases, s.model_versions, s.registered_models):
                conn.execute(delete(table).where(table.c.name == name))

        self._write(txn)

    # -- versions ---------------------------------------------------------------------
    def create_model_version(
        self, name: str, *, run_id: str | None, artifact_path: str, flavor: str,
        signature: Mapping[str, Any] | None = None, metrics: Mapping[str, float] | None = None,
        tags: Mapping[str, str] | None = None, description: str = "",
        lineage: Lineage | None = None, created_by: str | None = None,
    ) -> ModelVersion:
        stored_tags: dict[str, Any] = dict(tags or {})
        if lineage is not None:
            stored_tags[LINEAGE_KEY] = _lineage_to_json(lineage)

        def txn(conn: Connection) -> ModelVersion:
            self._touch_model(conn, name)
            top = conn.execute(select(func.max(mv.version)).where(mv.name == name)).scalar_one()
            number = (top or 0) + 1
            conn.execute(s.model_versions.insert().values(
                name=name, version=number, run_id=run_id, artifact_path=artifact_path,
                flavor=flavor, signature=json.dumps(dict(signature or {})),
                metrics=json.dumps(dict(metrics or {})), tags=json.dumps(stored_tags),
                description=description, status=VersionStatus.READY.value,
                created_at=to_ms(utc_now()), created_by=created_by,
            ))
            return self._load_version(conn, name, number)

        return self._write(txn)  # type: ignore[no-any-return]

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        return self._read(lambda c: self._load_version(c, name, version))  # type: ignore[no-any-return]

    def list_model_versions(self, name: str, *,
                            include_deleted: bool = False) -> list[ModelVersion]:
        def read(conn: Connection) -> list[ModelVersion]:
            self._require_model(conn, name)
            q = select(s.model_versions).where(mv.name == name).order_by(mv.version)
            if not include_deleted:
                q = q.where(mv.status == VersionStatus.READY.value)
            aliases: dict[int, list[str]] = {}
            for alias, version in conn.execute(select(ma.alias, ma.version).where(
                    ma.name == name).order_by(ma.alias)):
                aliases.setdefault(version, []).append(alias)
            return [self._version(r, aliases.get(r.version, [])) for r in conn.execute(q)]

        return self._read(read)  # type: ignore[no-any-return]

    def update_model_version(
        self, name: str, version: int, *, description: str | object = UNSET,
        set_tags: Mapping[str, str] | None = None, delete_tags: Sequence[str] = (),
    ) -> ModelVersion:
        def txn(conn: Connection) -> ModelVersion:
            self._touch_model(conn, name)
            current = conn.execute(select(mv.tags).where(
                mv.name == name, mv.version == version)).first()
            if current is None:
                raise _version_missing(name, version)
            values: dict[str, Any] = {
                "tags": self._merge_tags(current.tags, set_tags,
                                         [k for k in delete_tags if k != LINEAGE_KEY])}
            if description is not UNSET:
                values["description"] = description
            conn.execute(update(s.model_versions).where(
                mv.name == name, mv.version == version).values(**values))
            return self._load_version(conn, name, version)

        return self._write(txn)  # type: ignore[no-any-return]

    def set_model_version_deleted(self, name: str, version: int, *,
                                  at: datetime) -> ModelVersion:
        def txn(conn: Connection) -> ModelVersion:
            self._touch_model(conn, name)
            res = conn.execute(update(s.model_versions).where(
                mv.name == name, mv.version == version,
                mv.status == VersionStatus.READY.value,
            ).values(status=VersionStatus.DELETED.value, deleted_at=to_ms(at)))
            if res.rowcount == 0:
                self._load_version(conn, name, version)  # raises when missing
            conn.execute(delete(s.model_aliases).where(ma.name == name, ma.version == version))
            return self._load_version(conn, name, version)

        return self._write(txn)  # type: ignore[no-any-return]

    def purge_model_version(self, name: str, version: int) -> None:
        def txn(conn: Connection) -> None:
            conn.execute(delete(s.model_aliases).where(ma.name == name, ma.version == version))
            conn.execute(delete(s.model_versions).where(mv.name == name, mv.version == version))

        self._write(txn)

    # -- aliases ----------------------------------------------------------------------
    def get_alias(self, name: str, alias: str) -> ModelAlias:
        def read(conn: Connection) -> ModelAlias:
            row = conn.execute(select(s.model_aliases).where(
                ma.name == name, ma.alias == alias)).first()
            if row is None:
                self._require_model(conn, name)
                msg = f"Model {name!r} has no alias {alias!r}."
                raise AliasNotFoundError(msg)
            return self._alias(row)

        return self._read(read)  # type: ignore[no-any-return]

    def list_aliases(self, name: str) -> list[ModelAlias]:
        def read(conn: Connection) -> list[ModelAlias]:
            self._require_model(conn, name)
            rows = conn.execute(select(s.model_aliases).where(ma.name == name)
                                .order_by(ma.alias)).all()
            return [self._alias(r) for r in rows]

        return self._read(read)  # type: ignore[no-any-return]

    @staticmethod
    def _conflict(conn: Connection, name: str, alias: str,
                  expected: int | None) -> AliasConflictError:
        row = conn.execute(select(ma.version, ma.revision).where(
            ma.name == name, ma.alias == alias)).first()
        now = ("does not exist" if row is None
               else f"points at version {row.version} (revision {row.revision})")
        want = "not to exist yet" if expected is None else f"to be at revision {expected}"
        msg = (f"Alias {alias!r} of model {name!r} was moved by someone else: expected it "
               f"{want}, but it now {now}.")
        return AliasConflictError(msg)

    def set_alias(
        self, name: str, alias: str, version: int, *,
        expected_revision: int | object | None = UNSET, updated_by: str | None = None,
    ) -> ModelAlias:
        def txn(conn: Connection) -> ModelAlias:
            self._touch_model(conn, name)
            status = conn.execute(select(mv.status).where(
                mv.name == name, mv.version == version)).scalar_one_or_none()
            if status != VersionStatus.READY.value:
                raise _version_missing(name, version)
            now = to_ms(utc_now())
            row = {"name": name, "alias": alias, "version": version, "revision": 1,
                   "updated_at": now, "updated_by": updated_by}
            if expected_revision is UNSET:
                ins = self.dialect_insert(s.model_aliases).values(**row)
                conn.execute(ins.on_conflict_do_update(
                    index_elements=["name", "alias"],
                    set_={"version": version, "revision": ma.revision + 1,
                          "updated_at": now, "updated_by": updated_by}))
            elif expected_revision is None:
                res = conn.execute(self.dialect_insert(s.model_aliases).values(**row)
                                   .on_conflict_do_nothing().returning(ma.alias))
                if res.first() is None:
                    raise self._conflict(conn, name, alias, None)
            else:
                res = conn.execute(update(s.model_aliases).where(
                    ma.name == name, ma.alias == alias, ma.revision == expected_revision,
                ).values(version=version, revision=ma.revision + 1, updated_at=now,
                         updated_by=updated_by))
                if res.rowcount == 0:
                    raise self._conflict(conn, name, alias, expected_revision)  # type: ignore[arg-type]
            return self._alias(conn.execute(select(s.model_aliases).where(
                ma.name == name, ma.alias == alias)).one())

        return self._write(txn)  # type: ignore[no-any-return]

    def delete_alias(self, name: str, alias: str, *,
                     expected_revision: int | object | None = UNSET) -> None:
        def txn(conn: Connection) -> None:
            q = delete(s.model_aliases).where(ma.name == name, ma.alias == alias)
            if expected_revision is not UNSET and expected_revision is not None:
                q = q.where(ma.revision == expected_revision)
            res = conn.execute(q)
            if res.rowcount == 0 and expected_revision is not UNSET:
                raise self._conflict(conn, name, alias, expected_revision)  # type: ignore[arg-type]
            if res.rowcount:
                conn.execute(update(s.registered_models).where(rm.name == name)
                             .values(updated_at=to_ms(utc_now())))

        self._write(txn)

    # -- audit ------------------------------------------------------------------------
    def record_audit_event(
        self, *, action: str, target_type: str, target_id: str, actor: str | None = None,
        detail: Mapping[str, Any] | None = None, at: datetime | None = None,
    ) -> AuditEvent:
        when = at or utc_now()
        body = dict(detail or {})

        def txn(conn: Connection) -> int:
            res = conn.execute(s.audit_events.insert().values(
                at=to_ms(when), actor=actor, action=action, target_type=target_type,
                target_id=target_id, detail=json.dumps(body, default=str),
            ).returning(ae.id))
            return int(res.scalar_one())

        event_id = self._write(txn)
        return AuditEvent(id=event_id, at=from_ms(to_ms(when)), actor=actor, action=action,  # type: ignore[arg-type]
                          target_type=target_type, target_id=target_id, detail=body)

    def list_audit_events(self, target_type: str, target_id: str | None = None, *,
                          max_results: int = 1000) -> list[AuditEvent]:
        q = select(s.audit_events).where(ae.target_type == target_type)
        if target_id is not None:
            q = q.where(ae.target_id == target_id)
        q = q.order_by(ae.id.desc()).limit(max_results)
        rows = self._read(lambda c: c.execute(q).all())
        return [AuditEvent(id=r.id, at=from_ms(r.at), actor=r.actor, action=r.action,  # type: ignore[arg-type]
                           target_type=r.target_type, target_id=r.target_id,
                           detail=json.loads(r.detail or "{}")) for r in reversed(rows)]
