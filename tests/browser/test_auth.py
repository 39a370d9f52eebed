"""With auth on: the login page, the session cookie's flags, private experiments, and role
limits on pages and actions, in Chromium against ``shipyard server --auth``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from tests.browser.conftest import Tab, World

pytestmark = pytest.mark.browser
SignIn = Callable[[Tab, str], None]


def test_login_page_then_back_to_the_page_asked_for(auth_tab: Tab, world: World,
                                                    sign_in: SignIn) -> None:
    target = f"/experiments/{world.seeded.experiment_id}?size=25"
    auth_tab.go(target)
    assert "/login?next=" in auth_tab.page.url
    auth_tab.shot("login", full_page=False)
    auth_tab.page.fill("input[name=username]", "vic")
    auth_tab.page.fill("input[name=password]", "correct horse battery")
    auth_tab.page.click("button[type=submit]")
    auth_tab.page.wait_for_url(f"**{target}")
    assert "vic" in auth_tab.page.inner_text("#whoami")
    cookie = next(c for c in auth_tab.page.context.cookies() if c["name"] == "shipyard_session")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    assert cookie["secure"] is False  # plain http on loopback; Secure over https


def test_wrong_password_is_shown_on_the_form(auth_tab: Tab, sign_in: SignIn) -> None:
    auth_tab.console.allow("401")
    sign_in(auth_tab, "vic", "wrong password!")
    assert "wrong user name or password" in auth_tab.page.inner_text("#error-box")
    assert "/login" in auth_tab.page.url


def test_viewer_cannot_see_private_experiments_or_delete(auth_tab: Tab, world: World,
                                                         sign_in: SignIn, library: Any) -> None:
    sign_in(auth_tab, "vic")
    auth_tab.go("/")
    names = auth_tab.page.locator("#experiments-table tbody td:first-child a").all_inner_texts()
    assert "churn" in names
    assert "secret-project" not in names
    auth_tab.console.allow("403")
    answer = auth_tab.go(f"/experiments/{world.seeded.private_experiment_id}")
    assert answer.status == 403
    auth_tab.go(f"/experiments/{world.seeded.experiment_id}")
    assert auth_tab.page.locator("button[value=delete]").count() == 0
    # A forged delete (the form as an admin would see it) is refused by the server.
    auth_tab.page.evaluate("""() => {
        const b = document.createElement('button');
        b.type = 'submit'; b.name = 'action'; b.value = 'delete'; b.id = 'forged';
        document.querySelector('#runs-form .toolbar').appendChild(b);
    }""")
    auth_tab.page.locator("#runs-table tbody input[name=run_ids]").first.check()
    victim = auth_tab.page.locator("#runs-table tbody tr[data-run-id]").first.get_attribute(
        "data-run-id")
    auth_tab.page.click("#forged")
    auth_tab.page.wait_for_load_state("load")
    assert "needs the admin role" in auth_tab.page.inner_text("#error-box")
    assert library.tracking.get_run(victim).lifecycle == "active"


def test_listed_editor_sees_the_private_experiment(auth_tab: Tab, world: World,
                                                   sign_in: SignIn) -> None:
    sign_in(auth_tab, "eve")
    auth_tab.go("/")
    assert "secret-project" in auth_tab.page.inner_text("#experiments-table")
    auth_tab.go(f"/experiments/{world.seeded.private_experiment_id}")
    assert auth_tab.page.locator("#runs-table tbody tr[data-run-id]").count() == 1


def test_admin_sees_the_delete_button_and_every_page(auth_tab: Tab, world: World,
                                                     sign_in: SignIn) -> None:
    sign_in(auth_tab, "ada")
    auth_tab.go(f"/experiments/{world.seeded.experiment_id}")
    assert auth_tab.page.locator("button[value=delete]").count() == 1
    for path in ("/models/churn", "/deployments", f"/monitors/{world.seeded.monitor}",
                 f"/runs/{world.seeded.best_run_id}"):
        assert auth_tab.go(path).status == 200, path


def test_sign_out_ends_the_session(auth_tab: Tab, sign_in: SignIn) -> None:
    sign_in(auth_tab, "vic")
    auth_tab.go("/models")
    auth_tab.page.click("header form button[type=submit]")
    auth_tab.page.wait_for_url("**/login")
    auth_tab.go("/models")
    assert "/login?next=" in auth_tab.page.url


def test_forms_without_the_session_token_are_refused(auth_tab: Tab, world: World,
                                                     sign_in: SignIn) -> None:
    """A page on another site cannot post the form: its token is missing."""
    sign_in(auth_tab, "ada")
    auth_tab.console.allow("403")
    status = auth_tab.page.evaluate(f"""async () => {{
        const body = new URLSearchParams({{action: 'delete', run_ids: '{world.seeded.run_ids[0]}'}});
        const r = await fetch('/experiments/{world.seeded.experiment_id}/runs',
                              {{method: 'POST', body, redirect: 'manual'}});
        return r.status;
    }}""")
    assert status == 403
