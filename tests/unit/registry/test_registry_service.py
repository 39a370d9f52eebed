from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest

import shipyard
from shipyard.client import Client
from shipyard.errors import (
    AliasConflictError,
    InvalidArgumentError,
    InvalidRuleError,
    ModelNotFoundError,
    ModelVersionNotFoundError,
    PromotionRejectedError,
)


def _log(metrics: dict[str, float], *, registered: str | None = "churn") -> Any:
    from sklearn.linear_model import LinearRegression

    x = np.arange(12, dtype=float).reshape(6, 2)
    model = LinearRegression().fit(x, x[:, 0])
    with shipyard.start_run(experiment="reg") as run:
        shipyard.log_params({"depth": 4})
        shipyard.log_metrics(metrics)
        shipyard.log_input(__import__("pandas").DataFrame(x, columns=["a", "b"]), name="train",
                           context="training")
        info = shipyard.log_model(model, input_example=x[:2], registered_model=registered)
    return run, info


def test_log_model_registers_a_version_with_metrics_and_lineage(client: Client) -> None:
    run, info = _log({"auc": 0.9})
    assert info.model_uri == "models:/churn/1"
    mv = client.registry.get_model_version("churn", 1)
    assert mv.metrics == {"auc": 0.9}
    assert mv.flavor == "sklearn"
    assert mv.signature["inputs"] == {"type": "tensor", "dtype": "float64", "shape": [-1, 2]}
    assert mv.lineage.run_id == run.id
    assert [d.name for d in mv.lineage.datasets] == ["train"]
    assert client.registry.get_registered_model("churn").latest_version == 1
    loaded = shipyard.load_model("models:/churn/latest")
    assert loaded.predict(np.ones((1, 2))).shape == (1,)


def test_aliases_move_and_resolve(client: Client) -> None:
    _log({"auc": 0.9})
    _log({"auc": 0.95})
    reg = client.registry
    reg.set_alias("churn", "champion", 1, reason="first")
    reg.set_alias("churn", "champion", 2)
    assert reg.get_alias("churn", "champion").revision == 2
    assert shipyard.load_model("models:/churn@champion").uri == "models:/churn@champion"
    assert reg.get_registered_model("churn").aliases == {"champion": 2}
    with pytest.raises(InvalidArgumentError, match="alias"):
        reg.set_alias("churn", "latest", 1)
    with pytest.raises(ModelVersionNotFoundError):
        reg.set_alias("churn", "champion", 9)


def test_every_change_is_in_the_history(client: Client) -> None:
    _log({"auc": 0.9})
    reg = client.registry
    reg.set_alias("churn", "champion", 1, reason="launch")
    reg.set_model_tag("churn", "team", "ml")
    reg.set_version_tag("churn", 1, "validated", "yes")
    reg.update_registered_model("churn", description="Churn model")
    reg.delete_alias("churn", "champion", reason="rollback")
    reg.delete_model_version("churn", 1, reason="bad data")
    actions = [(e.action, e.detail.get("from"), e.detail.get("to"))
               for e in reg.history("churn")]
    assert actions == [
        ("model.created", None, None), ("version.created", None, None),
        ("alias.set", None, 1), ("model.tag_set", None, "ml"),
        ("version.tag_set", None, "yes"), ("model.description_changed", "", "Churn model"),
        ("alias.deleted", 1, None), ("version.deleted", None, None)]
    events = reg.history("churn")
    assert events[2].detail["reason"] == "launch"
    assert events[2].actor
    assert events[-1].detail["reason"] == "bad data"
    reg.delete_registered_model("churn", reason="retired")
    assert reg.history("churn")[-1].action == "model.deleted"
    with pytest.raises(ModelNotFoundError):
        reg.get_registered_model("churn")


