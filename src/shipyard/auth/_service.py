"""The auth service: users, API tokens, authentication and the access rules.

Rules:

* ``viewer`` reads, ``editor`` also writes tracking data, ``admin`` does everything (users,
  tokens of others, deletion, gc, every experiment's access list).
* An experiment with an access list (any `ExperimentPermission` rows) is private: only the
  users on the list and admins see it. ``read`` reads; ``edit`` also writes (if the user's
  role allows writing at all); ``manage`` also changes the list.
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from shipyard.auth._passwords import hash_password, verify_password
from shipyard.entities._ids import utc_now
from shipyard.entities.identity import ApiToken, ExperimentPermission, Permission, Role, User
from shipyard.entities.registry import AuditEvent
from shipyard.errors import (
    AuthenticationError,
    PermissionDeniedError,
    UserNotFoundError,
    invalid,
)
from shipyard.stores.identity import IdentityStore
from shipyard.stores.registry import AuditStore

TOKEN_PREFIX = "shp_"  # noqa: S105 - a public prefix, not a secret
"""Every API token starts with this, so secret scanners and people recognise one."""
MIN_PASSWORD = 8
TOUCH_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often per token
_NAME = re.compile(r"^[A-Za-z0-9_.@+-]{1,250}$")
_VERIFIED_MAX = 1024


@functools.cache
def _dummy_hash() -> str:
    """Verified when a user is unknown, so both failures cost the same."""
    return hash_password("timing-equalizer")


def hash_token(secret: str) -> str:
    """The stored form of an API token: SHA-256 hex (tokens are random, so no salt needed)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _role(value: Role | str) -> Role:
    try:
        return Role(value)
    except ValueError:
        what = "role"
        raise invalid(what, value, "one of " + ", ".join(r.value for r in Role)) from None


def _permission(value: Permission | str) -> Permission:
    try:
        return Permission(value)
    except ValueError:
        expected = "one of " + ", ".join(p.value for p in Permission)
        what = "permission"
        raise invalid(what, value, expected) from None


class AccessPolicy:
    """What one user may do, for the length of one request (the access lists are read once,
    on first use). ``user=None`` means auth is off: everything is allowed."""

    def __init__(self, store: IdentityStore | None, user: User | None) -> None:
        self.user = user
        self._store = store
        self._lists: tuple[set[str], dict[str, Permission]] | None = None

    @property
    def actor(self) -> str | None:
        """The name recorded as the author of writes (None when auth is off)."""
        return None if self.user is None else self.user.username

    @property
    def is_admin(self) -> bool:
        return self.user is None or self.user.role is Role.ADMIN

    def _access_lists(self) -> tuple[set[str], dict[str, Permission]]:
        if self._lists is None:
            assert self._store is not None
            assert self.user is not None
            self._lists = self._store.list_private_experiments(self.user.id)
        return self._lists

    def hidden_experiments(self) -> set[str]:
        """Ids of the private experiments this user may not read (empty for admins)."""
        if self.is_admin:
            return set()
        private, mine = self._access_lists()
        return private - set(mine)

    def can_read(self, experiment_id: str) -> bool:
        return experiment_id not in self.hidden_experiments()

    def can_write(self, experiment_id: str) -> bool:
        if self.is_admin:
            return True
        assert self.user is not None
        if self.user.role.rank < Role.EDITOR.rank:
            return False
        private, mine = self._access_lists()
        if experiment_id not in private:
            return True
        held = mine.get(experiment_id)
        return held is not None and held.rank >= Permission.EDIT.rank

    def can_manage(self, experiment_id: str) -> bool:
        """May change the experiment's access list: admins, holders of ``manage``, and any
        editor while the experiment is still public (the first grant makes it private)."""
        if self.is_admin:
            return True
        assert self.user is not None
        private, mine = self._access_lists()
        if experiment_id not in private:
            return self.user.role.rank >= Role.EDITOR.rank
        return mine.get(experiment_id) is Permission.MANAGE

    # -- raising forms --------------------------------------------------------------------
    def _deny(self, what: str) -> PermissionDeniedError:
        assert self.user is not None
        msg = f"User {self.user.username!r} (role {self.user.role.value}) may not {what}."
        return PermissionDeniedError(msg)

    def require_role(self, role: Role, what: str) -> None:
        if self.user is not None and self.user.role.rank < role.rank:
            what = f"{what} (needs the {role.value} role)"
            raise self._deny(what)

    def require_read(self, experiment_id: str) -> None:
        if not self.can_read(experiment_id):
            what = f"read experiment {experiment_id!r}"
            raise self._deny(what)

    def require_write(self, experiment_id: str) -> None:
        if not self.can_write(experiment_id):
            what = f"write to experiment {experiment_id!r}"
            raise self._deny(what)

    def require_manage(self, experiment_id: str) -> None:
        if not self.can_manage(experiment_id):
            what = f"change who may access experiment {experiment_id!r}"
            raise self._deny(what)


