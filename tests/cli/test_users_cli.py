"""``shipyard users`` and ``shipyard tokens`` on the local metadata database."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from shipyard.cli.main import cli


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _json(result) -> object:  # type: ignore[no-untyped-def]
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_create_and_list_users(runner: CliRunner, client) -> None:  # type: ignore[no-untyped-def]
    made = _json(runner.invoke(cli, ["users", "create", "ada", "--role", "admin",
                                     "--password-stdin", "--json"], input="s3cret-pass\n"))
    assert (made["username"], made["role"], made["has_password"]) == ("ada", "admin", True)
    runner.invoke(cli, ["users", "create", "bot", "--role", "editor", "--no-password"])
    users = _json(runner.invoke(cli, ["users", "list", "--json"]))
    assert [(u["username"], u["role"], u["has_password"]) for u in users] == [
        ("ada", "admin", True), ("bot", "editor", False)]
    assert client.auth.authenticate_password("ada", "s3cret-pass").username == "ada"
    table = runner.invoke(cli, ["users", "list"])
    assert "ada" in table.output


def test_prompted_password_and_short_password(runner: CliRunner, client) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(cli, ["users", "create", "eve"], input="long password\nlong password\n")
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["users", "create", "bob", "--password-stdin"], input="short\n")
    assert result.exit_code == 1
    assert "at least 8 characters" in result.output
    assert "'short'" not in result.output, "never echo the password"


def test_duplicate_user_exits_1(runner: CliRunner, client) -> None:  # type: ignore[no-untyped-def]
    runner.invoke(cli, ["users", "create", "ada", "--no-password"])
    result = runner.invoke(cli, ["users", "create", "ada", "--no-password"])
    assert result.exit_code == 1
    assert "already exists" in result.output


def test_roles_passwords_and_disabling(runner: CliRunner, client) -> None:  # type: ignore[no-untyped-def]
    runner.invoke(cli, ["users", "create", "eve", "--no-password"])
    assert runner.invoke(cli, ["users", "set-role", "eve", "admin"]).exit_code == 0
    assert client.auth.get_user("eve").role == "admin"
    result = runner.invoke(cli, ["users", "set-password", "eve", "--password-stdin"],
                           input="new password!\n")
    assert result.exit_code == 0, result.output
    assert client.auth.authenticate_password("eve", "new password!")
    assert runner.invoke(cli, ["users", "disable", "eve"]).exit_code == 0
    assert client.auth.get_user("eve").disabled
    assert runner.invoke(cli, ["users", "disable", "eve", "--enable"]).exit_code == 0
    assert not client.auth.get_user("eve").disabled
    assert runner.invoke(cli, ["users", "set-role", "nobody", "admin"]).exit_code == 1


def test_tokens_create_list_revoke(runner: CliRunner, client) -> None:  # type: ignore[no-untyped-def]
    runner.invoke(cli, ["users", "create", "ci", "--role", "editor", "--no-password"])
    made = _json(runner.invoke(cli, ["tokens", "create", "--user", "ci", "--name", "github",
                                     "--json"]))
    secret = made["token"]
    assert secret.startswith("shp_")
    assert client.auth.authenticate_token(secret).username == "ci"
    plain = runner.invoke(cli, ["tokens", "create", "--user", "ci", "--name", "other",
                                "--expires-in-days", "30"])
    assert plain.exit_code == 0
    assert plain.output.splitlines()[0].startswith("shp_")
    listed = _json(runner.invoke(cli, ["tokens", "list", "--user", "ci", "--json"]))
    assert {t["name"] for t in listed} == {"github", "other"}
    assert all(secret not in json.dumps(t) for t in listed), "secrets are never listed"
    assert runner.invoke(cli, ["tokens", "revoke", made["record"]["id"]]).exit_code == 0
    from shipyard.errors import AuthenticationError

    with pytest.raises(AuthenticationError):
        client.auth.authenticate_token(secret)
    assert runner.invoke(cli, ["tokens", "revoke", "nope"]).exit_code == 1
    assert "github" in runner.invoke(cli, ["tokens", "list"]).output


def test_grant_makes_an_experiment_private(runner: CliRunner, client) -> None:  # type: ignore[no-untyped-def]
    client.tracking.create_experiment("secret")
    runner.invoke(cli, ["users", "create", "eve", "--role", "editor", "--no-password"])
    listed = _json(runner.invoke(cli, ["users", "grant", "eve", "secret", "--permission",
                                       "manage", "--json"]))
    assert [(p["username"], p["permission"]) for p in listed] == [("eve", "manage")]
    result = runner.invoke(cli, ["users", "revoke", "eve", "secret"])
    assert result.exit_code == 0
    assert "now public" in result.output
