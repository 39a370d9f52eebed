"""Artifact routes: streamed upload, ranged download, HEAD, listing and deletion."""

from __future__ import annotations

import hashlib
import os

import pytest
from tests.server.conftest import ApiClient, err, ok

from shipyard.client import Client

API = "/api/v1"
DATA = bytes(range(256)) * 100  # 25,600 bytes


@pytest.fixture
def run_id(api: ApiClient) -> str:
    return ok(api.post(f"{API}/runs", json={"experiment": "art"}), 201)["id"]


def _put(api: ApiClient, run_id: str, path: str, data: bytes = DATA) -> dict:
    return ok(api.put(f"{API}/runs/{run_id}/artifacts/{path}", content=data), 201)


def test_upload_records_size_and_hash(api: ApiClient, run_id: str,
                                      server_client: Client) -> None:
    info = _put(api, run_id, "model/weights.bin")
    assert (info["path"], info["size"], info["sha256"]) == (
        "model/weights.bin", len(DATA), hashlib.sha256(DATA).hexdigest())
    assert server_client.tracking.read_artifact(run_id, "model/weights.bin") == DATA


def test_upload_streams_a_chunked_body(api: ApiClient, run_id: str) -> None:
    chunks = [os.urandom(70_000) for _ in range(20)]

    async def body():  # no Content-Length: chunked transfer
        for chunk in chunks:
            yield chunk

    info = ok(api.put(f"{API}/runs/{run_id}/artifacts/big.bin", content=body()), 201)
    assert info["size"] == 1_400_000
    assert info["sha256"] == hashlib.sha256(b"".join(chunks)).hexdigest()


def test_download_whole_and_ranges(api: ApiClient, run_id: str) -> None:
    _put(api, run_id, "d.bin")
    url = f"{API}/runs/{run_id}/artifacts/d.bin"
    whole = api.get(url)
    assert (whole.status_code, whole.content) == (200, DATA)
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["etag"] == f'"{hashlib.sha256(DATA).hexdigest()}"'
    for header, expected, content_range in (
        ("bytes=0-9", DATA[:10], "bytes 0-9/25600"),
        ("bytes=100-", DATA[100:], "bytes 100-25599/25600"),
        ("bytes=-5", DATA[-5:], "bytes 25595-25599/25600"),
        ("bytes=25000-99999", DATA[25000:], "bytes 25000-25599/25600"),
    ):
        part = api.get(url, headers={"Range": header})
        assert part.status_code == 206, header
        assert part.content == expected, header
        assert part.headers["content-range"] == content_range
        assert int(part.headers["content-length"]) == len(expected)


@pytest.mark.parametrize("header", ["bytes=25600-", "bytes=5-1", "bytes=abc", "items=0-1",
                                    "bytes=0-1,4-5", "bytes=-0"])
def test_bad_ranges_are_416(api: ApiClient, run_id: str, header: str) -> None:
    _put(api, run_id, "d.bin")
    response = api.get(f"{API}/runs/{run_id}/artifacts/d.bin", headers={"Range": header})
    err(response, 416, "range-not-satisfiable")
    assert response.headers["content-range"] == "bytes */25600"


def test_head_gives_size_and_etag_without_body(api: ApiClient, run_id: str) -> None:
    _put(api, run_id, "notes.txt", b"hello")
    head = api.head(f"{API}/runs/{run_id}/artifacts/notes.txt")
    assert head.status_code == 200
    assert head.headers["content-length"] == "5"
    assert head.content == b""
    assert head.headers["content-type"].startswith("text/plain")
    assert api.head(f"{API}/runs/{run_id}/artifacts/missing.txt").status_code == 404


def test_list_artifacts_with_prefix(api: ApiClient, run_id: str) -> None:
    for path in ("b.txt", "a/x.txt", "a/y.txt"):
        _put(api, run_id, path, b"1")
    listed = ok(api.get(f"{API}/runs/{run_id}/artifacts"))
    assert [a["path"] for a in listed] == ["a/x.txt", "a/y.txt", "b.txt"]
    listed = ok(api.get(f"{API}/runs/{run_id}/artifacts", params={"prefix": "a/"}))
    assert [a["path"] for a in listed] == ["a/x.txt", "a/y.txt"]


