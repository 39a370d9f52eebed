"""Identity entities for server auth: users, API tokens and per-experiment permissions.

Secrets never appear here: a `User` does not carry its password hash and an `ApiToken` holds
only the first characters of its secret (``prefix``), for display.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class Role(enum.StrEnum):
    """What a user may do everywhere (an experiment permission can narrow it)."""

    VIEWER = "viewer"
    """Read tracking data."""
    EDITOR = "editor"
    """Read, and write tracking data: experiments, runs, params, metrics, artifacts."""
    ADMIN = "admin"
    """Everything: users, tokens, deletion, gc, every experiment's permissions."""

    @property
    def rank(self) -> int:
        return {"viewer": 0, "editor": 1, "admin": 2}[self.value]


class Permission(enum.StrEnum):
    """A user's access to one private experiment."""

    READ = "read"
    EDIT = "edit"
    MANAGE = "manage"
    """Edit, and grant or remove other users' permissions on the experiment."""

    @property
    def rank(self) -> int:
        return {"read": 0, "edit": 1, "manage": 2}[self.value]


@dataclass(frozen=True, slots=True, kw_only=True)
class User:
    id: str
    username: str
    role: Role
    created_at: datetime
    disabled: bool = False
    has_password: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiToken:
    """An API token's record; the secret itself is shown once, at creation, and never stored."""

    id: str
    user_id: str
    username: str
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None = None
    expires_at: datetime | None = None
    revoked_at: datetime | None = None

    def is_active(self, now: datetime) -> bool:
        """Neither revoked nor expired at ``now``."""
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


@dataclass(frozen=True, slots=True, kw_only=True)
class ExperimentPermission:
    """A row of an experiment's access list. An experiment with any rows is private: only
    the users listed (and admins) can see it."""

    experiment_id: str
    user_id: str
    username: str
    permission: Permission
