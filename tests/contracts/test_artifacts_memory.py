import io

import pytest

from shipyard.backends.artifacts.memory import MemoryArtifactStore
from shipyard.testing.contracts.artifacts import ArtifactStoreContract


class TestMemoryArtifactStore(ArtifactStoreContract):
    @pytest.fixture
    def store(self) -> MemoryArtifactStore:
        return MemoryArtifactStore()


def test_from_uri_names_the_store_and_starts_empty() -> None:
    store = MemoryArtifactStore.from_uri("memory://scratch")
    assert store.uri("a/b") == "memory://scratch/a/b"
    assert list(store.list()) == []


def test_instances_do_not_share_objects() -> None:
    first, second = MemoryArtifactStore(), MemoryArtifactStore()
    first.put("k", io.BytesIO(b"x"))
    assert not second.exists("k")
