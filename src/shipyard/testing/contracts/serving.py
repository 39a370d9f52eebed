"""The deployment contract: every `DeploymentStore` backend runs this suite.

Subclass it and override the ``store`` fixture::

    class TestSQLiteDeploymentStore(DeploymentStoreContract):
        @pytest.fixture
        def store(self, tmp_path): ...
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from shipyard.entities._ids import utc_now
from shipyard.entities.serving import DeployedModel, Deployment
from shipyard.errors import AlreadyExistsError, DeploymentNotFoundError


def _deployment(**kw: Any) -> Deployment:
    now = utc_now().replace(microsecond=0)
    base: dict[str, Any] = {
        "id": uuid.uuid4().hex, "url": "http://127.0.0.1:8080", "host": "box", "pid": 42,
        "started_at": now, "heartbeat_at": now,
        "models": (DeployedModel(name="churn", version=3, uri="models:/churn@champion"),),
    }
    base.update(kw)
    return Deployment(**base)


class DeploymentStoreContract:
    """Behaviour every deployment store must have."""

    @pytest.fixture
    def store(self) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def test_create_and_get_round_trips(self, store: Any) -> None:
        dep = _deployment(stats={"requests": 3})
        created = store.create_deployment(dep)
        assert created == dep
        assert store.get_deployment(dep.id) == dep

    def test_duplicate_id_raises(self, store: Any) -> None:
        dep = store.create_deployment(_deployment())
        with pytest.raises(AlreadyExistsError, match=dep.id):
            store.create_deployment(dep)

    def test_get_unknown_raises_not_found(self, store: Any) -> None:
        with pytest.raises(DeploymentNotFoundError):
            store.get_deployment("f" * 32)

    def test_heartbeat_updates_time_models_and_stats(self, store: Any) -> None:
        dep = store.create_deployment(_deployment())
        later = dep.heartbeat_at + timedelta(seconds=10)
        models = [DeployedModel(name="churn", version=4, uri="models:/churn@champion")]
        store.heartbeat_deployment(dep.id, at=later, models=models, stats={"requests": 10})
        got = store.get_deployment(dep.id)
        assert got.heartbeat_at == later
        assert got.models == tuple(models)
        assert got.stats == {"requests": 10}
        store.heartbeat_deployment(dep.id, at=later + timedelta(seconds=1))
        assert store.get_deployment(dep.id).models == tuple(models)

    def test_heartbeat_of_unknown_raises(self, store: Any) -> None:
        with pytest.raises(DeploymentNotFoundError):
            store.heartbeat_deployment("e" * 32, at=utc_now())

    def test_stop_is_idempotent_and_hides_from_default_listing(self, store: Any) -> None:
        dep = store.create_deployment(_deployment())
        at = dep.started_at + timedelta(seconds=5)
        store.stop_deployment(dep.id, at=at)
        store.stop_deployment(dep.id, at=at + timedelta(seconds=5))
        store.stop_deployment("d" * 32, at=at)
        assert store.get_deployment(dep.id).stopped_at == at
        assert dep.id not in [d.id for d in store.list_deployments()]
        assert dep.id in [d.id for d in store.list_deployments(include_stopped=True)]

    def test_list_is_newest_first(self, store: Any) -> None:
        now = utc_now().replace(microsecond=0)
        old = store.create_deployment(_deployment(started_at=now - timedelta(hours=1)))
        new = store.create_deployment(_deployment(started_at=now))
        ids = [d.id for d in store.list_deployments()]
        assert ids.index(new.id) < ids.index(old.id)

    def test_delete_forgets_only_long_stopped(self, store: Any) -> None:
        now = utc_now().replace(microsecond=0)
        gone = store.create_deployment(_deployment())
        kept = store.create_deployment(_deployment())
        store.stop_deployment(gone.id, at=now - timedelta(days=2))
        assert store.delete_deployments(stopped_before=now - timedelta(days=1)) >= 1
        with pytest.raises(DeploymentNotFoundError):
            store.get_deployment(gone.id)
        assert store.get_deployment(kept.id).stopped_at is None
