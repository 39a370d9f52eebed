"""The registry's behaviour suite on a local client and, unchanged, in remote mode through a
real uvicorn server with auth on; plus what only remote mode has: concurrent alias moves from
two signed-in users over HTTP, roles, and model loading by the model server's host."""

from __future__ import annotations

import getpass
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.contracts._registry_behaviour import RegistryBehaviour, X, fit

import shipyard
from shipyard.client import Client
from shipyard.errors import (
    AliasConflictError,
    AuthenticationError,
    ConfigError,
    PermissionDeniedError,
)
from shipyard.testing.s3server import S3Server
from shipyard.tracking import _fluent

PASSWORD = "correct horse battery"


@dataclass
class Served:
    url: str
    server: Client
    tokens: dict[str, str]

    def client(self, who: str, **settings: object) -> Client:
        return Client(tracking_uri=self.url, tracking_token=self.tokens[who], http_retries=1,
                      **settings)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    from shipyard.server import create_app
    from shipyard.testing.server import serve_in_thread

    home: Path = tmp_path_factory.mktemp("registry-remote")
    with Client(home=home) as server:
        tokens = {}
        for user, role in (("ada", "admin"), ("eve", "editor"), ("ed", "editor"),
                           ("vic", "viewer")):
            server.auth.create_user(user, role=role, password=PASSWORD)
            tokens[user] = server.auth.create_token(user, name="test")[1]
        with serve_in_thread(create_app(server, auth=True)) as url:
            yield Served(url, server, tokens)


@pytest.fixture(scope="module")
def served_pg(postgres_url: str, s3_server: S3Server) -> Iterator[Served]:
    """The team deployment: the server on PostgreSQL and S3 (SeaweedFS), auth on."""
    from shipyard.server import create_app
    from shipyard.testing.server import serve_in_thread

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ACCESS_KEY_ID", s3_server.access_key)
        mp.setenv("AWS_SECRET_ACCESS_KEY", s3_server.secret_key)
        mp.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
        bucket = f"shipyard-reg-{uuid.uuid4().hex[:10]}"
        with Client(metadata_uri=postgres_url, artifact_uri=f"s3://{bucket}/team",
                    s3_endpoint_url=s3_server.endpoint_url) as server:
            assert server.metadata.backend_name == "postgresql"
            user = f"pg-admin-{uuid.uuid4().hex[:6]}"
            server.auth.create_user(user, role="admin", password=PASSWORD)
            tokens = {"ada": server.auth.create_token(user, name="test")[1], "name": user}
            with serve_in_thread(create_app(server, auth=True)) as url:
                yield Served(url, server, tokens)


def _install(client: Client) -> Iterator[Client]:
    _fluent._reset_for_tests()
    _fluent._client = client
    try:
        yield client
    finally:
        _fluent._reset_for_tests()
        client.close()


class TestLocalRegistry(RegistryBehaviour):
    @pytest.fixture
    def client(self, tmp_path: Path) -> Iterator[Client]:
        yield from _install(Client(home=tmp_path / ".shipyard"))

    @pytest.fixture
    def actor(self) -> str:
        return getpass.getuser()


class TestRemoteRegistry(RegistryBehaviour):
    remote = True

    @pytest.fixture
    def client(self, served: Served) -> Iterator[Client]:
        yield from _install(served.client("ada"))

    @pytest.fixture
    def actor(self) -> str:
        return "ada"


@pytest.mark.postgres
@pytest.mark.s3
class TestRemoteRegistryOnPostgresAndS3(RegistryBehaviour):
    remote = True

    @pytest.fixture
    def client(self, served_pg: Served) -> Iterator[Client]:
        yield from _install(served_pg.client("ada"))

    @pytest.fixture
    def actor(self, served_pg: Served) -> str:
        return served_pg.tokens["name"]


# -- remote only ----------------------------------------------------------------------------
@pytest.fixture
def editor(served: Served) -> Iterator[Client]:
    yield from _install(served.client("eve"))


def _three(name: str, example: object = X) -> None:
    for auc in (0.90, 0.93, 0.95):
        with shipyard.start_run(experiment="registry-remote"):
            shipyard.log_metric("auc", auc)
            shipyard.log_model(fit(), input_example=example, registered_model=name)


