import io
import socket
import uuid
from typing import Any

import boto3
import pytest

from shipyard.backends.artifacts.s3 import S3ArtifactStore
from shipyard.config import Settings
from shipyard.errors import (
    ArtifactNotFoundError,
    BackendError,
    BackendUnavailableError,
    ConfigError,
)
from shipyard.testing.contracts.artifacts import ArtifactStoreContract
from shipyard.testing.s3server import S3Server

pytestmark = pytest.mark.s3


@pytest.fixture(scope="session")
def bucket() -> str:
    """One bucket per test session, so parallel sessions never see each other's objects."""
    return f"shipyard-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def aws_env(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """Credentials through the standard AWS variables, isolated from ~/.aws."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.secret_key)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    return s3_server


@pytest.fixture(scope="session")
def client(s3_server: S3Server) -> Any:
    """One boto3 client for the contract tests (building one per test costs ~0.5 s)."""
    session = boto3.session.Session(
        aws_access_key_id=s3_server.access_key, aws_secret_access_key=s3_server.secret_key
    )
    return session.client("s3", endpoint_url=s3_server.endpoint_url, region_name="us-east-1")


class TestS3ArtifactStore(ArtifactStoreContract):
    @pytest.fixture
    def store(self, client: Any, bucket: str) -> S3ArtifactStore:
        prefix = f"test-{uuid.uuid4().hex[:8]}"  # each test starts from an empty listing
        return S3ArtifactStore(bucket, prefix, client=client)


def test_from_uri_takes_endpoint_and_region_from_settings(aws_env: S3Server, bucket: str) -> None:
    settings = Settings(s3_endpoint_url=aws_env.endpoint_url, s3_region="us-east-1")
    store = S3ArtifactStore.from_uri(f"s3://{bucket}/from-uri/{uuid.uuid4().hex[:8]}", settings)
    store.put("x.txt", io.BytesIO(b"hello"))
    assert store.uri("x.txt") == f"s3://{bucket}/{store.prefix}/x.txt"
    assert store.open("x.txt").read() == b"hello"


def test_from_uri_rejects_urls_without_a_bucket() -> None:
    with pytest.raises(ConfigError, match="s3://bucket/prefix"):
        S3ArtifactStore.from_uri("s3:///no-bucket")


def test_bucket_is_created_on_first_put(aws_env: S3Server) -> None:
    store = S3ArtifactStore(f"lazy-{uuid.uuid4().hex[:12]}", endpoint_url=aws_env.endpoint_url)
    assert list(store.list()) == []  # no bucket yet: nothing stored, no error
    with pytest.raises(ArtifactNotFoundError):
        store.open("k")
    store.delete("k")
    store.put("k", io.BytesIO(b"v"))
    assert store.open("k").read() == b"v"


def test_wrong_credentials_raise_backend_error(
    aws_env: S3Server, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    store = S3ArtifactStore(bucket, endpoint_url=aws_env.endpoint_url)
    with pytest.raises(BackendError, match="403") as info:
        store.put("k", io.BytesIO(b"v"))
    assert info.value.backend == "s3"
    assert "AWS_SECRET_ACCESS_KEY" in str(info.value)  # the hint says what to check
    assert info.value.__cause__ is not None


def test_unreachable_endpoint_raises_backend_unavailable(aws_env: S3Server) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again below: nothing listens there
    store = S3ArtifactStore("any-bucket", endpoint_url=f"http://127.0.0.1:{port}")
    with pytest.raises(BackendUnavailableError, match="unreachable") as info:
        store.exists("k")
    assert info.value.retryable


def test_a_forked_child_talks_to_s3_over_connections_of_its_own(aws_env: S3Server,
                                                                   bucket: str) -> None:
    """``shipyard serve --workers N`` forks after the parent used the store (the model was
    downloaded): the worker must get a client of its own and both must keep working."""
    import os

    settings = Settings(s3_endpoint_url=aws_env.endpoint_url, s3_region="us-east-1")
    store = S3ArtifactStore.from_uri(f"s3://{bucket}/fork/{uuid.uuid4().hex[:8]}", settings)
    store.put("parent.txt", io.BytesIO(b"before the fork"))  # the pool holds a connection
    inherited = store._client
    pid = os.fork()
    if pid == 0:
        code = 3
        try:
            store.after_fork()
            fresh = store._client is not inherited
            with store.open("parent.txt") as f:
                ok = f.read() == b"before the fork"
            store.put("child.txt", io.BytesIO(b"from the worker"))
            code = 0 if fresh and ok else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert store._client is inherited
    with store.open("child.txt") as f:
        assert f.read() == b"from the worker"
    store.put("parent-again.txt", io.BytesIO(b"still fine"))
    assert store.exists("parent-again.txt")
