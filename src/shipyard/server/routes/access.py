"""``/api/v1/whoami``, ``/users``, ``/tokens`` and ``/audit-events`` (server auth).

Users are managed by admins; any user can mint and revoke their own API tokens. The CLI
(``shipyard users``, ``shipyard tokens``) does the same on the server host, directly on the
database.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import Query, Response

from shipyard.auth import AuthService
from shipyard.entities.identity import ApiToken, Role, User
from shipyard.entities.registry import AuditEvent
from shipyard.errors import InvalidArgumentError, PermissionDeniedError, TokenNotFoundError
from shipyard.server.deps import Caller, State, audit
from shipyard.server.routes._common import api_router, respond
from shipyard.server.schemas import TokenCreate, TokenCreated, UserCreate, UserUpdate, WhoAmI

router = api_router("access")


def _auth(st: State) -> AuthService:
    if st.auth is None:
        msg = "This server runs without auth, so it has no users or tokens to manage."
        raise InvalidArgumentError(msg, hint="start it with `shipyard server --auth`")
    return st.auth


@router.get("/whoami", response_model=WhoAmI)
def whoami(policy: Caller, st: State) -> Response:
    """Who the server thinks the caller is (and whether it requires credentials)."""
    user = policy.user
    return respond({"auth": st.auth is not None, "username": user and user.username,
                    "role": user and user.role})


@router.get("/users", response_model=list[User])
def list_users(policy: Caller, st: State) -> Response:
    """Every user (admin)."""
    auth = _auth(st)
    policy.require_role(Role.ADMIN, "list users")
    return respond(auth.list_users())


@router.post("/users", response_model=User, status_code=201)
def create_user(body: UserCreate, policy: Caller, st: State) -> Response:
    """Create a user (admin); without a password it can only use API tokens."""
    auth = _auth(st)
    policy.require_role(Role.ADMIN, "create users")
    user = auth.create_user(body.username, role=body.role, password=body.password)
    audit(st, policy, "user.create", "user", user.username, role=user.role.value)
    return respond(user, 201)


@router.patch("/users/{username}", response_model=User)
def update_user(username: str, body: UserUpdate, policy: Caller, st: State) -> Response:
    """Change a user's role, password or disabled flag (admin)."""
    auth = _auth(st)
    policy.require_role(Role.ADMIN, "change users")
    user = auth.get_user(username)
    if body.role is not None:
        user = auth.set_role(username, body.role)
    if body.password is not None:
        user = auth.set_password(username, body.password)
    if body.disabled is not None:
        user = auth.set_disabled(username, disabled=body.disabled)
    audit(st, policy, "user.update", "user", username,
          fields=sorted(body.model_fields_set - {"password"}) + (
              ["password"] if body.password is not None else []))
    return respond(user)


@router.get("/tokens", response_model=list[ApiToken])
def list_tokens(policy: Caller, st: State,
                username: Annotated[str | None, Query(max_length=250)] = None) -> Response:
    """Your API tokens (an admin may ask for anyone's, or everyone's with no username)."""
    auth = _auth(st)
    assert policy.user is not None
    if not policy.is_admin:
        username = policy.user.username
    return respond(auth.list_tokens(username))


@router.post("/tokens", response_model=TokenCreated, status_code=201)
def create_token(body: TokenCreate, policy: Caller, st: State) -> Response:
    """A new API token; the secret is in this response only (it is stored as a hash)."""
    auth = _auth(st)
    assert policy.user is not None
    owner = body.username or policy.user.username
    if owner != policy.user.username:
        policy.require_role(Role.ADMIN, "create tokens for other users")
    expires = None if body.expires_in_days is None else timedelta(days=body.expires_in_days)
    record, secret = auth.create_token(owner, name=body.name, expires_in=expires)
    audit(st, policy, "token.create", "token", record.id, user=owner, name=record.name)
    return respond({"token": secret, "record": record}, 201)


@router.delete("/tokens/{token_id}", response_model=ApiToken)
def revoke_token(token_id: str, policy: Caller, st: State) -> Response:
    """Revoke a token (your own, or anyone's as an admin); it stops working at once."""
    auth = _auth(st)
    assert policy.user is not None
    token = auth.find_token(token_id)
    if token is None:
        msg = f"No API token with id {token_id!r}."
        raise TokenNotFoundError(msg)
    if token.user_id != policy.user.id and not policy.is_admin:
        msg = f"Token {token_id!r} belongs to another user."
        raise PermissionDeniedError(msg)
    revoked = auth.revoke_token(token_id)
    audit(st, policy, "token.revoke", "token", token_id, user=revoked.username)
    return respond(revoked)


@router.get("/audit-events", response_model=list[AuditEvent])
def audit_events(policy: Caller, st: State,
                 target_type: Annotated[str, Query(max_length=32)],
                 target_id: Annotated[str | None, Query(max_length=250)] = None,
                 max_results: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> Response:
    """Who did what to a target (``run``, ``experiment``, ``user``, ``token``...) (admin)."""
    auth = _auth(st)
    policy.require_role(Role.ADMIN, "read the audit trail")
    return respond(auth.audit_events(target_type, target_id, max_results=max_results))
