"""The ``shipyard`` command: a click group, one module per subsystem in ``commands/``.

Commands import the library lazily so ``shipyard --help`` stays fast.
"""

from __future__ import annotations

import sys
from importlib.metadata import entry_points
from typing import Any

import click

from shipyard._version import __version__


class ShipyardGroup(click.Group):
    """Turns a `ShipyardError` into a headline + hint on stderr and exit code 1, and loads
    third-party commands (entry-point group ``shipyard.cli``) only when they may be needed."""

    _plugins_loaded = False

    def _load_plugins(self) -> None:
        if not self._plugins_loaded:
            self._plugins_loaded = True
            for ep in entry_points(group="shipyard.cli"):
                self.add_command(ep.load(), ep.name)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is None:
            self._load_plugins()
            found = super().get_command(ctx, cmd_name)
        return found

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_plugins()
        return super().list_commands(ctx)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            from shipyard.errors import ShipyardError

            if not isinstance(exc, ShipyardError) or (ctx.obj and ctx.obj.get("debug")):
                raise
            click.secho(f"Error: {exc.message}", fg="red", err=True)
            if exc.hint:
                click.echo(f"  hint: {exc.hint}", err=True)
            sys.exit(1)


@click.group(cls=ShipyardGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="shipyard")
@click.option("--debug", is_flag=True, help="Show full tracebacks.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Shipyard: track experiments, register models, serve and monitor them.

    Settings come from SHIPYARD_* variables or ./shipyard.toml; by default everything lives in
    ./.shipyard (a SQLite database and an artifact folder). See `shipyard config show`.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def _register() -> None:
    from shipyard.cli.commands import (
        config,
        db,
        experiments,
        models,
        monitor,
        quickstart,
        runs,
        serve,
        server,
        ui,
        users,
    )

    for module in (experiments, runs, models, db, config, quickstart, server, users, serve,
                   monitor, ui):
        for command in module.COMMANDS:
            cli.add_command(command)


_register()

if __name__ == "__main__":  # pragma: no cover
    cli()
