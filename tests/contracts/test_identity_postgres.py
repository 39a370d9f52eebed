from __future__ import annotations

import pytest

from shipyard.testing.contracts.identity import IdentityStoreContract

pytestmark = pytest.mark.postgres


class TestPostgresIdentityStore(IdentityStoreContract):
    @pytest.fixture
    def store(self, postgres_url: str):
        from shipyard.backends.metadata.sql.postgresql import PostgresMetadataStore

        store = PostgresMetadataStore.from_uri(postgres_url)
        yield store
        store.close()
