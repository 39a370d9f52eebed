from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect

from shipyard.backends.metadata.sql import schema
from shipyard.backends.metadata.sql.migrate import HEAD_REVISION, script_head, upgrade
from shipyard.backends.metadata.sql.sqlite import SQLiteMetadataStore, make_sqlite_engine
from shipyard.errors import SchemaVersionError


def test_head_constant_matches_the_migration_chain() -> None:
    assert script_head() == HEAD_REVISION


def test_migrations_build_exactly_the_declared_schema(tmp_path: Path) -> None:
    engine = make_sqlite_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    with engine.connect() as conn:
        tables = set(inspect(conn).get_table_names()) - {"alembic_version"}
        assert tables == set(schema.metadata.tables)
        for name, table in schema.metadata.tables.items():
            cols = {c["name"] for c in inspect(conn).get_columns(name)}
            assert cols == {c.name for c in table.columns}, name


def test_stale_schema_raises_and_names_the_upgrade_command(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(make_sqlite_engine(url), "0001")
    with pytest.raises(SchemaVersionError, match="0001") as info:
        SQLiteMetadataStore.from_uri(url)
    assert "shipyard db upgrade" in str(info.value)
    upgrade(make_sqlite_engine(url))
    SQLiteMetadataStore.from_uri(url).close()


@pytest.mark.postgres
def test_migrations_run_on_postgres(postgres_url: str) -> None:
    from shipyard.backends.metadata.sql.postgresql import PostgresMetadataStore

    store = PostgresMetadataStore.from_uri(postgres_url)
    store.check()
    store.close()