class AuthService:
    """Users, tokens, authentication, access policies and the audit trail."""

    def __init__(self, store: IdentityStore, audit: AuditStore | None = None) -> None:
        self.store = store
        self.audit_store = audit
        self._lock = threading.Lock()
        self._touched: dict[str, Any] = {}
        self._verified: OrderedDict[tuple[str, str, str], None] = OrderedDict()

    # -- users --------------------------------------------------------------------------
    def create_user(self, username: str, *, role: Role | str = Role.VIEWER,
                    password: str | None = None) -> User:
        """Create a user; without a password it can only use API tokens."""
        if not isinstance(username, str) or not _NAME.match(username):
            what = "username"
            raise invalid(what, username, "1..250 letters, digits or '_.@+-'",
                          where="create_user")
        return self.store.create_user(
            username, role=_role(role), created_at=utc_now(),
            password_hash=None if password is None else hash_password(self._check(password)))

    @staticmethod
    def _check(password: str) -> str:
        if not isinstance(password, str) or len(password) < MIN_PASSWORD:
            shown = "<hidden>" if isinstance(password, str) else password
            what = "password"
            raise invalid(what, shown, f"a string of at least {MIN_PASSWORD} characters")
        return password

    def get_user(self, username: str) -> User:
        user = self.store.get_user_by_name(username)
        if user is None:
            msg = f"No user named {username!r}."
            raise UserNotFoundError(msg)
        return user

    def list_users(self) -> list[User]:
        return self.store.list_users()

    def set_role(self, username: str, role: Role | str) -> User:
        return self.store.update_user(self.get_user(username).id, role=_role(role))

    def set_password(self, username: str, password: str) -> User:
        return self.store.update_user(self.get_user(username).id,
                                      password_hash=hash_password(self._check(password)))

    def set_disabled(self, username: str, *, disabled: bool) -> User:
        return self.store.update_user(self.get_user(username).id, disabled=disabled)

    # -- tokens -------------------------------------------------------------------------
    def create_token(self, username: str, *, name: str,
                     expires_in: timedelta | None = None) -> tuple[ApiToken, str]:
        """A new API token for the user: ``(record, secret)``. The secret is shown once."""
        if not isinstance(name, str) or not name.strip() or len(name) > 250:
            what = "name"
            raise invalid(what, name, "a non-empty string of at most 250 characters",
                          where="create_token")
        user = self.get_user(username)
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = utc_now()
        record = self.store.create_token(
            user_id=user.id, name=name, token_hash=hash_token(secret), prefix=secret[:10],
            created_at=now, expires_at=None if expires_in is None else now + expires_in)
        return record, secret

    def list_tokens(self, username: str | None = None) -> list[ApiToken]:
        user_id = None if username is None else self.get_user(username).id
        return self.store.list_tokens(user_id=user_id)

    def revoke_token(self, token_id: str) -> ApiToken:
        return self.store.revoke_token(token_id, at=utc_now())

    def find_token(self, token_id: str) -> ApiToken | None:
        return next((t for t in self.store.list_tokens() if t.id == token_id), None)

    # -- authentication -----------------------------------------------------------------
    @staticmethod
    def _rejected(what: str) -> AuthenticationError:
        return AuthenticationError(f"Authentication failed: {what}.")

    def authenticate_token(self, secret: str) -> User:
        """The active user owning this token. Raises `AuthenticationError`."""
        token = self.store.find_token_by_hash(hash_token(secret))
        now = utc_now()
        if token is None:
            what = "unknown API token"
            raise self._rejected(what)
        if not token.is_active(now):
            what = f"API token {token.prefix}... is revoked or expired"
            raise self._rejected(what)
        user = self.store.get_user(token.user_id)
        if user is None or user.disabled:
            what = f"the user of token {token.prefix}... is disabled"
            raise self._rejected(what)
        with self._lock:
            last = self._touched.get(token.id)
            due = last is None or now - last >= TOUCH_EVERY
            if due:
                self._touched[token.id] = now
        if due:
            self.store.touch_token(token.id, at=now)
        return user

    def authenticate_password(self, username: str, password: str) -> User:
        """The active user with this name and password. Raises `AuthenticationError`.

        A successful check is remembered (keyed by the stored hash, so a password change or
        a new hash invalidates it) because scrypt is deliberately slow."""
        user = self.store.get_user_by_name(username)
        stored = None if user is None else self.store.get_password_hash(user.id)
        if user is None or stored is None:
            verify_password(password, _dummy_hash())  # same cost as a real check
            what = "wrong user name or password"
            raise self._rejected(what)
        key = (user.id, stored, hashlib.sha256(password.encode()).hexdigest())
        with self._lock:
            known = key in self._verified
            if known:
                self._verified.move_to_end(key)
        if not known:
            if not verify_password(password, stored):
                what = "wrong user name or password"
                raise self._rejected(what)
            with self._lock:
                self._verified[key] = None
                while len(self._verified) > _VERIFIED_MAX:
                    self._verified.popitem(last=False)
        if user.disabled:
            what = f"user {username!r} is disabled"
            raise self._rejected(what)
        return user

    # -- authorization ------------------------------------------------------------------
    def policy(self, user: User | None) -> AccessPolicy:
        """The access rules for one caller (``None``: auth is off, everything allowed)."""
        return AccessPolicy(self.store, user)

    def list_permissions(self, experiment_id: str) -> list[ExperimentPermission]:
        return self.store.list_experiment_permissions(experiment_id)

    def grant(self, policy: AccessPolicy, experiment_id: str, username: str,
              permission: Permission | str) -> list[ExperimentPermission]:
        """Give ``username`` a permission on the experiment (making it private). The first
        grant by a non-admin also lists the granting user as ``manage``, so nobody locks
        themselves out."""
        perm = _permission(permission)
        policy.require_manage(experiment_id)
        target = self.get_user(username)
        if policy.user is not None and not policy.is_admin and not self.list_permissions(
                experiment_id):
            self.store.set_experiment_permission(experiment_id, policy.user.id,
                                                 Permission.MANAGE)
        self.store.set_experiment_permission(experiment_id, target.id, perm)
        return self.list_permissions(experiment_id)

    def revoke(self, policy: AccessPolicy, experiment_id: str,
               username: str) -> list[ExperimentPermission]:
        """Remove ``username`` from the experiment's access list (when the list ends up
        empty, the experiment is public again)."""
        policy.require_manage(experiment_id)
        self.store.delete_experiment_permission(experiment_id, self.get_user(username).id)
        return self.list_permissions(experiment_id)

    # -- audit --------------------------------------------------------------------------
    def record(self, actor: str | None, action: str, target_type: str, target_id: str,
               detail: Mapping[str, Any] | None = None) -> None:
        """Append to the audit trail (a no-op when the store keeps none)."""
        if self.audit_store is not None:
            self.audit_store.record_audit_event(action=action, target_type=target_type,
                                                target_id=target_id, actor=actor,
                                                detail=detail)

    def audit_events(self, target_type: str, target_id: str | None = None, *,
                     max_results: int = 1000) -> list[AuditEvent]:
        if self.audit_store is None:
            return []
        return self.audit_store.list_audit_events(target_type, target_id,
                                                  max_results=max_results)
