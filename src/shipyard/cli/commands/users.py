"""``shipyard users`` and ``shipyard tokens``: server auth, managed on the server host.

These commands work directly on the metadata database of the local settings (the one the
server uses), so the first admin can be created before any server runs.
"""

from __future__ import annotations

import sys

import click

from shipyard.cli._output import get_client, json_option, print_json, print_table

ROLES = click.Choice(["viewer", "editor", "admin"])


def _password(stdin: bool, none: bool) -> str | None:
    if none:
        return None
    if stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            from shipyard.errors import InvalidArgumentError

            msg = "--password-stdin read an empty line; expected the password."
            raise InvalidArgumentError(msg, hint="echo \"$PASSWORD\" | shipyard users ...")
        return line
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


@click.group("users")
def users() -> None:
    """Users of the server and their roles (viewer, editor, admin)."""


@users.command("create")
@click.argument("username")
@click.option("--role", type=ROLES, default="viewer", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@click.option("--no-password", is_flag=True, help="A token-only user (no basic auth).")
@json_option
def create(username: str, role: str, password_stdin: bool, no_password: bool,
           as_json: bool) -> None:
    """Create a user (asks for a password unless --password-stdin or --no-password)."""
    user = get_client().auth.create_user(username, role=role,
                                         password=_password(password_stdin, no_password))
    if as_json:
        print_json(user)
    else:
        click.echo(f"Created user {user.username!r} ({user.role.value})")


@users.command("list")
@json_option
def list_(as_json: bool) -> None:
    """List users."""
    found = get_client().auth.list_users()
    if as_json:
        print_json(found)
        return
    print_table("Users", ["name", "role", "password", "disabled", "created"],
                [[u.username, u.role, "yes" if u.has_password else "no", u.disabled,
                  u.created_at] for u in found])


@users.command("set-role")
@click.argument("username")
@click.argument("role", type=ROLES)
def set_role(username: str, role: str) -> None:
    """Change a user's role."""
    user = get_client().auth.set_role(username, role)
    click.echo(f"User {user.username!r} is now {user.role.value}")


@users.command("set-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
def set_password(username: str, password_stdin: bool) -> None:
    """Set a user's password."""
    password = _password(password_stdin, none=False)
    assert password is not None
    get_client().auth.set_password(username, password)
    click.echo(f"Password of {username!r} changed")


@users.command("disable")
@click.argument("username")
@click.option("--enable", is_flag=True, help="Enable the user again instead.")
def disable(username: str, enable: bool) -> None:
    """Disable a user (their password and tokens stop working) or, with --enable, undo it."""
    user = get_client().auth.set_disabled(username, disabled=not enable)
    click.echo(f"User {user.username!r} is {'disabled' if user.disabled else 'enabled'}")


@users.command("grant")
@click.argument("username")
@click.argument("experiment")
@click.option("--permission", type=click.Choice(["read", "edit", "manage"]), default="edit",
              show_default=True)
@json_option
def grant(username: str, experiment: str, permission: str, as_json: bool) -> None:
    """Give USERNAME access to EXPERIMENT (name or id), which makes it private: only the
    users listed (and admins) can see it."""
    client = get_client()
    exp = client.tracking.get_experiment(experiment)
    listed = client.auth.grant(client.auth.policy(None), exp.id, username, permission)
    if as_json:
        print_json(listed)
        return
    print_table(f"Access to {exp.name}", ["user", "permission"],
                [[p.username, p.permission] for p in listed])


@users.command("revoke")
@click.argument("username")
@click.argument("experiment")
def revoke(username: str, experiment: str) -> None:
    """Take USERNAME off EXPERIMENT's access list (an empty list makes it public)."""
    client = get_client()
    exp = client.tracking.get_experiment(experiment)
    left = client.auth.revoke(client.auth.policy(None), exp.id, username)
    state = "private" if left else "public"
    click.echo(f"Removed {username!r} from {exp.name!r} (now {state})")


@click.group("tokens")
def tokens() -> None:
    """API tokens (stored only as hashes; the secret is shown once)."""


@tokens.command("create")
@click.option("--user", "username", required=True, help="Owner of the token.")
@click.option("--name", required=True, help="What the token is for, e.g. 'ci'.")
@click.option("--expires-in-days", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Expire after this many days (default: never).")
@json_option
def create_token(username: str, name: str, expires_in_days: float | None,
                 as_json: bool) -> None:
    """Create a token and print it once (set it as SHIPYARD_TRACKING_TOKEN)."""
    from datetime import timedelta

    expires = None if expires_in_days is None else timedelta(days=expires_in_days)
    record, secret = get_client().auth.create_token(username, name=name, expires_in=expires)
    if as_json:
        print_json({"token": secret, "record": record})
        return
    click.echo(secret)
    click.echo(f"Token {record.id} for {record.username!r}; it is shown only now. Use it as "
               "SHIPYARD_TRACKING_TOKEN or 'Authorization: Bearer <token>'.", err=True)


@tokens.command("list")
@click.option("--user", "username", default=None, help="Only this user's tokens.")
@json_option
def list_tokens(username: str | None, as_json: bool) -> None:
    """List tokens (never their secrets)."""
    found = get_client().auth.list_tokens(username)
    if as_json:
        print_json(found)
        return
    print_table("API tokens", ["id", "user", "name", "prefix", "created", "last used",
                               "expires", "revoked"],
                [[t.id, t.username, t.name, t.prefix + "...", t.created_at, t.last_used_at,
                  t.expires_at, t.revoked_at] for t in found])


@tokens.command("revoke")
@click.argument("token_id")
def revoke_token(token_id: str) -> None:
    """Revoke a token; it stops working at once."""
    token = get_client().auth.revoke_token(token_id)
    click.echo(f"Revoked token {token.id} ({token.name!r} of {token.username!r})")


COMMANDS = [users, tokens]
