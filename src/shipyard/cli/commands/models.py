"""``shipyard models``: the model registry from the command line.

``promote`` is meant for CI: it prints one row per rule (left value, right value, pass/fail)
and exits with 1 when any rule fails, 0 when the alias moved.
"""

from __future__ import annotations

from typing import Any

import click

from shipyard.cli._output import fmt, get_client, json_option, print_json, print_table


@click.group("models")
def models() -> None:
    """Registered models: versions, aliases, promotion gates and history."""


@models.command("list")
@click.option("-n", "--max-results", default=100, show_default=True, help="Page size.")
@click.option("--page-token", default=None, help="Token printed by the previous page.")
@json_option
def list_(max_results: int, page_token: str | None, as_json: bool) -> None:
    """List registered models with their aliases and latest version."""
    page = get_client().registry.list_registered_models(max_results=max_results,
                                                        page_token=page_token)
    if as_json:
        print_json({"models": page.items, "next_page_token": page.next_page_token})
        return
    print_table("Models", ["name", "latest", "aliases", "updated", "description"], [
        [m.name, m.latest_version, ", ".join(f"{a}={v}" for a, v in m.aliases.items()),
         m.updated_at, m.description] for m in page.items])
    if page.next_page_token:
        click.echo(f"more: --page-token {page.next_page_token}")


@models.command("show")
@click.argument("name")
@json_option
def show(name: str, as_json: bool) -> None:
    """One model: description, tags, aliases and versions."""
    registry = get_client().registry
    model = registry.get_registered_model(name)
    aliases = registry.list_aliases(name)
    versions = registry.list_model_versions(name)
    if as_json:
        print_json({"model": model, "aliases": aliases, "versions": versions})
        return
    print_table(f"Model {name}", ["field", "value"], [
        ["description", model.description], ["created", model.created_at],
        ["created by", model.created_by], ["latest version", model.latest_version],
        *[[f"tag {k}", v] for k, v in sorted(model.tags.items())]])
    if aliases:
        print_table("Aliases", ["alias", "version", "revision", "moved", "by"],
                    [[a.alias, a.version, a.revision, a.updated_at, a.updated_by]
                     for a in aliases])
    _versions_table(versions)


def _versions_table(versions: list[Any]) -> None:
    keys = sorted({k for v in versions for k in v.metrics})[:5]
    print_table("Versions", ["version", "status", "aliases", "flavor", "run", "created",
                             *keys],
                [[v.version, v.status, ", ".join(v.aliases), v.flavor, (v.run_id or "")[:12],
                  v.created_at, *[v.metrics.get(k) for k in keys]] for v in versions])


@models.command("versions")
@click.argument("name")
@click.option("--all", "include_deleted", is_flag=True, help="Include deleted versions.")
@json_option
def versions(name: str, include_deleted: bool, as_json: bool) -> None:
    """Versions of a model with their aliases and metrics snapshot."""
    items = get_client().registry.list_model_versions(name, include_deleted=include_deleted)
    if as_json:
        print_json(items)
        return
    _versions_table(items)


@models.command("register")
@click.argument("name")
@click.argument("run_id")
@click.option("--path", "artifact_path", default="model", show_default=True,
              help="Folder of the model package inside the run's artifacts.")
@click.option("--description", default="", help="What this version is.")
@json_option
def register(name: str, run_id: str, artifact_path: str, description: str,
             as_json: bool) -> None:
    """Register the model package of a run as the next version of NAME."""
    mv = get_client().registry.create_model_version(
        name, run_id=run_id, artifact_path=artifact_path, description=description)
    if as_json:
        print_json(mv)
    else:
        click.echo(f"Registered {mv.uri}")


@models.command("alias")
@click.argument("name")
@click.argument("alias")
@click.argument("version", required=False, type=int)
@click.option("--delete", "remove", is_flag=True, help="Remove the alias instead.")
@click.option("--reason", default=None, help="Why; kept in the audit trail.")
@json_option
def alias(name: str, alias: str, version: int | None, remove: bool, reason: str | None,
          as_json: bool) -> None:
    """Point ALIAS of model NAME at VERSION (or remove it with --delete)."""
    registry = get_client().registry
    if remove:
        registry.delete_alias(name, alias, reason=reason)
        click.echo(f"Removed alias {alias!r} of {name!r}")
        return
    if version is None:
        msg = "give the VERSION to point the alias at, or --delete"
        raise click.UsageError(msg)
    moved = registry.set_alias(name, alias, version, reason=reason)
    if as_json:
        print_json(moved)
    else:
        click.echo(f"{name}@{alias} -> version {moved.version} (revision {moved.revision})")


