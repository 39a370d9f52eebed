"""The identity port: users, API tokens (stored as hashes) and per-experiment permissions.

Only the server's auth needs it; the SQL metadata store implements it on the same database.
Contract tests live in ``shipyard.testing.contracts.identity``.
"""

from __future__ import annotations

import abc
from datetime import datetime

from shipyard.entities.identity import ApiToken, ExperimentPermission, Permission, Role, User


class IdentityStore(abc.ABC):
    """Users, tokens and experiment access lists. Every method is atomic."""

    # -- users ------------------------------------------------------------------------
    @abc.abstractmethod
    def create_user(self, username: str, *, role: Role, password_hash: str | None = None,
                    created_at: datetime) -> User:
        """Create a user. Raises `UserAlreadyExistsError` when the name is taken."""

    @abc.abstractmethod
    def get_user_by_name(self, username: str) -> User | None:
        """The user with that exact name, or None."""

    @abc.abstractmethod
    def get_user(self, user_id: str) -> User | None:
        """The user with that id, or None."""

    @abc.abstractmethod
    def list_users(self) -> list[User]:
        """Every user, ordered by name."""

    @abc.abstractmethod
    def get_password_hash(self, user_id: str) -> str | None:
        """The stored password hash (None for a token-only user or an unknown id)."""

    @abc.abstractmethod
    def update_user(self, user_id: str, *, role: Role | None = None,
                    password_hash: str | None = None, disabled: bool | None = None) -> User:
        """Change the given fields (None leaves one as it is). Raises `UserNotFoundError`."""

    # -- tokens -----------------------------------------------------------------------
    @abc.abstractmethod
    def create_token(self, *, user_id: str, name: str, token_hash: str, prefix: str,
                     created_at: datetime, expires_at: datetime | None = None) -> ApiToken:
        """Store a token's hash. Raises `UserNotFoundError` for an unknown user."""

    @abc.abstractmethod
    def find_token_by_hash(self, token_hash: str) -> ApiToken | None:
        """The token with that hash (revoked or expired ones too), or None."""

    @abc.abstractmethod
    def list_tokens(self, *, user_id: str | None = None) -> list[ApiToken]:
        """Tokens (of one user, or all), newest first."""

    @abc.abstractmethod
    def revoke_token(self, token_id: str, *, at: datetime) -> ApiToken:
        """Mark a token revoked (idempotent: the first time is kept). Raises
        `TokenNotFoundError`."""

    @abc.abstractmethod
    def touch_token(self, token_id: str, *, at: datetime) -> None:
        """Record that the token was used at ``at``; unknown ids are ignored."""

    # -- experiment permissions ---------------------------------------------------------
    @abc.abstractmethod
    def set_experiment_permission(self, experiment_id: str, user_id: str,
                                  permission: Permission) -> None:
        """Grant (or change) a user's permission on an experiment."""

    @abc.abstractmethod
    def delete_experiment_permission(self, experiment_id: str, user_id: str) -> None:
        """Remove a user's permission on an experiment; idempotent."""

    @abc.abstractmethod
    def list_experiment_permissions(self, experiment_id: str) -> list[ExperimentPermission]:
        """The experiment's access list, ordered by user name (empty: the experiment is
        visible to everyone with a role)."""

    @abc.abstractmethod
    def list_private_experiments(self, user_id: str) -> tuple[set[str], dict[str, Permission]]:
        """``(private, mine)``: ids of every experiment that has an access list, and the
        permission ``user_id`` holds on each experiment it is listed on."""
