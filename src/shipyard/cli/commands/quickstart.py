"""``shipyard quickstart``: the main job on embedded defaults (nothing to start)."""

from __future__ import annotations

import click


@click.command("quickstart")
@click.option("--exit", "exit_", is_flag=True,
              help="Exit when done instead of serving until Ctrl-C (for scripts and tests).")
@click.option("--window", default=8.0, show_default=True, type=click.FloatRange(3, 600),
              help="Seconds per monitoring window of the simulated production traffic.")
def quickstart(exit_: bool, window: float) -> None:
    """Take a churn model from data to monitored production in one go: train and track
    candidates, register and promote the best through a gate, serve it, send traffic with
    drift and late labels, and let the monitor alert. Everything lands in ./.shipyard."""
    try:
        from shipyard.quickstart import run_quickstart
    except ImportError as exc:  # pragma: no cover - depends on the install
        from shipyard.errors import MissingDependencyError

        msg = f"The quickstart needs {exc.name}."
        raise MissingDependencyError(msg, hint="pip install 'shipyard[all]'") from exc
    run_quickstart(say=click.echo, keep_serving=not exit_, window_seconds=window)


COMMANDS = [quickstart]