def _rule_rows(results: list[Any]) -> list[list[Any]]:
    rows = []
    for r in results:
        verdict = "skip" if r.skipped else ("PASS" if r.passed else "FAIL")
        rows.append([r.rule, "" if r.left is None else fmt(r.left),
                     r.op or "", "" if r.right is None else fmt(r.right), verdict, r.detail])
    return rows


@models.command("promote")
@click.argument("name")
@click.option("--to", "to", required=True, help="Alias to move, e.g. champion.")
@click.option("--from", "from_alias", default=None, help="Alias of the candidate version.")
@click.option("--version", "version", type=int, default=None, help="Candidate version.")
@click.option("--require", "rules", multiple=True,
              help="Rule that must hold, e.g. \"metrics.auc >= champion.metrics.auc + 0.005\" "
                   "(repeatable).")
@click.option("--reason", default=None, help="Why; kept in the audit trail.")
@click.option("--dry-run", is_flag=True, help="Evaluate the rules, move nothing.")
@json_option
def promote(name: str, to: str, from_alias: str | None, version: int | None,
            rules: tuple[str, ...], reason: str | None, dry_run: bool, as_json: bool) -> None:
    """Move alias --to onto the candidate only if every --require rule holds.

    Exit code 0: promoted (or, with --dry-run, every rule holds); 1: a rule failed (the table
    shows which) or the alias moved meanwhile."""
    from shipyard.errors import PromotionRejectedError

    registry = get_client().registry
    if dry_run:
        result, _ = registry.evaluate_promotion(name, to=to, rules=list(rules),
                                                from_alias=from_alias, version=version)
        ok, promoted, results = result.passed, False, result.results
        candidate, previous = result.candidate, result.previous
    else:
        try:
            done = registry.promote(name, to=to, rules=list(rules), from_alias=from_alias,
                                    version=version, reason=reason)
        except PromotionRejectedError as exc:
            ok, promoted, results = False, False, list(exc.results)
            candidate, previous = None, None
        else:
            ok, promoted, results = True, True, done.results
            candidate, previous = done.candidate, done.previous
    if as_json:
        print_json({"promoted": promoted, "passed": ok, "candidate": candidate,
                    "previous": previous, "rules": results})
    else:
        if results:
            print_table(f"Promotion gates: {name} -> {to}",
                        ["rule", "left", "op", "right", "result", "detail"],
                        _rule_rows(results))
        if promoted:
            click.echo(f"Promoted {name} version {candidate} to {to!r} (was {previous}).")
        elif dry_run:
            click.echo("Dry run: " + ("every rule holds." if ok else "a rule failed."))
        else:
            click.secho(f"Not promoted: a rule failed; {name}@{to} is unchanged.", fg="red",
                        err=True)
    if not ok:
        raise SystemExit(1)


@models.command("history")
@click.argument("name")
@click.option("-n", "--max-results", default=1000, show_default=True, help="Newest N events.")
@json_option
def history(name: str, max_results: int, as_json: bool) -> None:
    """The audit trail of a model: registrations, alias moves, tag changes, deletions."""
    events = get_client().registry.history(name, max_results=max_results)
    if as_json:
        print_json(events)
        return
    rows = []
    for e in events:
        d = dict(e.detail)
        change = ""
        if "from" in d or "to" in d:
            change = f"{d.pop('from', None)} -> {d.pop('to', None)}"
        what = ", ".join(f"{k}={v}" for k, v in d.items()
                         if v not in (None, "", [], {}) and k not in ("rules", "outcome"))
        rows.append([e.at, e.actor, e.action, d.get("outcome", ""), change, what])
    print_table(f"History of {name}", ["when", "who", "action", "outcome", "change", "detail"],
                rows)


@models.command("delete")
@click.argument("name")
@click.option("--version", type=int, default=None, help="Delete only this version.")
@click.option("--hard", is_flag=True, help="Remove the version row instead of marking it.")
@click.option("--soft", is_flag=True,
              help="Without --version: keep the model and mark every version deleted.")
@click.option("--reason", default=None, help="Why; kept in the audit trail.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def delete(name: str, version: int | None, hard: bool, soft: bool, reason: str | None,
           yes: bool) -> None:
    """Delete a version (soft by default) or, without --version, the whole model (for good,
    unless --soft). Through a server, deleting for good needs the admin role."""
    registry = get_client().registry
    if version is not None:
        registry.delete_model_version(name, version, hard=hard, reason=reason)
        click.echo(f"Deleted version {version} of {name!r}" + (" for good" if hard else ""))
        return
    if soft:
        registry.delete_registered_model(name, hard=False, reason=reason)
        click.echo(f"Marked every version of {name!r} deleted; the model and its history stay")
        return
    if not yes:
        click.confirm(f"Delete model {name!r} and all its versions for good?", abort=True)
    registry.delete_registered_model(name, reason=reason)
    click.echo(f"Deleted model {name!r}; its history stays readable")


COMMANDS = [models]
