"""The remote store (client mode) passes the same contract as the local stores, through a
real uvicorn server on a loopback port backed by SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shipyard.testing.contracts.metadata import MetadataStoreContract


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from shipyard.client import Client
    from shipyard.server import create_app
    from shipyard.testing.server import serve_in_thread

    home: Path = tmp_path_factory.mktemp("remote-contract")
    with Client(home=home) as client, serve_in_thread(create_app(client)) as url:
        yield url


class TestRemoteMetadataStore(MetadataStoreContract):
    @pytest.fixture
    def store(self, server_url: str):
        from shipyard.backends.remote.http import RemoteMetadataStore
        from shipyard.config import load_settings

        store = RemoteMetadataStore.from_uri(server_url, load_settings(http_retries=1))
        yield store
        store.close()
