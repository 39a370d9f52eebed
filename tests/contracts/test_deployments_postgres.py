from __future__ import annotations

import pytest

from shipyard.testing.contracts.serving import DeploymentStoreContract

pytestmark = pytest.mark.postgres


class TestPostgresDeploymentStore(DeploymentStoreContract):
    @pytest.fixture
    def store(self, postgres_url: str):
        from shipyard.backends.metadata.sql.postgresql import PostgresMetadataStore

        store = PostgresMetadataStore.from_uri(postgres_url)
        yield store
        store.close()
