"""The metadata store contract: every backend (SQLite, PostgreSQL, remote) runs this suite.

Subclass it in a test module and override the ``store`` fixture::

    class TestSQLiteMetadataStore(MetadataStoreContract):
        @pytest.fixture
        def store(self, tmp_path): ...
"""

from __future__ import annotations

import math
import uuid
from datetime import timedelta

import pytest

from shipyard.entities._ids import utc_now
from shipyard.entities.search import Comparison, Field, OrderBy
from shipyard.entities.tracking import (
    ArtifactInfo,
    DatasetInput,
    Metric,
    RunContext,
    RunStatus,
)
from shipyard.errors import (
    ExperimentAlreadyExistsError,
    ExperimentNotFoundError,
    ParamConflictError,
    RunNotFoundError,
)
from shipyard.stores.metadata import MetadataStore


def _name() -> str:
    return f"exp-{uuid.uuid4().hex[:10]}"


class MetadataStoreContract:
    """Behaviour every `MetadataStore` must have."""

    @pytest.fixture
    def store(self) -> MetadataStore:  # pragma: no cover - overridden
        raise NotImplementedError

    @pytest.fixture
    def run(self, store: MetadataStore):  # type: ignore[no-untyped-def]
        exp = store.create_experiment(_name())
        return store.create_run(experiment_id=exp.id, name="r", start_time=utc_now(),
                                context=RunContext(user="alice", python_version="3.11"))

    def _m(self, key: str, value: float, step: int = 0) -> Metric:
        return Metric(key=key, value=value, step=step, timestamp=utc_now())

    # experiments --------------------------------------------------------------------
    def test_create_and_get_experiment(self, store: MetadataStore) -> None:
        name = _name()
        exp = store.create_experiment(name, description="d", tags={"team": "ml"})
        got = store.get_experiment(exp.id)
        assert (got.name, got.description, got.tags) == (name, "d", {"team": "ml"})
        assert store.find_experiment_by_name(name) == got
        assert store.find_experiment_by_name(_name()) is None

    def test_duplicate_experiment_name_raises(self, store: MetadataStore) -> None:
        name = _name()
        store.create_experiment(name)
        with pytest.raises(ExperimentAlreadyExistsError, match=name):
            store.create_experiment(name)

    def test_get_unknown_experiment_raises(self, store: MetadataStore) -> None:
        with pytest.raises(ExperimentNotFoundError):
            store.get_experiment("0" * 32)

    def test_soft_delete_experiment_hides_it_from_list(self, store: MetadataStore) -> None:
        exp = store.create_experiment(_name())
        store.set_experiment_deleted(exp.id, deleted=True)
        assert exp.id not in {e.id for e in store.list_experiments()}
        assert exp.id in {e.id for e in store.list_experiments(include_deleted=True)}
        store.set_experiment_deleted(exp.id, deleted=False)
        assert exp.id in {e.id for e in store.list_experiments()}

    # runs ---------------------------------------------------------------------------
    def test_create_run_records_context(self, store: MetadataStore, run) -> None:  # type: ignore[no-untyped-def]
        got = store.get_run(run.id)
        assert got.status is RunStatus.RUNNING
        assert got.context.user == "alice"
        assert got.end_time is None

    def test_create_run_in_unknown_experiment_raises(self, store: MetadataStore) -> None:
        with pytest.raises(ExperimentNotFoundError):
            store.create_run(experiment_id="f" * 32, name="x", start_time=utc_now(),
                             context=RunContext())

    def test_get_unknown_run_raises(self, store: MetadataStore) -> None:
        with pytest.raises(RunNotFoundError):
            store.get_run("f" * 32)

    def test_update_run_status_and_end_time(self, store: MetadataStore, run) -> None:  # type: ignore[no-untyped-def]
        end = utc_now()
        got = store.update_run(run.id, status=RunStatus.FAILED, end_time=end, error="boom")
        assert got.status is RunStatus.FAILED
        assert got.error == "boom"
        assert abs((got.end_time - end).total_seconds()) < 0.01  # type: ignore[operator]

    def test_nested_runs_keep_parent(self, store: MetadataStore, run) -> None:  # type: ignore[no-untyped-def]
        child = store.create_run(experiment_id=run.experiment_id, name="c", start_time=utc_now(),
                                 context=RunContext(), parent_id=run.id)
        assert store.get_run(child.id).parent_id == run.id

    # logging ------------------------------------------------------------------------
    def test_log_batch_writes_metrics_params_tags(self, store: MetadataStore, run) -> None:  # type: ignore[no-untyped-def]
        store.log_batch(run.id, metrics=[self._m("loss", 1.0, 0), self._m("loss", 0.5, 1)],
                        params={"lr": 0.1, "model": "rf", "depth": 3, "flag": True, "none": None},
                        tags={"t": "v"})
        got = store.get_run(run.id)
        assert got.params == {"lr": 0.1, "model": "rf", "depth": 3, "flag": True, "none": None}
        assert got.tags == {"t": "v"}
        assert got.metrics == {"loss": 0.5}
        hist = store.get_metric_history(run.id, "loss")
        assert [(m.step, m.value) for m in hist] == [(0, 1.0), (1, 0.5)]

    def test_latest_metric_is_highest_step_not_last_written(  # type: ignore[no-untyped-def]
            self, store: MetadataStore, run) -> None:
        store.log_batch(run.id, metrics=[self._m("acc", 0.9, 5)])
        store.log_batch(run.id, metrics=[self._m("acc", 0.1, 2)])
        assert store.get_run(run.id).metrics["acc"] == 0.9

    def test_nan_and_inf_round_trip(self, store: MetadataStore, run) -> None:  # type: ignore[no-untyped-def]
        store.log_batch(run.id, metrics=[self._m("x", math.nan, 0), self._m("x", math.inf, 1),
                                         self._m("x", -math.inf, 2)])
        values = [m.value for m in store.get_metric_history(run.id, "x")]
        assert math.isnan(values[0])
        assert values[1:] == [math.inf, -math.inf]

    def test_param_relog_same_value_is_noop_other_value_conflicts(  # type: ignore[no-untyped-def]
            self, store: MetadataStore, run) -> None:
        store.log_batch(run.id, params={"lr": 0.1})
        store.log_batch(run.id, params={"lr": 0.1})
        with pytest.raises(ParamConflictError, match="lr"):
            store.log_batch(run.id, params={"lr": 0.2}, metrics=[self._m("m", 1.0)])
        got = store.get_run(run.id)
        assert got.params == {"lr": 0.1}
        assert got.metrics == {}, "a failed batch must write nothing"

    def test_batch_id_makes_log_batch_idempotent(self, store: MetadataStore, run) -> None:  # type: ignore[no-untyped-def]
        pts = [self._m("m", float(i), i) for i in range(10)]
        assert store.log_batch(run.id, metrics=pts, batch_id="b-1") is True
        assert store.log_batch(run.id, metrics=pts, batch_id="b-1") is False
        assert len(store.get_metric_history(run.id, "m")) == 10

    def test_log_to_unknown_run_raises(self, store: MetadataStore) -> None:
        with pytest.raises(RunNotFoundError):
            store.log_batch("e" * 32, metrics=[self._m("m", 1.0)])

    def test_tags_overwrite_and_delete(self, store: MetadataStore, run) -> None:  # type: ignore[no-untyped-def]
        store.log_batch(run.id, tags={"a": "1"})
        store.log_batch(run.id, tags={"a": "2"})
        assert store.get_run(run.id).tags == {"a": "2"}
        store.delete_tag(run.id, "a")
        store.delete_tag(run.id, "a")
        assert store.get_run(run.id).tags == {}

    def test_inputs_and_artifact_records(self, store: MetadataStore, run) -> None:  # type: ignore[no-untyped-def]
        ds = DatasetInput(name="train", digest="abc", schema={"x": "float64"}, num_rows=10,
                          source="file.csv", context="training")
        store.log_inputs(run.id, [ds])
        store.log_inputs(run.id, [ds])
        assert store.list_inputs(run.id) == [ds]
        if store.records_artifacts_on_upload:
            return  # records come from uploads (the server's suite covers them)
        info = ArtifactInfo(path="model/m.pkl", size=3, sha256="0" * 64, created_at=utc_now())
        store.record_artifact(run.id, info)
        store.record_artifact(run.id, ArtifactInfo(path="a.txt", size=1, sha256="1" * 64,
                                                   created_at=utc_now()))
        assert [a.path for a in store.list_artifacts(run.id)] == ["a.txt", "model/m.pkl"]
        assert [a.path for a in store.list_artifacts(run.id, "model/")] == ["model/m.pkl"]

    # search -------------------------------------------------------------------------
    def test_search_filters_and_orders(self, store: MetadataStore) -> None:
        exp = store.create_experiment(_name())
        ids = []
        for i in range(6):
            r = store.create_run(experiment_id=exp.id, name=f"r{i}", start_time=utc_now(),
                                 context=RunContext())
            store.log_batch(r.id, metrics=[self._m("acc", i / 10)],
                            params={"model": "rf" if i % 2 else "lr"})
            ids.append(r.id)
        expr = Comparison(Field("metric", "acc"), ">", 0.15)
        got = store.search_runs([exp.id], filter=expr,
                                order_by=[OrderBy(Field("metric", "acc"), descending=True)])
        assert [r.id for r in got] == [ids[5], ids[4], ids[3], ids[2]]
        page = store.search_runs([exp.id], order_by=[OrderBy(Field("metric", "acc"))],
                                 max_results=2, offset=2)
        assert [r.id for r in page] == [ids[2], ids[3]]

    def test_soft_delete_restore_and_purge_runs(self, store: MetadataStore, run) -> None:  # type: ignore[no-untyped-def]
        store.log_batch(run.id, metrics=[self._m("m", 1.0)])
        store.set_runs_deleted([run.id], deleted=True, at=utc_now())
        assert store.search_runs([run.experiment_id]) == []
        assert [r.id for r in store.list_deleted_runs()] == [run.id]
        store.set_runs_deleted([run.id], deleted=False, at=utc_now())
        assert [r.id for r in store.search_runs([run.experiment_id])] == [run.id]
        store.purge_runs([run.id])
        with pytest.raises(RunNotFoundError):
            store.get_run(run.id)

    def test_stale_runs_are_found_by_heartbeat(self, store: MetadataStore, run) -> None:  # type: ignore[no-untyped-def]
        store.heartbeat([run.id], utc_now() - timedelta(hours=1))
        stale = store.find_stale_runs(heartbeat_before=utc_now() - timedelta(minutes=5))
        assert run.id in {r.id for r in stale}
        store.heartbeat([run.id], utc_now())
        stale = store.find_stale_runs(heartbeat_before=utc_now() - timedelta(minutes=5))
        assert run.id not in {r.id for r in stale}

    # keys of every run (the column chooser) --------------------------------------------
    def test_list_run_keys_covers_every_run_of_the_experiments(
            self, store: MetadataStore) -> None:
        exp, other = store.create_experiment(_name()), store.create_experiment(_name())
        runs = [store.create_run(experiment_id=exp.id, name=f"r{i}", start_time=utc_now(),
                                 context=RunContext(), tags={"team": "ml"} if i else {})
                for i in range(3)]
        store.log_batch(runs[0].id, metrics=[self._m("loss", 1.0 / s, s) for s in (1, 2, 3)],
                        params={"lr": 0.1}, tags={"stage": "dev"})
        store.log_batch(runs[1].id, metrics=[self._m("system/cpu", 50.0)],
                        params={"lr": 0.2, "model name": "rf"})
        store.log_batch(runs[2].id, params={"only_deleted": 1})
        store.set_runs_deleted([runs[2].id], deleted=True, at=utc_now())
        elsewhere = store.create_run(experiment_id=other.id, name="x", start_time=utc_now(),
                                     context=RunContext())
        store.log_batch(elsewhere.id, metrics=[self._m("auc", 0.9)], params={"depth": 3},
                        tags={"elsewhere": "1"})

        def tag_keys(*run_ids: str) -> list[str]:
            return sorted({k for r in store.get_runs(list(run_ids)) for k in r.tags})

        got = store.list_run_keys([exp.id])
        assert got == {"metrics": ["loss", "system/cpu"],
                       "params": ["lr", "model name", "only_deleted"],
                       "tags": tag_keys(*(r.id for r in runs))}
        assert {"stage", "team"} <= set(got["tags"])
        assert "elsewhere" not in got["tags"]
        both = store.list_run_keys([exp.id, other.id, exp.id])
        assert both["metrics"] == ["auc", "loss", "system/cpu"]
        assert both["params"] == ["depth", "lr", "model name", "only_deleted"]
        assert both["tags"] == tag_keys(elsewhere.id, *(r.id for r in runs))
        assert store.list_run_keys([other.id])["params"] == ["depth"]

    def test_list_run_keys_of_nothing_is_empty(self, store: MetadataStore) -> None:
        empty: dict[str, list[str]] = {"metrics": [], "params": [], "tags": []}
        assert store.list_run_keys([]) == empty
        assert store.list_run_keys(["f" * 32]) == empty
        assert store.list_run_keys([store.create_experiment(_name()).id]) == empty
