"""``shipyard config show``: every setting, its value and where to set it."""

from __future__ import annotations

import click

from shipyard.cli._output import json_option, print_json, print_table


@click.group("config")
def config() -> None:
    """Settings."""


@config.command("show")
@json_option
def show(as_json: bool) -> None:
    """Resolved settings (arguments > env > shipyard.toml > defaults)."""
    from shipyard.config import SETTINGS, env_var, load_settings

    settings = load_settings()
    secret = {"tracking_password", "tracking_token"}
    values = {k: ("***" if k in secret and getattr(settings, k) else getattr(settings, k))
              for k in SETTINGS}
    values["resolved_metadata_uri"] = settings.resolved_metadata_uri()
    values["resolved_artifact_uri"] = settings.resolved_artifact_uri()
    if as_json:
        print_json({k: str(v) if v is not None else None for k, v in values.items()})
        return
    print_table("Settings", ["setting", "env", "value", "meaning"],
                [[k, env_var(k), values[k], SETTINGS[k]] for k in SETTINGS])


COMMANDS = [config]
