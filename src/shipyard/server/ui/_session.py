"""Sessions of the web UI: a signed cookie, its CSRF token, and who is signed in.

The cookie holds ``{"csrf", "uid", "pw", "iat"}`` as base64 JSON, signed with HMAC-SHA256
under the ``secret_key`` setting (or a key made once in ``<home>/secret_key``). It is
HttpOnly, SameSite=Lax, and Secure when the request came over https. Every browser gets a
session on its first page (so the login form has a CSRF token too); signing in issues a fresh
one (new CSRF token: no session fixation). ``pw`` is a fingerprint of the user's password
hash, so changing a password signs out every browser of that user; disabling a user does too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from shipyard.errors import ConfigError

if TYPE_CHECKING:
    from shipyard.auth import AuthService
    from shipyard.config import Settings
    from shipyard.entities.identity import User

COOKIE = "shipyard_session"
CSRF_FIELD = "csrf_token"
KEY_FILE = "secret_key"


def load_secret_key(settings: Settings) -> bytes:
    """The ``secret_key`` setting, or a random key made once and kept in ``<home>``
    (created atomically, readable only by its owner, so every worker reads the same)."""
    if settings.secret_key:
        if len(settings.secret_key) < 16:
            msg = "Setting 'secret_key' (SHIPYARD_SECRET_KEY) is too short to sign sessions."
            raise ConfigError(msg, hint="use at least 16 random characters, e.g. "
                                        "`python -c 'import secrets; print(secrets.token_hex())'`")
        return settings.secret_key.encode()
    path = settings.home_path / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another worker made it first
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
    for _ in range(50):  # a worker racing the writer may see the file before its content
        key = path.read_text().strip()
        if key:
            return key.encode()
        time.sleep(0.01)
    msg = f"The UI's key file {str(path)!r} is empty."
    raise ConfigError(msg, hint="delete it (a new one is made), or set SHIPYARD_SECRET_KEY")


def password_fingerprint(password_hash: str | None) -> str:
    """A short digest of a stored password hash (it changes when the password does)."""
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:16]


class SessionCodec:
    """Signs and checks session cookies."""

    def __init__(self, key: bytes, max_age: float) -> None:
        self._key = hashlib.sha256(b"shipyard-ui-session:" + key).digest()
        self.max_age = max_age

    def _sign(self, payload: bytes) -> str:
        mac = hmac.new(self._key, payload, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")

    def dumps(self, data: dict[str, Any]) -> str:
        payload = base64.urlsafe_b64encode(
            json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")
        return f"{payload}.{self._sign(payload.encode())}"

    def loads(self, value: str | None) -> dict[str, Any] | None:
        """The session, or None when absent, tampered with, malformed or expired."""
        if not value or value.count(".") != 1:
            return None
        payload, mac = value.split(".")
        if not hmac.compare_digest(mac, self._sign(payload.encode())):
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except ValueError:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("csrf"), str):
            return None
        iat = data.get("iat")
        if not isinstance(iat, int | float) or not 0 <= time.time() - iat <= self.max_age:
            return None
        return data


@dataclass
class Session:
    """The session of one request; ``dirty`` sessions are (re)sent as a cookie."""

    csrf: str
    uid: str | None = None
    pw: str | None = None
    iat: float = field(default_factory=time.time)
    dirty: bool = False
    user: User | None = None

    @classmethod
    def fresh(cls, uid: str | None = None, pw: str | None = None) -> Session:
        return cls(csrf=secrets.token_urlsafe(32), uid=uid, pw=pw, dirty=True)

    def data(self) -> dict[str, Any]:
        return {"csrf": self.csrf, "uid": self.uid, "pw": self.pw, "iat": int(self.iat)}


def read_session(request: Request, codec: SessionCodec, auth: AuthService | None) -> Session:
    """The request's session (a new anonymous one when it has none or it is invalid); with
    auth on, ``user`` is the signed-in user while the user is enabled and the password is
    unchanged."""
    data = codec.loads(request.cookies.get(COOKIE))
    if data is None:
        return Session.fresh()
    session = Session(csrf=data["csrf"], uid=data.get("uid"), pw=data.get("pw"),
                      iat=data["iat"])
    if auth is not None and session.uid is not None:
        user = auth.store.get_user(session.uid)
        fingerprint = None if user is None else password_fingerprint(
            auth.store.get_password_hash(user.id))
        if user is None or user.disabled or not hmac.compare_digest(
                fingerprint or "", session.pw or ""):
            return Session.fresh()
        session.user = user
    return session


def sign_in(auth: AuthService, user: User) -> Session:
    """A new session for ``user`` (new CSRF token too)."""
    return Session.fresh(uid=user.id,
                         pw=password_fingerprint(auth.store.get_password_hash(user.id)))


def set_cookie(response: Response, request: Request, codec: SessionCodec,
               session: Session) -> None:
    response.set_cookie(
        COOKIE, codec.dumps(session.data()), max_age=int(codec.max_age),
        path=request.scope.get("root_path") or "/", httponly=True, samesite="lax",
        secure=request.url.scheme == "https")


def csrf_ok(session: Session, submitted: str | None) -> bool:
    """Whether a form carried this session's CSRF token."""
    return bool(submitted) and hmac.compare_digest(session.csrf, submitted or "")