def test_concurrent_alias_moves_over_http_one_wins_one_conflicts(
        served: Served, editor: Client) -> None:
    """Two users read the alias, then both move it naming that revision: one moves it, the
    other gets the typed AliasConflictError from the server's 409, and the server's audit
    trail holds both attempts under the two signed-in names."""
    _three("race")
    editor.registry.set_alias("race", "champion", 1)
    clients = {"eve": served.client("eve"), "ed": served.client("ed")}
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def move(who: str, version: int) -> None:
        reg = clients[who].registry
        seen = reg.get_alias("race", "champion")
        barrier.wait()  # both read revision 1 before either writes
        try:
            reg.set_alias("race", "champion", version, expected_revision=seen.revision,
                          reason=f"{who} wants {version}")
            outcomes[who] = "moved"
        except AliasConflictError as exc:
            outcomes[who] = exc

    threads = [threading.Thread(target=move, args=(who, v))
               for who, v in (("eve", 2), ("ed", 3))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in clients.values():
        c.close()
    assert sorted(o if isinstance(o, str) else "conflict" for o in outcomes.values()) == [
        "conflict", "moved"]
    winner = next(who for who, o in outcomes.items() if o == "moved")
    loser = next(who for who, o in outcomes.items() if o != "moved")
    assert "revision" in str(outcomes[loser])
    current = editor.registry.get_alias("race", "champion")
    assert (current.version, current.revision, current.updated_by) == (
        {"eve": 2, "ed": 3}[winner], 2, winner)
    attempts = {e.actor: e.detail["outcome"] for e in served.server.registry.history("race")
                if e.action == "alias.set" and (e.detail["reason"] or "").endswith(("2", "3"))}
    assert attempts == {winner: "moved", loser: "conflict"}


def test_many_concurrent_unconditional_moves_all_land_in_order(served: Served,
                                                               editor: Client) -> None:
    """Moves without an expected revision are compare-and-swaps against the server's own
    read: under contention some may lose (AliasConflictError), none is lost silently, and
    the revision counts exactly the moves that succeeded."""
    _three("crowd")
    editor.registry.set_alias("crowd", "champion", 1)
    moved: list[int] = []
    conflicts: list[AliasConflictError] = []
    lock = threading.Lock()

    def move(i: int) -> None:
        with served.client("eve" if i % 2 else "ed") as c:
            try:
                c.registry.set_alias("crowd", "champion", 1 + i % 3)
                with lock:
                    moved.append(i)
            except AliasConflictError as exc:
                with lock:
                    conflicts.append(exc)

    threads = [threading.Thread(target=move, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(moved) + len(conflicts) == 8
    assert editor.registry.get_alias("crowd", "champion").revision == 1 + len(moved)
    events = [e for e in served.server.registry.history("crowd") if e.action == "alias.set"]
    assert len(events) == 9
    assert sum(e.detail["outcome"] == "conflict" for e in events) == len(conflicts)


def test_roles_cross_the_wire_as_typed_errors(served: Served, editor: Client) -> None:
    _three("roles")
    with served.client("vic") as viewer:
        assert viewer.registry.get_model_version("roles", 1).version == 1
        with pytest.raises(PermissionDeniedError):
            viewer.registry.set_alias("roles", "champion", 1)
    with pytest.raises(PermissionDeniedError):
        editor.registry.delete_registered_model("roles")  # hard: admins only
    editor.registry.delete_registered_model("roles", hard=False)  # soft: editors may
    assert editor.registry.list_model_versions("roles") == []
    with Client(tracking_uri=served.url, http_retries=0) as nobody, pytest.raises(
            AuthenticationError):
        nobody.registry.get_registered_model("roles")


def test_the_client_never_writes_the_registry_tables_itself(editor: Client) -> None:
    with pytest.raises(ConfigError, match="client mode"):
        editor.models.store.set_alias("x", "champion", 1)  # type: ignore[union-attr]


def test_the_model_server_host_loads_and_follows_an_alias_through_the_server(
        served: Served, editor: Client) -> None:
    """What ``shipyard serve models:/...`` does at start and on reload, in remote mode with
    auth on."""
    import pandas as pd

    from shipyard.serving import ModelHost

    frame = pd.DataFrame(X, columns=["a", "b"])
    _three("served", frame)
    editor.registry.set_alias("served", "champion", 1)
    with served.client("vic", trust_pickle=True) as reader:
        host = ModelHost.from_client(reader, ["models:/served@champion"])
        host.load()
        assert host.models["served"].current.version == 1  # type: ignore[union-attr]
        editor.registry.set_alias("served", "champion", 3)
        [entry] = host.reload()
        assert (entry["from"], entry["to"], entry["outcome"]) == (1, 3, "switched")
        model = shipyard.load_model("models:/served/2", trust_pickle=True)
        assert model.predict(frame[:1]).tolist() == pytest.approx([0.0])


def test_a_version_from_a_private_experiment_loads_only_for_its_readers(
        served: Served) -> None:
    """Registry metadata is readable by every viewer; the package is not: downloading it goes
    through the run's artifact routes, which check the experiment's access list."""
    server = served.server
    run = server.tracking.create_run(experiment="private-registry")
    server.models.log_model(run.id, fit(), input_example=X)
    server.registry.create_model_version("secret", run_id=run.id, actor="ada")
    admin = server.auth.policy(None)
    server.auth.grant(admin, run.experiment_id, "ed", "read")
    with served.client("vic", trust_pickle=True) as outsider:
        assert outsider.registry.get_model_version("secret", 1).run_id == run.id
        with pytest.raises(PermissionDeniedError):
            outsider.models.load_model("models:/secret/1")
    with served.client("ed", trust_pickle=True) as reader:
        assert reader.models.load_model("models:/secret/1").predict(X[:1]).tolist() == (
            pytest.approx([0.0]))
