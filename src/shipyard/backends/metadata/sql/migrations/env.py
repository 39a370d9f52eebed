"""Alembic environment: runs against the engine Shipyard hands over in ``cfg.attributes``."""

from __future__ import annotations

from alembic import context

from shipyard.backends.metadata.sql.schema import metadata

config = context.config
engine = config.attributes["engine"]

with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=metadata,
                      render_as_batch=engine.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
