"""The one Alembic migration chain both dialects run. ``shipyard db upgrade`` calls `upgrade`.

`HEAD_REVISION` is checked without importing Alembic (a test keeps it equal to the chain's
head), so opening a store stays fast.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, Engine, inspect, text

HEAD_REVISION = "0004"
MIGRATIONS = Path(__file__).with_name("migrations")


def current_revision(conn: Connection) -> str | None:
    """The database's Alembic revision, or None for an empty database."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
    return None if row is None else str(row[0])


def alembic_config(engine: Engine) -> object:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (idempotent; safe when processes race: PostgreSQL
    takes an advisory lock, SQLite a lock file beside the database)."""
    from alembic import command

    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:":
        import fcntl

        with open(f"{database}.migrate.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            command.upgrade(alembic_config(engine), revision)  # type: ignore[arg-type]
        return
    command.upgrade(alembic_config(engine), revision)  # type: ignore[arg-type]


def script_head() -> str | None:
    """The head revision of the migration scripts (imports Alembic)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(None)).get_current_head()  # type: ignore[arg-type]
