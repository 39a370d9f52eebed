"""The registry contract: every `ModelStore` + `AuditStore` backend runs this suite.

Subclass it and override the ``store`` fixture::

    class TestSQLiteModelStore(ModelStoreContract):
        @pytest.fixture
        def store(self, tmp_path): ...
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest

from shipyard.entities._ids import utc_now
from shipyard.entities.registry import Lineage, VersionStatus
from shipyard.entities.tracking import DatasetInput
from shipyard.errors import (
    AliasConflictError,
    AliasNotFoundError,
    ModelAlreadyExistsError,
    ModelNotFoundError,
    ModelVersionNotFoundError,
)


def _name() -> str:
    return f"model-{uuid.uuid4().hex[:10]}"


class ModelStoreContract:
    """Behaviour every registry store must have."""

    @pytest.fixture
    def store(self) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    @pytest.fixture
    def model(self, store: Any) -> str:
        name = _name()
        store.create_registered_model(name, description="d", tags={"team": "ml"})
        return name

    def _version(self, store: Any, name: str, **kw: Any) -> Any:
        return store.create_model_version(name, run_id="a" * 32, artifact_path="model",
                                          flavor="sklearn", **kw)

    # models -------------------------------------------------------------------------
    def test_create_and_get_model(self, store: Any, model: str) -> None:
        got = store.get_registered_model(model)
        assert (got.name, got.description, got.tags) == (model, "d", {"team": "ml"})
        assert got.aliases == {}
        assert got.latest_version is None

    def test_duplicate_model_raises(self, store: Any, model: str) -> None:
        with pytest.raises(ModelAlreadyExistsError, match=model):
            store.create_registered_model(model)

    def test_unknown_model_raises(self, store: Any) -> None:
        with pytest.raises(ModelNotFoundError):
            store.get_registered_model(_name())
        with pytest.raises(ModelNotFoundError):
            store.list_model_versions(_name())
        with pytest.raises(ModelNotFoundError):
            self._version(store, _name())

    def test_list_models_is_ordered_and_paged(self, store: Any) -> None:
        prefix = f"p{uuid.uuid4().hex[:6]}"
        names = [f"{prefix}-{i}" for i in (3, 1, 2)]
        for n in names:
            store.create_registered_model(n)
        listed = [m.name for m in store.list_registered_models(max_results=1000)
                  if m.name.startswith(prefix)]
        assert listed == sorted(names)
        everything = store.list_registered_models(max_results=1000)
        pages = [m for off in range(0, len(everything), 2)
                 for m in store.list_registered_models(max_results=2, offset=off)]
        assert [m.name for m in pages] == [m.name for m in everything]

    def test_update_model_description_and_tags(self, store: Any, model: str) -> None:
        store.update_registered_model(model, description="new", set_tags={"a": "1"})
        got = store.update_registered_model(model, delete_tags=["team", "absent"])
        assert (got.description, got.tags) == ("new", {"a": "1"})

    def test_delete_model_removes_versions_and_aliases(self, store: Any, model: str) -> None:
        self._version(store, model)
        store.set_alias(model, "champion", 1)
        store.delete_registered_model(model)
        store.delete_registered_model(model)
        with pytest.raises(ModelNotFoundError):
            store.get_registered_model(model)
        store.create_registered_model(model)
        assert store.list_model_versions(model) == []
        assert store.list_aliases(model) == []

    # versions -----------------------------------------------------------------------
    def test_versions_are_numbered_and_round_trip(self, store: Any, model: str) -> None:
        lineage = Lineage(run_id="a" * 32, experiment_id="e" * 32, git_commit="abc",
                          git_dirty=False, source="train.py", datasets=(DatasetInput(
                              name="train", digest="d1", schema={"x": "float64"},
                              num_rows=10, context="training"),))
        v1 = self._version(store, model, signature={"inputs": {"type": "tensor"}},
                           metrics={"auc": 0.9}, tags={"k": "v"}, description="first",
                           lineage=lineage, created_by="alice")
        v2 = self._version(store, model)
        assert (v1.version, v2.version) == (1, 2)
        got = store.get_model_version(model, 1)
        assert got.signature == {"inputs": {"type": "tensor"}}
        assert (got.metrics, got.tags, got.description) == ({"auc": 0.9}, {"k": "v"}, "first")
        assert got.lineage == lineage
        assert got.created_by == "alice"
        assert got.status is VersionStatus.READY
        assert store.get_registered_model(model).latest_version == 2

    def test_unknown_version_raises(self, store: Any, model: str) -> None:
        with pytest.raises(ModelVersionNotFoundError):
            store.get_model_version(model, 7)
        with pytest.raises(ModelNotFoundError):
            store.get_model_version(_name(), 1)

    def test_update_version_tags_keep_lineage(self, store: Any, model: str) -> None:
        self._version(store, model, tags={"a": "1"}, lineage=Lineage(run_id="a" * 32))
        got = store.update_model_version(model, 1, description="x", set_tags={"b": "2"},
                                         delete_tags=["a"])
        assert (got.description, got.tags) == ("x", {"b": "2"})
        assert got.lineage.run_id == "a" * 32

    def test_soft_delete_version_drops_its_aliases(self, store: Any, model: str) -> None:
        self._version(store, model)
        self._version(store, model)
        store.set_alias(model, "champion", 1)
        store.set_alias(model, "challenger", 2)
        got = store.set_model_version_deleted(model, 1, at=utc_now())
        store.set_model_version_deleted(model, 1, at=utc_now())
        assert got.status is VersionStatus.DELETED
        assert got.deleted_at is not None
        assert [v.version for v in store.list_model_versions(model)] == [2]
        assert [v.version for v in store.list_model_versions(model, include_deleted=True)] == [
            1, 2]
        assert store.get_registered_model(model).aliases == {"challenger": 2}
        with pytest.raises(ModelVersionNotFoundError):
            store.set_alias(model, "champion", 1)

    def test_deleted_version_numbers_are_not_reused(self, store: Any, model: str) -> None:
        self._version(store, model)
        self._version(store, model)
        store.purge_model_version(model, 2)
        store.purge_model_version(model, 2)
        store.set_model_version_deleted(model, 1, at=utc_now())
        assert self._version(store, model).version == 2  # max(existing) + 1: 1 is still there

    def test_concurrent_versions_get_distinct_numbers(self, store: Any, model: str) -> None:
        got: list[int] = []
        errors: list[BaseException] = []

        def add() -> None:
            try:
                got.append(self._version(store, model).version)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=add) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert sorted(got) == list(range(1, 9))

    # aliases ------------------------------------------------------------------------
    def test_alias_create_move_and_revision(self, store: Any, model: str) -> None:
        self._version(store, model)
        self._version(store, model)
        a = store.set_alias(model, "champion", 1, expected_revision=None, updated_by="bob")
        assert (a.version, a.revision, a.updated_by) == (1, 1, "bob")
        b = store.set_alias(model, "champion", 2, expected_revision=1)
        assert (b.version, b.revision) == (2, 2)
        c = store.set_alias(model, "champion", 1)
        assert (c.version, c.revision) == (1, 3)
        assert store.get_alias(model, "champion") == c
        assert [x.alias for x in store.list_aliases(model)] == ["champion"]
        assert store.get_model_version(model, 1).aliases == ("champion",)

    def test_stale_revision_conflicts_and_changes_nothing(self, store: Any, model: str) -> None:
        self._version(store, model)
        self._version(store, model)
        store.set_alias(model, "champion", 1, expected_revision=None)
        store.set_alias(model, "champion", 2, expected_revision=1)
        with pytest.raises(AliasConflictError, match="revision 2"):
            store.set_alias(model, "champion", 1, expected_revision=1)
        with pytest.raises(AliasConflictError):
            store.set_alias(model, "champion", 1, expected_revision=None)
        got = store.get_alias(model, "champion")
        assert (got.version, got.revision) == (2, 2)

    def test_alias_to_unknown_version_raises(self, store: Any, model: str) -> None:
        with pytest.raises(ModelVersionNotFoundError):
            store.set_alias(model, "champion", 5)
        with pytest.raises(AliasNotFoundError):
            store.get_alias(model, "champion")

    def test_delete_alias(self, store: Any, model: str) -> None:
        self._version(store, model)
        store.set_alias(model, "champion", 1)
        with pytest.raises(AliasConflictError):
            store.delete_alias(model, "champion", expected_revision=9)
        store.delete_alias(model, "champion", expected_revision=1)
        store.delete_alias(model, "champion")
        with pytest.raises(AliasNotFoundError):
            store.get_alias(model, "champion")

    # audit --------------------------------------------------------------------------
    def test_audit_events_are_appended_in_order(self, store: Any) -> None:
        target = _name()
        first = store.record_audit_event(action="a.one", target_type="model",
                                         target_id=target, actor="alice",
                                         detail={"from": 1, "to": 2, "reason": "why"})
        store.record_audit_event(action="a.two", target_type="model", target_id=target)
        store.record_audit_event(action="other", target_type="model", target_id=_name())
        events = store.list_audit_events("model", target)
        assert [e.action for e in events] == ["a.one", "a.two"]
        assert events[0] == first
        assert events[0].detail == {"from": 1, "to": 2, "reason": "why"}
        assert events[0].actor == "alice"
        assert events[1].id > events[0].id
        assert [e.action for e in store.list_audit_events("model", target, max_results=1)] == [
            "a.two"]
        assert len(store.list_audit_events("model")) >= 3
