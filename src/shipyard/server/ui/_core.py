"""The plumbing every page shares: templates, the per-request context (session, caller,
CSRF), HTML error pages and security headers.

Views are thin, like the API's handlers (R-6): they read the query, call the same services
the API calls (``client.tracking``, ``client.registry``, ...), and render a template. Errors
are the same `ShipyardError` classes, with the same status codes (``server.errors.status_for``);
only their rendering differs: an HTML page instead of JSON.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

import jinja2
from fastapi import Depends, Request
from fastapi.routing import APIRoute
from starlette.responses import HTMLResponse, RedirectResponse, Response

from shipyard._version import __version__
from shipyard.auth import AccessPolicy
from shipyard.entities.identity import Role
from shipyard.errors import PermissionDeniedError, ShipyardError
from shipyard.server.deps import ServerState, state
from shipyard.server.errors import status_for
from shipyard.server.ui import _format
from shipyard.server.ui._session import (
    CSRF_FIELD,
    Session,
    SessionCodec,
    csrf_ok,
    read_session,
    set_cookie,
)

log = logging.getLogger("shipyard.server.ui")
HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data: blob:; connect-src 'self'; frame-src 'self'; "
       "frame-ancestors 'self'; form-action 'self'; base-uri 'none'; object-src 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "SAMEORIGIN",
    "Cache-Control": "no-store",
}


class LoginRequired(Exception):
    """Raised by the page dependency when auth is on and nobody is signed in."""


class _Anonymous(AccessPolicy):
    """The caller of the login page while auth is on: may do nothing."""

    @property
    def is_admin(self) -> bool:
        return False

    def hidden_experiments(self) -> set[str]:  # pragma: no cover - never asked
        msg = "Sign in first."
        raise PermissionDeniedError(msg)

    def require_role(self, role: Role, what: str) -> None:  # pragma: no cover
        msg = f"Sign in to {what}."
        raise PermissionDeniedError(msg)


class UiState:
    """What every page needs, built once per app."""

    def __init__(self, codec: SessionCodec) -> None:
        self.codec = codec
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
            undefined=jinja2.StrictUndefined, auto_reload=False, trim_blocks=True,
            lstrip_blocks=True)
        self.env.filters.update(_format.FILTERS)
        self.env.policies["json.dumps_kwargs"] = {"sort_keys": False}  # charts keep their order
        self.env.globals["version"] = __version__
        self.env.globals["query"] = _format.query
        self.env.globals["run_duration"] = _format.run_duration


def ui_state(request: Request) -> UiState:
    return request.app.state.ui  # type: ignore[no-any-return]


@dataclass
class Page:
    """One UI request: who is asking, their session, and how to answer."""

    request: Request
    st: ServerState
    ui: UiState
    session: Session
    policy: AccessPolicy

    @property
    def client(self) -> Any:
        return self.st.client

    @property
    def auth_on(self) -> bool:
        return self.st.auth is not None

    @property
    def base(self) -> str:
        return str(self.request.scope.get("root_path") or "").rstrip("/")

    def can(self, role: str) -> bool:
        """Whether the caller's role is at least ``role`` (always, with auth off)."""
        user = self.policy.user
        return user is None or user.role.rank >= Role(role).rank

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = self.ui.env.get_template(template).render(
            page=self, base=self.base, csrf=self.session.csrf, csrf_field=CSRF_FIELD,
            user=self.policy.user, auth_on=self.auth_on, **context)
        response = HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
        self.finish(response)
        return response

    def redirect(self, url: str) -> RedirectResponse:
        """303 to a path inside the app (``url`` starts with /)."""
        response = RedirectResponse(self.base + url, status_code=303,
                                    headers={"Cache-Control": "no-store"})
        self.finish(response)
        return response

    def finish(self, response: Response) -> None:
        if self.session.dirty:
            set_cookie(response, self.request, self.ui.codec, self.session)
            self.session.dirty = False

    async def form(self) -> dict[str, Any]:
        """The posted form, after checking its CSRF token (`PermissionDeniedError` if it is
        missing or wrong). Repeated fields become lists."""
        raw = await self.request.form()
        data: dict[str, Any] = {}
        for key, value in raw.multi_items():
            if isinstance(value, str):
                data.setdefault(key, []).append(value)
        if not csrf_ok(self.session, (data.get(CSRF_FIELD) or [None])[0]):
            msg = "The form's security token is missing or out of date."
            raise PermissionDeniedError(msg, hint="reload the page and submit it again")
        return data


def _page(request: Request, *, login: bool) -> Page:
    st = state(request)
    ui = ui_state(request)
    session = read_session(request, ui.codec, st.auth)
    request.state.ui_session = session
    if st.auth is None:
        policy = AccessPolicy(None, None)
    elif session.user is None:
        if login:
            raise LoginRequired
        policy = _Anonymous(None, None)  # only the login page gets here
    else:
        request.state.username = session.user.username
        policy = st.auth.policy(session.user)
    return Page(request=request, st=st, ui=ui, session=session, policy=policy)


def page(request: Request) -> Page:
    """The dependency of every page that needs a signed-in user (when auth is on)."""
    return _page(request, login=True)


def public_page(request: Request) -> Page:
    """The dependency of the login page (no user needed; ``policy`` allows nothing that
    matters: public pages render no data)."""
    return _page(request, login=False)


PageDep = Annotated[Page, Depends(page)]
PublicPageDep = Annotated[Page, Depends(public_page)]


def safe_next(target: str | None) -> str:
    """A local path to go back to after signing in (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target:
        return "/"
    return target


def _error_page(request: Request, exc: ShipyardError | LoginRequired) -> Response:
    ui = ui_state(request)
    session: Session | None = getattr(request.state, "ui_session", None)
    base = str(request.scope.get("root_path") or "").rstrip("/")
    if isinstance(exc, LoginRequired):
        here = request.url.path[len(base):] or "/"
        if request.url.query:
            here += "?" + request.url.query
        response: Response = RedirectResponse(f"{base}/login?next={quote(here)}",
                                              status_code=303)
    else:
        status = status_for(exc)
        if status >= 500:
            log.warning("%s: %s", type(exc).__name__, exc.message)
        html = ui.env.get_template("error.html").render(
            page=None, base=base, status=status, error=exc, user=None, auth_on=False,
            csrf=session.csrf if session else "", csrf_field=CSRF_FIELD)
        response = HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
    if session is not None and session.dirty:
        set_cookie(response, request, ui.codec, session)
    return response


class UiRoute(APIRoute):
    """A page route: `ShipyardError` becomes an HTML error page (same status as the API),
    and a missing sign-in a redirect to the login page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except (ShipyardError, LoginRequired) as exc:
                return _error_page(request, exc)

        return run
