"""Signing in and out of the web UI (only meaningful with auth on)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from shipyard.errors import AuthenticationError
from shipyard.server.deps import audit
from shipyard.server.ui._core import PageDep, PublicPageDep, UiRoute, safe_next
from shipyard.server.ui._session import Session, sign_in

router = APIRouter(route_class=UiRoute, include_in_schema=False)


@router.get("/login")
def login_form(p: PublicPageDep) -> Response:
    target = safe_next(p.request.query_params.get("next"))
    if not p.auth_on or p.session.user is not None:
        return p.redirect(target)
    return p.render("login.html", next=target, username="", error=None)


@router.post("/login")
async def login(p: PublicPageDep) -> Response:
    """Check the password, then start a new session (new CSRF token, no fixation)."""
    form = await p.form()
    target = safe_next((form.get("next") or ["/"])[0])
    if p.st.auth is None:
        return p.redirect(target)
    username = (form.get("username") or [""])[0][:250]
    password = (form.get("password") or [""])[0][:1000]
    try:
        user = p.st.auth.authenticate_password(username, password)
    except AuthenticationError as exc:
        return p.render("login.html", status=401, next=target, username=username, error=exc)
    p.session = sign_in(p.st.auth, user)
    policy = p.st.auth.policy(user)
    audit(p.st, policy, "ui.login", "user", user.username)
    return p.redirect(target)


@router.post("/logout")
async def logout(p: PageDep) -> Response:
    await p.form()
    p.session = Session.fresh()
    return p.redirect("/login" if p.auth_on else "/")
