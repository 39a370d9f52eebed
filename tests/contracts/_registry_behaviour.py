"""The registry's behaviour as the library user sees it (``Client().registry``, the fluent
``log_model``/``load_model``), written once and run against a local SQLite client and a
client in remote mode through a real server (``test_registry_remote.py``).

A subclass provides ``client`` (a `Client`, also installed as the fluent API's client) and
``actor`` (the name the audit trail must record for that client's changes).
"""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
import pytest

import shipyard
from shipyard.client import Client
from shipyard.errors import (
    AliasConflictError,
    AliasNotFoundError,
    InvalidArgumentError,
    InvalidRuleError,
    ModelAlreadyExistsError,
    ModelNotFoundError,
    ModelVersionNotFoundError,
    PromotionRejectedError,
    RunNotFoundError,
)
from shipyard.registry import RemoteRegistryService

X = np.arange(8, dtype=float).reshape(4, 2)
RULES = ["metrics.auc >= champion.metrics.auc + 0.005", "metrics.latency_ms < 20"]


def fit() -> Any:
    from sklearn.linear_model import LinearRegression

    return LinearRegression().fit(X, X[:, 0] * 2)


class RegistryBehaviour:
    remote = False

    @pytest.fixture
    def client(self) -> Client:  # pragma: no cover - overridden
        raise NotImplementedError

    @pytest.fixture
    def actor(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    @pytest.fixture
    def name(self, request: pytest.FixtureRequest) -> str:
        """A model name of this test's own (the remote server is shared by the module)."""
        test = request.node.name.split("[")[0].removeprefix("test_")[:40].replace("_", "-")
        return f"m-{test}-{uuid.uuid4().hex[:6]}"

    def log(self, name: str | None, metrics: dict[str, float]) -> Any:
        with shipyard.start_run(experiment="registry-behaviour"):
            shipyard.log_params({"depth": 4})
            shipyard.log_metrics(metrics)
            return shipyard.log_model(fit(), input_example=X, registered_model=name)

    def three(self, name: str) -> None:
        for auc, latency in ((0.90, 10.0), (0.93, 12.0), (0.931, 30.0)):
            self.log(name, {"auc": auc, "latency_ms": latency})

    # -- wiring -------------------------------------------------------------------------
    def test_the_service_matches_the_mode(self, client: Client) -> None:
        assert isinstance(client.registry, RemoteRegistryService) is self.remote

    # -- registration ---------------------------------------------------------------------
    def test_log_model_registers_versions_with_metrics_and_lineage(
            self, client: Client, name: str, actor: str) -> None:
        info = self.log(name, {"auc": 0.9})
        assert (info.registered_model, info.version) == (name, 1)
        mv = client.registry.get_model_version(name, 1)
        assert (mv.flavor, mv.metrics, mv.status) == ("sklearn", {"auc": 0.9}, "ready")
        assert mv.signature["inputs"]["shape"] == [-1, 2]
        assert mv.lineage.run_id == info.run_id
        assert mv.created_by == actor
        again = client.registry.create_model_version(name, run_id=info.run_id,
                                                     description="same package", tags={"n": 2})
        assert (again.version, again.tags, again.description) == (2, {"n": "2"},
                                                                  "same package")
        assert client.registry.get_registered_model(name).latest_version == 2
        third = shipyard.register_model(info.uri, name, description="via the facade")
        assert (third.version, third.created_by) == (3, actor)
        with pytest.raises(InvalidArgumentError, match="runs:/"):
            shipyard.register_model(f"models:/{name}/1", name)

    def test_create_update_and_tag_a_model(self, client: Client, name: str) -> None:
        reg = client.registry
        created = reg.create_registered_model(name, description="d",
                                              tags={"team": "ml", "tier": 1})
        assert (created.name, created.tags) == (name, {"team": "ml", "tier": "1"})
        with pytest.raises(ModelAlreadyExistsError):
            reg.create_registered_model(name)
        assert reg.update_registered_model(name, description="new").description == "new"
        assert reg.set_model_tag(name, "stage/area", 3).tags == {"team": "ml", "tier": "1",
                                                                 "stage/area": "3"}
        assert reg.delete_model_tag(name, "team").tags == {"tier": "1", "stage/area": "3"}
        assert name in [m.name for m in reg.list_registered_models(max_results=1000).items]

    def test_version_tags_and_description(self, client: Client, name: str) -> None:
        self.log(name, {"auc": 0.9})
        reg = client.registry
        assert reg.update_model_version(name, 1, description="first").description == "first"
        assert reg.set_version_tag(name, 1, "validated", "yes").tags == {"validated": "yes"}
        assert reg.delete_version_tag(name, 1, "validated").tags == {}

    # -- aliases and loading ------------------------------------------------------------
    def test_aliases_move_and_models_uris_load(self, client: Client, name: str) -> None:
        self.log(name, {"auc": 0.9})
        self.log(name, {"auc": 0.95})
        reg = client.registry
        assert reg.set_alias(name, "champion", 1).revision == 1
        moved = reg.set_alias(name, "champion", "2", reason="better")
        assert (moved.version, moved.revision) == (2, 2)
        assert reg.get_version_by_alias(name, "champion").version == 2
        assert reg.get_registered_model(name).aliases == {"champion": 2}
        for uri in (f"models:/{name}@champion", f"models:/{name}/1", f"models:/{name}/latest"):
            model = shipyard.load_model(uri, trust_pickle=True)
            assert model.predict(X[:1]).tolist() == pytest.approx([0.0]), uri
        with pytest.raises(AliasNotFoundError):
            shipyard.load_model(f"models:/{name}@nobody", trust_pickle=True)

    def test_a_stale_expected_revision_conflicts(self, client: Client, name: str) -> None:
        self.log(name, {"auc": 0.9})
        self.log(name, {"auc": 0.95})
        reg = client.registry
        reg.set_alias(name, "champion", 1, expected_revision=None)
        reg.set_alias(name, "champion", 2, expected_revision=1)
        with pytest.raises(AliasConflictError, match="revision"):
            reg.set_alias(name, "champion", 1, expected_revision=1)
        with pytest.raises(AliasConflictError):
            reg.set_alias(name, "champion", 1, expected_revision=None)
        assert reg.get_alias(name, "champion").version == 2
        outcomes = [e.detail["outcome"] for e in reg.history(name) if e.action == "alias.set"]
        assert outcomes == ["moved", "moved", "conflict", "conflict"]

    def test_delete_alias(self, client: Client, name: str) -> None:
        self.log(name, {"auc": 0.9})
        client.registry.set_alias(name, "champion", 1)
        client.registry.delete_alias(name, "champion", reason="rollback")
        assert client.registry.find_alias(name, "champion") is None
        with pytest.raises(AliasNotFoundError):
            client.registry.delete_alias(name, "champion")

    # -- history --------------------------------------------------------------------------
    def test_every_change_is_in_the_history_with_its_actor(self, client: Client, name: str,
                                                           actor: str) -> None:
        self.log(name, {"auc": 0.9})
        reg = client.registry
        reg.set_alias(name, "champion", 1, reason="launch", actor="someone-else")
        reg.set_model_tag(name, "team", "ml")
        reg.delete_model_version(name, 1, reason="bad data")
        events = reg.history(name)
        assert [e.action for e in events] == ["model.created", "version.created", "alias.set",
                                              "model.tag_set", "version.deleted"]
        assert events[2].detail["reason"] == "launch"
        # Locally the caller names the actor; through a server it is the signed-in user.
        alias_actor = actor if self.remote else "someone-else"
        assert [e.actor for e in events] == [actor, actor, alias_actor, actor, actor]
        assert reg.history(name, max_results=1) == events[-1:]

    def test_setting_a_tag_to_its_value_is_not_a_second_event(self, client: Client,
                                                               name: str) -> None:
        """A PUT retried after a lost answer (client mode retries tag writes) must not leave
        two events for one change."""
        self.log(name, {"auc": 0.9})
        reg = client.registry
        for _ in range(2):
            reg.set_model_tag(name, "team", "ml")
            reg.set_version_tag(name, 1, "validated", "yes")
        reg.set_model_tag(name, "team", "risk")  # a real change is still recorded
        changes = [(e.action, e.detail.get("from"), e.detail.get("to"))
                   for e in reg.history(name) if e.action.endswith("tag_set")]
        assert changes == [("model.tag_set", None, "ml"), ("version.tag_set", None, "yes"),
                           ("model.tag_set", "ml", "risk")]
        assert reg.get_registered_model(name).tags["team"] == "risk"

    # -- promotion ------------------------------------------------------------------------
    def test_promotion_moves_the_alias_only_when_every_rule_holds(self, client: Client,
                                                                  name: str) -> None:
        self.three(name)
        reg = client.registry
        first = reg.promote(name, to="champion", version=1, rules=RULES)
        assert first.promoted
        assert first.results[0].skipped
        reg.set_alias(name, "challenger", 2)
        done = reg.promote(name, to="champion", from_alias="challenger", rules=RULES,
                           reason="better auc")
        assert (done.candidate, done.previous, done.promoted, done.passed) == (2, 1, True, True)
        assert done.results[0].left == pytest.approx(0.93)
        with pytest.raises(PromotionRejectedError, match="rejected") as info:
            reg.promote(name, to="champion", version=3, rules=RULES)
        assert [r.passed for r in info.value.results] == [False, False]
        assert info.value.results[1].left == 30.0
        assert reg.get_alias(name, "champion").version == 2
        outcomes = [e.detail["outcome"] for e in reg.history(name)
                    if e.action == "alias.promoted"]
        assert outcomes == ["moved", "moved", "rejected"]

    def test_a_dry_run_evaluates_and_moves_nothing(self, client: Client, name: str) -> None:
        self.three(name)
        reg = client.registry
        reg.set_alias(name, "champion", 1)
        result, current = reg.evaluate_promotion(name, to="champion", version=3, rules=RULES)
        assert (result.passed, result.promoted, result.candidate) == (False, False, 3)
        assert current is not None
        assert current.version == 1
        assert reg.get_alias(name, "champion").version == 1

    def test_bad_rules_and_candidates_raise_the_same_errors(self, client: Client,
                                                            name: str) -> None:
        self.log(name, {"auc": 0.9})
        reg = client.registry
        with pytest.raises(InvalidRuleError, match="__import__"):
            reg.promote(name, to="champion", version=1, rules=["__import__('os')"])
        with pytest.raises(InvalidArgumentError, match="exactly one candidate"):
            reg.promote(name, to="champion", rules=RULES)
        with pytest.raises(InvalidArgumentError, match=r"'alias'.*'latest'"):
            reg.set_alias(name, "latest", 1)
        with pytest.raises(InvalidArgumentError, match=r"'version'.*'x'"):
            reg.set_alias(name, "champion", "x")
        with pytest.raises(InvalidArgumentError, match="'name'"):
            reg.create_registered_model("bad name!")

    # -- not found and deletion ---------------------------------------------------------
    def test_unknown_things_raise_not_found(self, client: Client, name: str) -> None:
        reg = client.registry
        with pytest.raises(ModelNotFoundError):
            reg.get_registered_model(name)
        with pytest.raises(RunNotFoundError):
            reg.create_model_version(name, run_id="f" * 32)
        info = self.log(name, {"auc": 0.9})
        with pytest.raises(ModelNotFoundError):
            reg.create_model_version(f"{name}-x", run_id=info.run_id, create_model=False)
        with pytest.raises(ModelVersionNotFoundError):
            reg.get_model_version(name, 7)
        with pytest.raises(ModelVersionNotFoundError):
            reg.set_alias(name, "champion", 7)

    def test_soft_and_hard_deletes(self, client: Client, name: str) -> None:
        self.three(name)
        reg = client.registry
        reg.set_alias(name, "champion", 1)
        reg.delete_model_version(name, 1)
        gone = reg.get_model_version(name, 1)
        assert (gone.status, gone.aliases) == ("deleted", ())
        with pytest.raises(ModelVersionNotFoundError, match="deleted"):
            shipyard.load_model(f"models:/{name}/1", trust_pickle=True)
        reg.delete_model_version(name, 2, hard=True)
        with pytest.raises(ModelVersionNotFoundError):
            reg.get_model_version(name, 2)
        reg.delete_registered_model(name, hard=False)
        assert reg.list_model_versions(name) == []
        assert [v.version for v in reg.list_model_versions(name, include_deleted=True)] == [1, 3]
        reg.delete_registered_model(name, reason="retired")
        with pytest.raises(ModelNotFoundError):
            reg.get_registered_model(name)
        assert reg.history(name)[-1].detail["reason"] == "retired"
