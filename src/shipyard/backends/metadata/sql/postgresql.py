"""PostgreSQL dialect (psycopg 3): pooled connections and native ON CONFLICT upserts."""

from __future__ import annotations

import psycopg  # noqa: F401 - imported here so a missing driver becomes an install hint
from sqlalchemy import create_engine
from sqlalchemy.dialects.postgresql import insert as pg_insert

from shipyard.backends.metadata.sql.store import SqlMetadataStore
from shipyard.config import Settings


class PostgresMetadataStore(SqlMetadataStore):
    """Metadata in PostgreSQL, for teams and servers."""

    backend_name = "postgresql"
    dialect_insert = staticmethod(pg_insert)

    @classmethod
    def from_uri(cls, uri: str, settings: Settings | None = None) -> PostgresMetadataStore:
        if uri.startswith(("postgresql://", "postgres://")):
            uri = "postgresql+psycopg://" + uri.split("://", 1)[1]
        engine = create_engine(uri, pool_pre_ping=True, pool_size=5, max_overflow=10,
                               connect_args={"connect_timeout": 10})
        return cls(engine)