@pytest.mark.parametrize("path", ["%2E%2E/escape.txt", "a/%2E%2E/%2E%2E/b", "a//b",
                                  "a/%2E/b", "a%5C..%5C..%5Cb"])
def test_unsafe_paths_are_rejected_before_reading_the_body(api: ApiClient, run_id: str,
                                                           path: str) -> None:
    # percent-encoded, so the client does not normalise them away before they are sent
    err(api.put(f"{API}/runs/{run_id}/artifacts/{path}", content=b"x"), 400, "invalid-argument")


def test_missing_artifact_and_run_are_404(api: ApiClient, run_id: str) -> None:
    err(api.get(f"{API}/runs/{run_id}/artifacts/none.bin"), 404, "artifact-not-found")
    err(api.get(f"{API}/runs/{'0' * 32}/artifacts/none.bin"), 404, "run-not-found")
    err(api.put(f"{API}/runs/{'0' * 32}/artifacts/x.bin", content=b"x"), 404, "run-not-found")


def test_upload_to_a_deleted_run_is_refused(api: ApiClient, run_id: str) -> None:
    ok(api.post(f"{API}/runs/delete", json={"run_ids": [run_id]}), 204)
    err(api.put(f"{API}/runs/{run_id}/artifacts/x.bin", content=b"x"), 400, "invalid-argument")


def test_delete_artifacts_only_of_deleted_runs(api: ApiClient, run_id: str,
                                               server_client: Client) -> None:
    for path in ("a/1.txt", "a/2.txt", "b.txt"):
        _put(api, run_id, path, b"1")
    err(api.delete(f"{API}/runs/{run_id}/artifacts"), 409, "conflict")
    ok(api.post(f"{API}/runs/delete", json={"run_ids": [run_id]}), 204)
    assert ok(api.delete(f"{API}/runs/{run_id}/artifacts/b.txt")) == {"deleted": 1}
    assert ok(api.delete(f"{API}/runs/{run_id}/artifacts", params={"prefix": "a/"})) == {
        "deleted": 2}
    assert [k for k in server_client.artifacts.list() if run_id in k] == []


def test_empty_artifact(api: ApiClient, run_id: str) -> None:
    assert _put(api, run_id, "empty", b"")["size"] == 0
    got = api.get(f"{API}/runs/{run_id}/artifacts/empty")
    assert (got.status_code, got.content) == (200, b"")
    err(api.get(f"{API}/runs/{run_id}/artifacts/empty", headers={"Range": "bytes=0-"}), 416)


def test_a_store_failing_mid_upload_is_a_typed_error_and_records_nothing(
        api: ApiClient, run_id: str, server_client: Client,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from shipyard.errors import BackendError

    def broken_put(key: str, stream: object, *, overwrite: bool = True) -> int:
        stream.read(1000)  # type: ignore[attr-defined]
        msg = "disk full"
        raise BackendError(msg, backend="local")

    monkeypatch.setattr(server_client.artifacts, "put", broken_put)
    err(api.put(f"{API}/runs/{run_id}/artifacts/x.bin", content=b"x" * 3_000_000), 500,
        "backend-error")
    assert ok(api.get(f"{API}/runs/{run_id}/artifacts")) == []


def test_a_body_cut_short_publishes_nothing(api: ApiClient, run_id: str,
                                            server_client: Client) -> None:
    async def broken():
        yield b"x" * 200_000
        yield b"y" * 200_000
        msg = "client went away"
        raise ConnectionResetError(msg)

    err(api.put(f"{API}/runs/{run_id}/artifacts/cut.bin", content=broken()), 400,
        "invalid-argument")
    assert ok(api.get(f"{API}/runs/{run_id}/artifacts")) == []
    assert [k for k in server_client.artifacts.list() if run_id in k] == []
