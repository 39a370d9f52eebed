from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.backends.metadata.sql.sqlite import SQLiteMetadataStore
from shipyard.testing.contracts.identity import IdentityStoreContract


class TestSQLiteIdentityStore(IdentityStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path):
        store = SQLiteMetadataStore.from_uri(f"sqlite:///{tmp_path / 'meta.db'}")
        yield store
        store.close()
