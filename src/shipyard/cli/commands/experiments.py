"""``shipyard experiments``: list, create, delete and restore experiments."""

from __future__ import annotations

import click

from shipyard.cli._output import get_client, json_option, print_json, print_table


@click.group("experiments")
def experiments() -> None:
    """Named groups of runs."""


@experiments.command("list")
@click.option("--all", "include_deleted", is_flag=True, help="Include deleted experiments.")
@json_option
def list_(include_deleted: bool, as_json: bool) -> None:
    """List experiments."""
    exps = get_client().tracking.list_experiments(include_deleted=include_deleted)
    if as_json:
        print_json(exps)
        return
    print_table("Experiments", ["id", "name", "lifecycle", "created", "description"],
                [[e.id, e.name, e.lifecycle, e.created_at, e.description] for e in exps])


@experiments.command("create")
@click.argument("name")
@click.option("--description", default="", help="What the experiment is about.")
@json_option
def create(name: str, description: str, as_json: bool) -> None:
    """Create an experiment."""
    exp = get_client().tracking.create_experiment(name, description=description)
    if as_json:
        print_json(exp)
    else:
        click.echo(f"Created experiment {exp.name!r} ({exp.id})")


@experiments.command("delete")
@click.argument("experiment")
def delete(experiment: str) -> None:
    """Soft-delete an experiment (by name or id) and its runs; `shipyard gc` purges."""
    exp = get_client().tracking.delete_experiment(experiment)
    click.echo(f"Deleted experiment {exp.name!r}; restore with `shipyard experiments restore`")


@experiments.command("restore")
@click.argument("experiment")
def restore(experiment: str) -> None:
    """Restore a soft-deleted experiment and its runs."""
    exp = get_client().tracking.restore_experiment(experiment)
    click.echo(f"Restored experiment {exp.name!r}")


COMMANDS = [experiments]