def test_promotion_moves_the_alias_only_when_every_rule_holds(client: Client) -> None:
    _log({"auc": 0.90, "latency_ms": 10})
    _log({"auc": 0.93, "latency_ms": 12})
    _log({"auc": 0.931, "latency_ms": 30})
    reg = client.registry
    rules = ["metrics.auc >= champion.metrics.auc + 0.005", "metrics.latency_ms < 20"]
    first = reg.promote("churn", to="champion", version=1, rules=rules)
    assert first.promoted
    assert first.results[0].skipped  # no champion yet
    reg.set_alias("churn", "challenger", 2)
    done = reg.promote("churn", to="champion", from_alias="challenger", rules=rules,
                       reason="better auc")
    assert (done.candidate, done.previous, done.promoted) == (2, 1, True)
    with pytest.raises(PromotionRejectedError) as info:
        reg.promote("churn", to="champion", version=3, rules=rules)
    assert [r.passed for r in info.value.results] == [False, False]
    assert reg.get_alias("churn", "champion").version == 2
    outcomes = [e.detail["outcome"] for e in reg.history("churn")
                if e.action == "alias.promoted"]
    assert outcomes == ["moved", "moved", "rejected"]
    with pytest.raises(InvalidRuleError):
        reg.promote("churn", to="champion", version=3, rules=["__import__('os')"])
    with pytest.raises(InvalidArgumentError, match="exactly one candidate"):
        reg.promote("churn", to="champion", rules=rules)


def test_concurrent_alias_moves_one_wins_one_conflicts(client: Client, tmp_path: Any) -> None:
    _log({"auc": 0.9})
    _log({"auc": 0.91})
    _log({"auc": 0.92})
    client.registry.set_alias("churn", "champion", 1)
    clients = [Client(home=tmp_path / ".shipyard") for _ in range(2)]
    barrier = threading.Barrier(2)
    outcomes: dict[int, object] = {}

    def move(i: int) -> None:
        reg = clients[i].registry
        seen = reg.get_alias("churn", "champion")
        barrier.wait()  # both have read revision 1 before either writes
        try:
            reg.set_alias("churn", "champion", 2 + i, expected_revision=seen.revision,
                          actor=f"ci-{i}")
            outcomes[i] = "moved"
        except AliasConflictError as exc:
            outcomes[i] = exc

    threads = [threading.Thread(target=move, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in clients:
        c.close()
    assert sorted(map(str, outcomes.values()))[-1] == "moved"
    assert sum(isinstance(o, AliasConflictError) for o in outcomes.values()) == 1
    winner = next(i for i, o in outcomes.items() if o == "moved")
    assert client.registry.get_alias("churn", "champion").version == 2 + winner
    attempts = [(e.actor, e.detail["outcome"]) for e in client.registry.history("churn")
                if e.action == "alias.set" and e.actor and e.actor.startswith("ci-")]
    assert sorted(o for _, o in attempts) == ["conflict", "moved"]
    assert {a for a, _ in attempts} == {"ci-0", "ci-1"}


def test_concurrent_promotions_one_wins_one_conflicts(client: Client, tmp_path: Any,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from shipyard.registry import RegistryService

    for auc in (0.9, 0.95, 0.96):
        _log({"auc": auc})
    client.registry.set_alias("churn", "champion", 1)
    barrier = threading.Barrier(2)
    real = RegistryService.evaluate_promotion

    def slow_evaluate(self: RegistryService, *a: Any, **kw: Any) -> Any:
        out = real(self, *a, **kw)
        barrier.wait()  # both evaluated against revision 1
        return out

    monkeypatch.setattr(RegistryService, "evaluate_promotion", slow_evaluate)
    clients = [Client(home=tmp_path / ".shipyard") for _ in range(2)]
    results: list[object] = []

    def promote(i: int) -> None:
        try:
            clients[i].registry.promote("churn", to="champion", version=2 + i,
                                        rules=["metrics.auc > champion.metrics.auc"])
            results.append("promoted")
        except AliasConflictError as exc:
            results.append(exc)

    threads = [threading.Thread(target=promote, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in clients:
        c.close()
    assert results.count("promoted") == 1
    assert sum(isinstance(r, AliasConflictError) for r in results) == 1
    outcomes = sorted(e.detail["outcome"] for e in client.registry.history("churn")
                      if e.action == "alias.promoted")
    assert outcomes == ["conflict", "moved"]
