"""The identity store contract: users, token hashes and experiment access lists.

Subclass it and override the ``store`` fixture with an empty `IdentityStore`::

    class TestSQLiteIdentityStore(IdentityStoreContract):
        @pytest.fixture
        def store(self, tmp_path): ...
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from shipyard.entities._ids import utc_now
from shipyard.entities.identity import Permission, Role
from shipyard.errors import TokenNotFoundError, UserAlreadyExistsError, UserNotFoundError
from shipyard.stores.identity import IdentityStore


def _name() -> str:
    return f"user-{uuid.uuid4().hex[:10]}"


class IdentityStoreContract:
    """Behaviour every `IdentityStore` must have."""

    @pytest.fixture
    def store(self) -> IdentityStore:  # pragma: no cover - overridden
        raise NotImplementedError

    def test_create_and_find_user(self, store: IdentityStore) -> None:
        name = _name()
        user = store.create_user(name, role=Role.EDITOR, password_hash="h",  # noqa: S106
                                 created_at=utc_now())
        assert (user.username, user.role, user.disabled, user.has_password) == (
            name, Role.EDITOR, False, True)
        assert store.get_user_by_name(name) == user
        assert store.get_user(user.id) == user
        assert store.get_password_hash(user.id) == "h"
        assert store.get_user_by_name(_name()) is None
        assert name in [u.username for u in store.list_users()]

    def test_duplicate_user_raises(self, store: IdentityStore) -> None:
        name = _name()
        store.create_user(name, role=Role.VIEWER, created_at=utc_now())
        with pytest.raises(UserAlreadyExistsError, match=name):
            store.create_user(name, role=Role.ADMIN, created_at=utc_now())

    def test_update_user_changes_only_given_fields(self, store: IdentityStore) -> None:
        user = store.create_user(_name(), role=Role.VIEWER, created_at=utc_now())
        assert store.get_password_hash(user.id) is None
        got = store.update_user(user.id, role=Role.ADMIN)
        assert (got.role, got.has_password) == (Role.ADMIN, False)
        got = store.update_user(user.id, password_hash="x", disabled=True)  # noqa: S106
        assert (got.role, got.has_password, got.disabled) == (Role.ADMIN, True, True)
        with pytest.raises(UserNotFoundError):
            store.update_user("0" * 32, role=Role.VIEWER)

    def test_tokens_are_found_by_hash_listed_and_revoked(self, store: IdentityStore) -> None:
        user = store.create_user(_name(), role=Role.EDITOR, created_at=utc_now())
        later = utc_now() + timedelta(days=1)
        token = store.create_token(user_id=user.id, name="ci", token_hash="a" * 64,
                                   prefix="shp_abc", created_at=utc_now(), expires_at=later)
        assert token.username == user.username
        assert store.find_token_by_hash("a" * 64) == token
        assert store.find_token_by_hash("b" * 64) is None
        assert [t.id for t in store.list_tokens(user_id=user.id)] == [token.id]
        store.touch_token(token.id, at=utc_now())
        assert store.find_token_by_hash("a" * 64).last_used_at is not None  # type: ignore[union-attr]
        revoked = store.revoke_token(token.id, at=utc_now())
        assert revoked.revoked_at is not None
        assert not revoked.is_active(utc_now())
        assert store.revoke_token(token.id, at=later).revoked_at == revoked.revoked_at
        with pytest.raises(TokenNotFoundError):
            store.revoke_token("0" * 32, at=utc_now())
        with pytest.raises(UserNotFoundError):
            store.create_token(user_id="0" * 32, name="x", token_hash="c" * 64, prefix="p",
                               created_at=utc_now())

    def test_experiment_access_lists(self, store: IdentityStore) -> None:
        alice = store.create_user(_name(), role=Role.EDITOR, created_at=utc_now())
        bob = store.create_user(_name(), role=Role.VIEWER, created_at=utc_now())
        exp = uuid.uuid4().hex
        assert store.list_experiment_permissions(exp) == []
        store.set_experiment_permission(exp, alice.id, Permission.MANAGE)
        store.set_experiment_permission(exp, bob.id, Permission.READ)
        store.set_experiment_permission(exp, bob.id, Permission.EDIT)
        listed = {p.username: p.permission for p in store.list_experiment_permissions(exp)}
        assert listed == {alice.username: Permission.MANAGE, bob.username: Permission.EDIT}
        private, mine = store.list_private_experiments(bob.id)
        assert exp in private
        assert mine[exp] is Permission.EDIT
        store.delete_experiment_permission(exp, bob.id)
        store.delete_experiment_permission(exp, bob.id)
        assert exp not in store.list_private_experiments(bob.id)[1]
        store.delete_experiment_permission(exp, alice.id)
        assert exp not in store.list_private_experiments(alice.id)[0]
