"""``shipyard quickstart``: the main job on embedded defaults (nothing to start)."""

from __future__ import annotations

import click


@click.command("quickstart")
@click.option("--exit", "exit_", is_flag=True,
              help="Exit when done (for scripts and tests); today it always exits.")
def quickstart(exit_: bool) -> None:
    """Train and track a few scikit-learn models, then print how to look at them."""
    try:
        from shipyard._internal.demo import run_demo
    except ImportError as exc:  # pragma: no cover - depends on the install
        from shipyard.errors import MissingDependencyError

        msg = f"The quickstart needs {exc.name}."
        raise MissingDependencyError(msg, hint="pip install 'shipyard[quickstart]'") from exc
    result = run_demo(click.echo)
    click.echo(f"\nDone in {result['seconds']:.1f}s. Look at what was tracked:")
    click.echo(f"  shipyard runs list -e {result['experiment']} -o 'metrics.test_auc DESC'")
    click.echo(f"  shipyard runs show {result['best_run']}")
    click.echo("  shipyard runs compare " + " ".join(result["run_ids"][:2]))


COMMANDS = [quickstart]
