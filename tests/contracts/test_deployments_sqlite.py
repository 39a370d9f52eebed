from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.backends.metadata.sql.sqlite import SQLiteMetadataStore
from shipyard.testing.contracts.serving import DeploymentStoreContract


class TestSQLiteDeploymentStore(DeploymentStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path, migrated_sqlite: Path):
        import shutil

        shutil.copy(migrated_sqlite, tmp_path / "meta.db")
        store = SQLiteMetadataStore.from_uri(f"sqlite:///{tmp_path / 'meta.db'}")
        yield store
        store.close()
