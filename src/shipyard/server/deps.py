"""Request dependencies: the services, and who is calling (authentication).

Credentials: ``Authorization: Bearer shp_...`` (an API token) or HTTP basic auth (user name
and password). With auth off every caller is allowed everything and no identity is recorded.
"""

from __future__ import annotations

import base64
import binascii
from collections import OrderedDict
from threading import Lock
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request

from shipyard.auth import AccessPolicy, AuthService
from shipyard.errors import AuthenticationError

if TYPE_CHECKING:
    from shipyard.client import Client
    from shipyard.tracking import TrackingService


class ServerState:
    """What handlers reach through ``request.app.state.shipyard``."""

    def __init__(self, client: Client, auth: AuthService | None) -> None:
        self.client = client
        self.auth = auth
        self._run_experiments: OrderedDict[str, str] = OrderedDict()
        self._lock = Lock()

    def experiment_of(self, run_id: str) -> str:
        """The experiment of a run (cached: a run never changes experiment)."""
        with self._lock:
            found = self._run_experiments.get(run_id)
        if found is None:
            found = self.client.tracking.get_run(run_id).experiment_id
            with self._lock:
                self._run_experiments[run_id] = found
                if len(self._run_experiments) > 100_000:
                    self._run_experiments.popitem(last=False)
        return found


def state(request: Request) -> ServerState:
    return request.app.state.shipyard  # type: ignore[no-any-return]


def tracking(request: Request) -> TrackingService:
    return state(request).client.tracking


def _credentials(header: str | None, auth: AuthService) -> Any:
    if not header:
        msg = "This server requires authentication and the request carried no credentials."
        raise AuthenticationError(msg)
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return auth.authenticate_token(value)
    if scheme.lower() == "basic" and value:
        try:
            username, sep, password = base64.b64decode(value, validate=True).decode(
                "utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            sep = ""
        if sep:
            return auth.authenticate_password(username, password)
        msg = "Authentication failed: the basic credentials are not base64 of 'user:password'."
        raise AuthenticationError(msg)
    msg = f"Authentication failed: unsupported scheme {scheme!r}; use Bearer or Basic."
    raise AuthenticationError(msg)


def caller(request: Request) -> AccessPolicy:
    """Authenticate the request (a no-op with auth off) and return the caller's policy."""
    st = state(request)
    if st.auth is None:
        return AccessPolicy(None, None)
    user = _credentials(request.headers.get("authorization"), st.auth)
    request.state.username = user.username
    return st.auth.policy(user)


Caller = Annotated[AccessPolicy, Depends(caller)]
Tracking = Annotated["TrackingService", Depends(tracking)]
State = Annotated[ServerState, Depends(state)]


def audit(st: ServerState, policy: AccessPolicy, action: str, target_type: str,
          target_id: str, **detail: Any) -> None:
    """Record a write in the audit trail with its author (only when auth is on)."""
    if st.auth is not None and policy.user is not None:
        st.auth.record(policy.actor, action, target_type, target_id, detail)


def require_run(st: ServerState, policy: AccessPolicy, run_id: str, *,
                write: bool = False) -> None:
    """Raise `PermissionDeniedError` unless the caller may read (or write) the run's
    experiment. Free for admins and with auth off (no lookup)."""
    if policy.is_admin:
        return
    experiment_id = st.experiment_of(run_id)
    if write:
        policy.require_write(experiment_id)
    else:
        policy.require_read(experiment_id)
