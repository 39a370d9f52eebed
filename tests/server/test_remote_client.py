"""Client mode: the same fluent API, Client and CLI against a real server on loopback."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

import shipyard
from shipyard.backends.remote._session import RemoteSession
from shipyard.backends.remote.http import RemoteArtifactStore, RemoteMetadataStore
from shipyard.cli.main import cli
from shipyard.client import Client
from shipyard.entities.tracking import DatasetInput, RunStatus
from shipyard.errors import (
    AuthenticationError,
    BackendUnavailableError,
    ExperimentNotFoundError,
    InvalidFilterError,
    ParamConflictError,
    PermissionDeniedError,
    RemoteError,
    RunNotFoundError,
)
from shipyard.server import create_app
from shipyard.testing.server import free_port, serve_in_thread
from shipyard.tracking import TrackingService, _fluent


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Client]]:
    home = tmp_path_factory.mktemp("served")
    with Client(home=home) as server_side:
        auth = server_side.auth
        auth.create_user("admin", role="admin", password="admin password")
        with serve_in_thread(create_app(server_side, auth=False)) as url:
            yield url, server_side


@pytest.fixture
def remote(served: tuple[str, Client]) -> Iterator[Client]:
    """A client-mode Client that the fluent API uses too."""
    _fluent._reset_for_tests()
    client = Client(tracking_uri=served[0], http_retries=2)
    _fluent._client = client
    yield client
    _fluent._reset_for_tests()


def test_the_fluent_api_works_through_the_server(remote: Client, tmp_path: Path,
                                                 served: tuple[str, Client]) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.txt").write_text("A")
    (tmp_path / "data" / "sub").mkdir()
    (tmp_path / "data" / "sub" / "b.txt").write_text("B")
    with shipyard.start_run(experiment="remote-e2e", run_name="first") as run:
        shipyard.log_params({"lr": 0.1, "model": "rf"})
        for i in range(3000):
            shipyard.log_metric("loss", 1 / (i + 1))
        shipyard.log_metrics({"acc": 0.9, "nan": float("nan")}, step=3)
        shipyard.set_tag("stage", "dev")
        shipyard.log_dict({"a": 1}, "config.json")
        shipyard.log_artifacts(str(tmp_path / "data"), "data")
        shipyard.log_input(DatasetInput(name="train", digest="d1", num_rows=5))
        with shipyard.start_run(nested=True) as child:
            shipyard.log_metric("x", 1.0)
    server = served[1].tracking
    got = server.get_run(run.id)
    assert got.status is RunStatus.FINISHED
    assert got.params == {"lr": 0.1, "model": "rf"}
    assert got.tags == {"stage": "dev"}
    assert [m.step for m in server.get_metric_history(run.id, "loss")] == list(range(3000))
    assert got.metrics["acc"] == 0.9
    assert [a.path for a in server.list_artifacts(run.id)] == [
        "config.json", "data/a.txt", "data/sub/b.txt"]
    assert server.read_artifact(run.id, "data/sub/b.txt") == b"B"
    assert server.get_run(child.id).parent_id == run.id
    assert [d.name for d in server.list_inputs(run.id)] == ["train"]
    found = shipyard.search_runs("remote-e2e", filter="metrics.acc > 0.5 and params.model = 'rf'")
    assert [r.id for r in found] == [run.id]
    assert remote.tracking.read_artifact(run.id, "config.json") == b'{\n  "a": 1\n}'
    out = remote.tracking.download_artifacts(run.id, tmp_path / "back", "data/")
    assert sorted(p.relative_to(tmp_path / "back").as_posix() for p in out) == [
        "data/a.txt", "data/sub/b.txt"]


def test_a_failing_run_is_marked_failed_through_the_server(remote: Client) -> None:
    with pytest.raises(ZeroDivisionError), shipyard.start_run(experiment="remote-fail") as run:  # noqa: PT012
        shipyard.log_metric("m", 1.0)
        1 / 0  # noqa: B018
    got = remote.tracking.get_run(run.id)
    assert got.status is RunStatus.FAILED
    assert "ZeroDivisionError" in (got.error or "")
    assert got.metrics == {"m": 1.0}


def test_typed_errors_cross_the_wire(remote: Client) -> None:
    svc = remote.tracking
    run = svc.create_run(experiment="remote-errors")
    svc.log_param(run.id, "lr", 0.1)
    with pytest.raises(ParamConflictError, match="immutable") as info:
        svc.log_param(run.id, "lr", 0.2)
    assert "another key" in (info.value.hint or "")
    with pytest.raises(ExperimentNotFoundError):
        svc.get_experiment("no-such-experiment")
    with pytest.raises(RunNotFoundError):
        svc.get_run("0" * 32)
    with pytest.raises(InvalidFilterError, match=r"column \d+"):
        svc.search_runs(filter="metrics.x >")


def test_experiment_names_with_slashes_work_remotely(remote: Client) -> None:
    run = remote.tracking.create_run(experiment="team/churn v2")
    exp = remote.tracking.get_experiment("team/churn v2")
    assert exp.id == run.experiment_id
    assert [r.id for r in remote.tracking.search_runs("team/churn v2").items] == [run.id]


def test_client_side_validation_still_happens_first(remote: Client) -> None:
    from shipyard.errors import InvalidArgumentError

    run = remote.tracking.create_run(experiment="remote-errors")
    with pytest.raises(InvalidArgumentError, match="numeric"):
        remote.tracking.log_metric(run.id, "m", "nope")  # type: ignore[arg-type]


def test_artifacts_stream_both_ways_and_support_ranges(remote: Client, tmp_path: Path) -> None:
    run = remote.tracking.create_run(experiment="remote-art")
    data = os.urandom(5 * 1024 * 1024 + 17)
    info = remote.tracking.log_stream(run.id, io.BytesIO(data), "big/blob.bin")
    assert (info.size, info.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    with remote.tracking.open_artifact(run.id, "big/blob.bin") as fh:
        assert hashlib.sha256(fh.read()).hexdigest() == info.sha256
    with remote.tracking.open_artifact(run.id, "big/blob.bin", start=1000, end=3000) as fh:
        assert fh.read() == data[1000:3000]
    store = remote.artifacts
    assert isinstance(store, RemoteArtifactStore)
    key = f"{run.experiment_id}/{run.id}/big/blob.bin"
    assert store.exists(key)
    assert store.size(key) == len(data)
    assert not store.exists(f"{run.experiment_id}/{run.id}/nope")
    assert list(store.list(f"{run.experiment_id}/{run.id}/")) == [key]
    assert key in list(store.list(f"{run.experiment_id}/"))
    with store.open(key, start=len(data) + 5) as fh:
        assert fh.read() == b""
    assert store.uri(key).endswith(f"/api/v1/runs/{run.id}/artifacts/big/blob.bin")


def test_delete_restore_and_gc_through_the_server(remote: Client,
                                                  served: tuple[str, Client]) -> None:
    svc = remote.tracking
    run = svc.create_run(experiment="remote-gc")
    svc.log_text(run.id, "x", "x.txt")
    svc.delete_runs([run.id])
    assert svc.search_runs("remote-gc").items == []
    svc.restore_runs([run.id])
    assert [r.id for r in svc.search_runs("remote-gc").items] == [run.id]
    svc.delete_experiment("remote-gc")
    assert svc.get_run(run.id).lifecycle == "deleted"
    purged = svc.gc()
    assert run.id in purged
    with pytest.raises(RunNotFoundError):
        served[1].tracking.get_run(run.id)
    assert [k for k in served[1].artifacts.list() if run.id in k] == []
    assert served[1].tracking.find_experiment("remote-gc") is None


def test_reap_and_iter_runs_page_through_the_server(remote: Client) -> None:
    svc = remote.tracking
    ids = {svc.create_run(experiment="remote-pages").id for _ in range(7)}
    assert {r.id for r in svc.iter_runs("remote-pages", max_results=3)} == ids


def test_unreachable_server_names_the_url_and_the_setting() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with Client(tracking_uri=url, http_retries=1) as client:
        with pytest.raises(BackendUnavailableError) as info:
            client.tracking.list_experiments()
        assert url in info.value.message
        assert "SHIPYARD_TRACKING_URI" in (info.value.hint or "")
        assert "shipyard server" in (info.value.hint or "")
        with pytest.raises(BackendUnavailableError):
            client.metadata.check()


def test_check_passes_against_a_ready_server(remote: Client) -> None:
    remote.metadata.check()


# -- retries, idempotency and auth headers, on a scripted transport ------------------------
def _scripted(responses: list[object], seen: list[httpx.Request]) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        step = responses.pop(0)
        if isinstance(step, Exception):
            raise step
        return step  # type: ignore[return-value]

    return httpx.Client(base_url="http://srv", transport=httpx.MockTransport(handler))


def _err(status: int, code: str, message: str = "m") -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": message,
                                                  "hint": None}})


def test_batches_are_retried_with_the_same_batch_id() -> None:
    seen: list[httpx.Request] = []
    responses: list[object] = [
        httpx.ConnectError("refused"), _err(503, "backend-unavailable"),
        httpx.ReadError("reset"), httpx.Response(200, json={"written": True})]
    store = RemoteMetadataStore(RemoteSession("http://srv", retries=5, backoff=0.001,
                                              http_client=_scripted(responses, seen)))
    point = TrackingService.make_metric("m", 1.0)
    assert store.log_batch("r1", metrics=[point]) is True
    ids = {json.loads(r.content)["batch_id"] for r in seen}
    assert len(seen) == 4
    assert len(ids) == 1, "a retry carries the same batch id, so it is written once"


def test_creates_are_not_retried_after_the_server_may_have_applied_them() -> None:
    seen: list[httpx.Request] = []
    store = RemoteMetadataStore(RemoteSession(
        "http://srv", retries=5, backoff=0.001,
        http_client=_scripted([httpx.ReadError("reset mid-answer")], seen)))
    with pytest.raises(BackendUnavailableError):
        store.create_experiment("e")
    assert len(seen) == 1
    seen.clear()
    store = RemoteMetadataStore(RemoteSession(
        "http://srv", retries=5, backoff=0.001, http_client=_scripted(
            [httpx.ConnectError("refused"), _err(503, "backend-unavailable"),
             httpx.Response(201, json={"id": "x", "name": "e", "created_at":
                                       "2024-01-01T00:00:00Z"})], seen)))
    assert store.create_experiment("e").name == "e"
    assert len(seen) == 3, "never sent, or answered 503: safe to retry"


def test_errors_that_are_not_retried_and_unknown_codes() -> None:
    seen: list[httpx.Request] = []
    store = RemoteMetadataStore(RemoteSession("http://srv", retries=5, backoff=0.001,
                                              http_client=_scripted([
                                                  _err(403, "permission-denied", "no"),
                                                  _err(400, "brand-new-code", "what"),
                                                  httpx.Response(502, text="bad gateway"),
                                                  httpx.Response(502, text="bad gateway"),
                                              ], seen)))
    with pytest.raises(PermissionDeniedError, match="no"):
        store.get_run("r")
    with pytest.raises(RemoteError, match="brand-new-code"):
        store.get_run("r")
    session = store.session
    session.retries = 1
    with pytest.raises(RemoteError, match="502"):
        store.get_run("r")
    assert len(seen) == 4


def test_a_server_that_never_answers_times_out_with_a_clear_error() -> None:
    seen: list[httpx.Request] = []
    store = RemoteMetadataStore(RemoteSession(
        "http://srv", retries=2, backoff=0.001, timeout=0.5,
        http_client=_scripted([httpx.ReadTimeout("slow")] * 3, seen)))
    with pytest.raises(BackendUnavailableError, match=r"did not answer GET .* within 0.5s") as info:
        store.get_run("r")
    assert "SHIPYARD_HTTP_TIMEOUT" in (info.value.hint or "")
    assert len(seen) == 3, "a read is retried"


@pytest.mark.parametrize(("settings", "expected"), [
    ({"tracking_token": "shp_abc"}, "Bearer shp_abc"),
    ({"tracking_username": "u", "tracking_password": "p"}, "Basic dTpw"),
])
def test_credentials_come_from_the_settings(settings: dict, expected: str) -> None:
    from shipyard.config import load_settings

    session = RemoteSession.from_settings("http://srv", load_settings(**settings))
    request = session.http.build_request("GET", "/x")
    auth = session.http.auth
    if auth is not None:
        request = next(auth.auth_flow(request))
    assert request.headers["authorization"] == expected
    session.close()


def test_auth_server_with_a_token_and_without(tmp_path: Path, migrated_sqlite: Path) -> None:
    home = tmp_path / "authsrv"
    home.mkdir()
    shutil.copy(migrated_sqlite, home / "shipyard.db")
    with Client(home=home) as server_side:
        server_side.auth.create_user("eve", role="editor")
        _, token = server_side.auth.create_token("eve", name="t")
        with serve_in_thread(create_app(server_side, auth=True)) as url:
            with Client(tracking_uri=url, http_retries=0) as anon, pytest.raises(
                    AuthenticationError):
                anon.tracking.list_experiments()
            with Client(tracking_uri=url, tracking_token=token) as eve:
                run = eve.tracking.create_run(experiment="mine")
                eve.tracking.log_metric(run.id, "m", 1.0)
                assert eve.tracking.get_run(run.id).created_by == "eve"
                with pytest.raises(PermissionDeniedError):
                    eve.tracking.delete_runs([run.id])


# -- the CLI against a server ----------------------------------------------------------
def test_cli_commands_work_against_a_server(served: tuple[str, Client], remote: Client,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    with shipyard.start_run(experiment="remote-cli", run_name="r0") as run:
        shipyard.log_params({"model": "rf"})
        shipyard.log_metric("auc", 0.8)
    monkeypatch.setenv("SHIPYARD_TRACKING_URI", served[0])
    runner = CliRunner()

    def call(*args: str) -> object:
        result = runner.invoke(cli, list(args))
        assert result.exit_code == 0, result.output
        return json.loads(result.output) if "--json" in args else result.output

    assert "remote-cli" in [e["name"] for e in call("experiments", "list", "--json")]  # type: ignore[union-attr]
    listed = call("runs", "list", "-e", "remote-cli", "-f", "params.model = 'rf'", "--json")
    assert [r["id"] for r in listed["runs"]] == [run.id]  # type: ignore[index]
    shown = call("runs", "show", run.id, "--json")
    assert shown["run"]["params"] == {"model": "rf"}  # type: ignore[index]
    call("runs", "delete", run.id)
    assert served[1].tracking.get_run(run.id).lifecycle == "deleted"
    call("runs", "restore", run.id)
    result = runner.invoke(cli, ["users", "list"])
    assert result.exit_code == 1
    assert "server host" in result.output


def test_cli_against_an_unreachable_server_exits_1_with_a_hint(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPYARD_TRACKING_URI", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("SHIPYARD_HTTP_RETRIES", "0")
    result = CliRunner().invoke(cli, ["experiments", "list"])
    assert result.exit_code == 1
    assert "unreachable" in result.output
    assert "SHIPYARD_TRACKING_URI" in result.output


def test_a_forked_child_opens_its_own_connections(remote: Client) -> None:
    """``shipyard serve --workers N`` forks after loading through the client: a worker must
    not talk over the parent's pooled sockets (two processes on one HTTP connection)."""
    store = remote.metadata
    assert isinstance(store, RemoteMetadataStore)
    remote.tracking.list_experiments()  # the pool now holds a live connection
    inherited = store.session.http
    pid = os.fork()
    if pid == 0:  # the child: exit code says what it saw
        code = 3
        try:
            remote.after_fork()
            artifacts = remote.artifacts
            assert isinstance(artifacts, RemoteArtifactStore)
            fresh = store.session.http is not inherited and artifacts.session.http is (
                store.session.http)
            remote.tracking.list_experiments()
            code = 0 if fresh else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert store.session.http is inherited  # the parent's pool is untouched and still works
    remote.tracking.list_experiments()
    store.after_fork()  # in the process that made it: nothing to do
    assert store.session.http is inherited
