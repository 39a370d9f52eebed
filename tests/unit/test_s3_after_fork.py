"""The S3 store's fork hook: a new boto3 client per process, the inherited one kept open."""

from __future__ import annotations

import os

from shipyard.backends.artifacts.s3 import S3ArtifactStore


def test_a_forked_process_gets_its_own_boto3_client() -> None:
    store = S3ArtifactStore("bucket", endpoint_url="http://127.0.0.1:9", region="us-east-1")
    first = store._client
    store.after_fork()  # same process: nothing changes
    assert store._client is first
    store._pid = os.getpid() + 1  # as if this object had been inherited through os.fork()
    store.after_fork()
    assert store._client is not first
    assert store._inherited == [first]  # kept, not closed: its sockets are the parent's
    custom = S3ArtifactStore("bucket", client=first)
    custom._pid = os.getpid() + 1
    custom.after_fork()
    assert custom._client is first  # a caller-supplied client is the caller's to manage
