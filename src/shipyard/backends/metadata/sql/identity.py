"""The identity port on the shared SQL schema (mixed into `SqlMetadataStore`).

Tables ``users``, ``api_tokens`` and ``experiment_permissions`` come from migration 0002.
Tokens are stored as SHA-256 hex digests only; the caller hashes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update
from sqlalchemy import exc as sa_exc

from shipyard.backends.metadata.sql import schema as s
from shipyard.entities._ids import from_ms, new_id, to_ms
from shipyard.entities.identity import ApiToken, ExperimentPermission, Permission, Role, User
from shipyard.errors import (
    BackendError,
    TokenNotFoundError,
    UserAlreadyExistsError,
    UserNotFoundError,
)
from shipyard.stores.identity import IdentityStore

u, t, ep = s.users.c, s.api_tokens.c, s.experiment_permissions.c


def _user(row: Any) -> User:
    return User(id=row.id, username=row.username, role=Role(row.role),
                created_at=from_ms(row.created_at), disabled=bool(row.disabled),  # type: ignore[arg-type]
                has_password=row.password_hash is not None)


def _token(row: Any) -> ApiToken:
    return ApiToken(id=row.id, user_id=row.user_id, username=row.username, name=row.name,
                    prefix=row.prefix, created_at=from_ms(row.created_at),  # type: ignore[arg-type]
                    last_used_at=from_ms(row.last_used_at), expires_at=from_ms(row.expires_at),
                    revoked_at=from_ms(row.revoked_at))


def _user_missing(user_id: str) -> UserNotFoundError:
    msg = f"No user with id {user_id!r}."
    return UserNotFoundError(msg)


_TOKENS = select(s.api_tokens, u.username).join(s.users, u.id == t.user_id)


class SqlIdentityMixin(IdentityStore):
    """`IdentityStore` for `SqlMetadataStore` (which provides the plumbing)."""

    _write: Callable[..., Any]
    _read: Callable[..., Any]

    # -- users ------------------------------------------------------------------------
    def create_user(self, username: str, *, role: Role, password_hash: str | None = None,
                    created_at: datetime) -> User:
        user_id = new_id()

        def txn(conn: Connection) -> None:
            if conn.execute(select(u.id).where(u.username == username)).first():
                msg = f"A user named {username!r} already exists."
                raise UserAlreadyExistsError(msg, hint="pick another name, or change its role")
            conn.execute(s.users.insert().values(
                id=user_id, username=username, password_hash=password_hash,
                role=Role(role).value, created_at=to_ms(created_at), disabled=False))

        try:
            self._write(txn)
        except BackendError as exc:
            if isinstance(exc.__cause__, sa_exc.IntegrityError):  # created concurrently
                msg = f"A user named {username!r} already exists."
                raise UserAlreadyExistsError(msg) from exc
            raise
        created = self.get_user(user_id)
        assert created is not None
        return created

    def get_user_by_name(self, username: str) -> User | None:
        row = self._read(lambda c: c.execute(select(s.users).where(u.username == username))
                         .first())
        return None if row is None else _user(row)

    def get_user(self, user_id: str) -> User | None:
        row = self._read(lambda c: c.execute(select(s.users).where(u.id == user_id)).first())
        return None if row is None else _user(row)

    def list_users(self) -> list[User]:
        rows = self._read(lambda c: c.execute(select(s.users).order_by(u.username)).all())
        return [_user(r) for r in rows]

    def get_password_hash(self, user_id: str) -> str | None:
        value = self._read(lambda c: c.execute(
            select(u.password_hash).where(u.id == user_id)).scalar_one_or_none())
        return None if value is None else str(value)

    def update_user(self, user_id: str, *, role: Role | None = None,
                    password_hash: str | None = None, disabled: bool | None = None) -> User:
        values: dict[str, Any] = {}
        if role is not None:
            values["role"] = Role(role).value
        if password_hash is not None:
            values["password_hash"] = password_hash
        if disabled is not None:
            values["disabled"] = disabled

        def txn(conn: Connection) -> None:
            if conn.execute(select(u.id).where(u.id == user_id)).first() is None:
                raise _user_missing(user_id)
            if values:
                conn.execute(update(s.users).where(u.id == user_id).values(**values))

        self._write(txn)
        found = self.get_user(user_id)
        if found is None:  # deleted between the two statements
            raise _user_missing(user_id)
        return found

    # -- tokens -----------------------------------------------------------------------
    def create_token(self, *, user_id: str, name: str, token_hash: str, prefix: str,
                     created_at: datetime, expires_at: datetime | None = None) -> ApiToken:
        token_id = new_id()

        def txn(conn: Connection) -> None:
            if conn.execute(select(u.id).where(u.id == user_id)).first() is None:
                raise _user_missing(user_id)
            conn.execute(s.api_tokens.insert().values(
                id=token_id, user_id=user_id, name=name, token_hash=token_hash, prefix=prefix,
                created_at=to_ms(created_at),
                expires_at=None if expires_at is None else to_ms(expires_at)))

        self._write(txn)
        row = self._read(lambda c: c.execute(_TOKENS.where(t.id == token_id)).first())
        return _token(row)

    def find_token_by_hash(self, token_hash: str) -> ApiToken | None:
        row = self._read(lambda c: c.execute(_TOKENS.where(t.token_hash == token_hash)).first())
        return None if row is None else _token(row)

    def list_tokens(self, *, user_id: str | None = None) -> list[ApiToken]:
        q = _TOKENS.order_by(t.created_at.desc(), t.id)
        if user_id is not None:
            q = q.where(t.user_id == user_id)
        return [_token(r) for r in self._read(lambda c: c.execute(q).all())]

    def revoke_token(self, token_id: str, *, at: datetime) -> ApiToken:
        def txn(conn: Connection) -> None:
            if conn.execute(select(t.id).where(t.id == token_id)).first() is None:
                msg = f"No API token with id {token_id!r}."
                raise TokenNotFoundError(msg)
            conn.execute(update(s.api_tokens).where(t.id == token_id, t.revoked_at.is_(None))
                         .values(revoked_at=to_ms(at)))

        self._write(txn)
        row = self._read(lambda c: c.execute(_TOKENS.where(t.id == token_id)).first())
        return _token(row)

    def touch_token(self, token_id: str, *, at: datetime) -> None:
        self._write(lambda c: c.execute(update(s.api_tokens).where(t.id == token_id)
                                        .values(last_used_at=to_ms(at))))

    # -- experiment permissions ---------------------------------------------------------
    def set_experiment_permission(self, experiment_id: str, user_id: str,
                                  permission: Permission) -> None:
        def txn(conn: Connection) -> None:
            if conn.execute(select(u.id).where(u.id == user_id)).first() is None:
                raise _user_missing(user_id)
            conn.execute(delete(s.experiment_permissions).where(
                ep.experiment_id == experiment_id, ep.user_id == user_id))
            conn.execute(s.experiment_permissions.insert().values(
                experiment_id=experiment_id, user_id=user_id,
                permission=Permission(permission).value))

        self._write(txn)

    def delete_experiment_permission(self, experiment_id: str, user_id: str) -> None:
        self._write(lambda c: c.execute(delete(s.experiment_permissions).where(
            ep.experiment_id == experiment_id, ep.user_id == user_id)))

    def list_experiment_permissions(self, experiment_id: str) -> list[ExperimentPermission]:
        q = (select(ep.experiment_id, ep.user_id, ep.permission, u.username)
             .join(s.users, u.id == ep.user_id)
             .where(ep.experiment_id == experiment_id).order_by(u.username))
        return [ExperimentPermission(experiment_id=r.experiment_id, user_id=r.user_id,
                                     username=r.username, permission=Permission(r.permission))
                for r in self._read(lambda c: c.execute(q).all())]

    def list_private_experiments(self, user_id: str) -> tuple[set[str], dict[str, Permission]]:
        rows = self._read(lambda c: c.execute(
            select(ep.experiment_id, ep.user_id, ep.permission)).all())
        private = {r.experiment_id for r in rows}
        mine = {r.experiment_id: Permission(r.permission) for r in rows if r.user_id == user_id}
        return private, mine
