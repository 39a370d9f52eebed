"""Alembic environment: runs against the engine Shipyard hands over in ``cfg.attributes``."""

from __future__ import annotations

from alembic import context

from shipyard.backends.metadata.sql.schema import metadata

config = context.config
engine = config.attributes["engine"]

with engine.connect() as connection:
    if engine.dialect.name == "postgresql":
        # Serialize concurrent first starts: the lock is held until the connection closes.
        connection.exec_driver_sql("SELECT pg_advisory_lock(7262054399)")
        connection.commit()
    context.configure(connection=connection, target_metadata=metadata,
                      render_as_batch=engine.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
    if engine.dialect.name == "postgresql":
        connection.exec_driver_sql("SELECT pg_advisory_unlock(7262054399)")
        connection.commit()
