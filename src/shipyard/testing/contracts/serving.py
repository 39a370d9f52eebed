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
from shipyard.entities.serving import DeployedModel, Deployment, DeploymentSample
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

    # -- history: one sample per heartbeat, bounded by the retention window ------------------
    @staticmethod
    def _sample(at: Any, requests: int = 10, errors: int = 1, **kw: Any) -> DeploymentSample:
        base: dict[str, Any] = {"at": at, "seconds": 15.0, "requests": requests,
                                "errors": errors, "p50_ms": 2.5, "p95_ms": 7.25, "p99_ms": 12.0}
        base.update(kw)
        return DeploymentSample(**base)

    def test_heartbeat_samples_build_the_history_oldest_first(self, store: Any) -> None:
        dep = store.create_deployment(_deployment())
        t0 = dep.started_at
        samples = [self._sample(t0 + timedelta(seconds=15 * i), requests=i) for i in (2, 1, 3)]
        for sample in samples:
            store.heartbeat_deployment(dep.id, at=sample.at, sample=sample)
        assert store.deployment_history(dep.id) == sorted(samples, key=lambda s: s.at)
        other = store.create_deployment(_deployment())
        assert store.deployment_history(other.id) == []

    def test_sample_without_requests_keeps_empty_percentiles(self, store: Any) -> None:
        dep = store.create_deployment(_deployment())
        idle = self._sample(dep.started_at + timedelta(seconds=15), requests=0, errors=0,
                            p50_ms=None, p95_ms=None, p99_ms=None)
        store.heartbeat_deployment(dep.id, at=idle.at, sample=idle)
        [got] = store.deployment_history(dep.id)
        assert got == idle
        assert got.error_rate is None
        assert got.request_rate == 0.0

    def test_repeated_sample_time_is_counted_once(self, store: Any) -> None:
        dep = store.create_deployment(_deployment())
        at = dep.started_at + timedelta(seconds=15)
        store.heartbeat_deployment(dep.id, at=at, sample=self._sample(at, requests=5))
        store.heartbeat_deployment(dep.id, at=at, sample=self._sample(at, requests=7))
        assert [s.requests for s in store.deployment_history(dep.id)] == [5]

    def test_history_since_and_until_are_inclusive(self, store: Any) -> None:
        dep = store.create_deployment(_deployment())
        times = [dep.started_at + timedelta(seconds=15 * i) for i in range(1, 6)]
        for at in times:
            store.heartbeat_deployment(dep.id, at=at, sample=self._sample(at))
        got = store.deployment_history(dep.id, since=times[1], until=times[3])
        assert [s.at for s in got] == times[1:4]

    def test_keep_since_prunes_old_samples_of_every_deployment(self, store: Any) -> None:
        now = utc_now().replace(microsecond=0)
        dead = store.create_deployment(_deployment())  # crashed: never beats again
        live = store.create_deployment(_deployment())
        old = now - timedelta(days=8)
        store.heartbeat_deployment(dead.id, at=old, sample=self._sample(old))
        store.heartbeat_deployment(live.id, at=old, sample=self._sample(old))
        store.heartbeat_deployment(live.id, at=now, sample=self._sample(now),
                                   keep_since=now - timedelta(days=7))
        assert store.deployment_history(dead.id) == []
        assert [s.at for s in store.deployment_history(live.id)] == [now]

    def test_history_of_unknown_raises(self, store: Any) -> None:
        with pytest.raises(DeploymentNotFoundError):
            store.deployment_history("c" * 32)

    def test_sample_for_unknown_deployment_raises_and_writes_nothing(self, store: Any) -> None:
        at = utc_now().replace(microsecond=0)
        with pytest.raises(DeploymentNotFoundError):
            store.heartbeat_deployment("b" * 32, at=at, sample=self._sample(at))
        dep = store.create_deployment(_deployment(id="b" * 32))
        assert store.deployment_history(dep.id) == []

    def test_deleting_a_deployment_drops_its_history(self, store: Any) -> None:
        now = utc_now().replace(microsecond=0)
        gone = store.create_deployment(_deployment())
        kept = store.create_deployment(_deployment())
        for dep in (gone, kept):
            store.heartbeat_deployment(dep.id, at=now, sample=self._sample(now))
        store.stop_deployment(gone.id, at=now - timedelta(days=2))
        store.delete_deployments(stopped_before=now - timedelta(days=1))
        with pytest.raises(DeploymentNotFoundError):
            store.deployment_history(gone.id)
        assert len(store.deployment_history(kept.id)) == 1
        # a new deployment reusing the id starts with an empty history
        store.create_deployment(_deployment(id=gone.id))
        assert store.deployment_history(gone.id) == []

    def test_history_merges_into_at_most_max_points(self, store: Any) -> None:
        dep = store.create_deployment(_deployment())
        t0 = dep.started_at
        samples = [self._sample(t0 + timedelta(seconds=10 * i), requests=i, errors=i % 2,
                                p50_ms=float(i), p95_ms=2.0 * i,
                                p99_ms=None if i % 3 else 30.0) for i in range(100)]
        for sample in samples:
            store.heartbeat_deployment(dep.id, at=sample.at, sample=sample)
        assert store.deployment_history(dep.id) == samples
        assert store.deployment_history(dep.id, max_points=100) == samples
        merged = store.deployment_history(dep.id, max_points=10)
        # 990 s cut into 10 buckets of 99.0001 s: ten samples each
        assert [m.at for m in merged] == [samples[10 * k + 9].at for k in range(10)]
        assert [m.requests for m in merged] == [sum(range(10 * k, 10 * k + 10))
                                                for k in range(10)]
        assert [m.errors for m in merged] == [5] * 10
        assert [m.seconds for m in merged] == [150.0] * 10
        first = range(10)  # p50 = i weighted by i requests
        assert merged[0].p50_ms == pytest.approx(sum(i * i for i in first) / sum(first))
        assert merged[0].p95_ms == pytest.approx(2 * sum(i * i for i in first) / sum(first))
        assert all(m.p99_ms == pytest.approx(30.0) for m in merged)
        window = store.deployment_history(dep.id, since=samples[50].at, max_points=5)
        assert len(window) == 5
        assert sum(m.requests for m in window) == sum(range(50, 100))

    def test_merged_percentiles_without_requests_are_plain_means(self, store: Any) -> None:
        dep = store.create_deployment(_deployment())
        for i, p50 in enumerate((2.0, 4.0, None)):
            at = dep.started_at + timedelta(seconds=15 * i)
            store.heartbeat_deployment(dep.id, at=at, sample=self._sample(
                at, requests=0, errors=0, p50_ms=p50, p95_ms=None, p99_ms=None))
        [merged] = store.deployment_history(dep.id, max_points=1)
        assert merged.p50_ms == pytest.approx(3.0)
        assert merged.p95_ms is None
        assert merged.requests == 0
        assert merged.seconds == 45.0
