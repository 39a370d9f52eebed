"""``shipyard db``: schema migrations of the metadata database."""

from __future__ import annotations

import click


@click.group("db")
def db() -> None:
    """Metadata database maintenance."""


def _engine() -> object:
    from sqlalchemy import create_engine

    from shipyard.config import load_settings

    settings = load_settings()
    uri = settings.resolved_metadata_uri()
    if uri.startswith("sqlite"):
        from shipyard.backends.metadata.sql.sqlite import make_sqlite_engine

        return make_sqlite_engine(uri)
    if uri.startswith(("postgresql://", "postgres://")):
        uri = "postgresql+psycopg://" + uri.split("://", 1)[1]
    return create_engine(uri)


@db.command("upgrade")
def upgrade() -> None:
    """Apply every pending migration (safe to run repeatedly)."""
    from shipyard.backends.metadata.sql.migrate import HEAD_REVISION, upgrade

    engine = _engine()
    upgrade(engine)  # type: ignore[arg-type]
    click.echo(f"Database is at revision {HEAD_REVISION}")


@db.command("current")
def current() -> None:
    """Print the database's schema revision and the one this Shipyard needs."""
    from shipyard.backends.metadata.sql.migrate import HEAD_REVISION, current_revision

    engine = _engine()
    with engine.connect() as conn:  # type: ignore[attr-defined]
        rev = current_revision(conn)
    click.echo(f"database: {rev or 'empty'}  required: {HEAD_REVISION}")


COMMANDS = [db]
