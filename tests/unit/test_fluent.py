from __future__ import annotations

import pytest

import shipyard
from shipyard.entities.tracking import RunStatus
from shipyard.errors import InvalidArgumentError


def test_fluent_run_logs_and_finishes(client) -> None:
    with shipyard.start_run(experiment="churn", run_name="first") as run:
        shipyard.log_params({"lr": 0.1, "model": "rf"})
        for i in range(100):
            shipyard.log_metric("loss", 1 / (i + 1))
        shipyard.log_metrics({"acc": 0.9, "auc": 0.95}, step=3)
        shipyard.set_tag("stage", "dev")
    got = client.tracking.get_run(run.id)
    assert got.status is RunStatus.FINISHED
    assert got.end_time is not None
    assert got.params == {"lr": 0.1, "model": "rf"}
    hist = client.tracking.get_metric_history(run.id, "loss")
    assert [m.step for m in hist] == list(range(100))
    assert got.metrics == {"loss": 1 / 100, "acc": 0.9, "auc": 0.95}
    assert shipyard.active_run() is None


def test_exception_marks_run_failed_with_error(client) -> None:
    def fail() -> None:
        with shipyard.start_run(experiment="e") as run:
            runs.append(run)
            shipyard.log_metric("m", 1.0)
            1 / 0  # noqa: B018

    runs: list = []
    with pytest.raises(ZeroDivisionError):
        fail()
    run = runs[0]
    got = client.tracking.get_run(run.id)
    assert got.status is RunStatus.FAILED
    assert "ZeroDivisionError" in (got.error or "")
    assert got.metrics == {"m": 1.0}, "points logged before the failure are flushed"


def test_nested_runs_need_nested_flag(client) -> None:
    with shipyard.start_run(experiment="e") as parent:
        with pytest.raises(InvalidArgumentError, match="nested=True"):
            shipyard.start_run()
        with shipyard.start_run(nested=True) as child:
            shipyard.log_metric("x", 1.0)
    assert client.tracking.get_run(child.id).parent_id == parent.id
    assert client.tracking.get_run(child.id).experiment_id == parent.info.experiment_id


def test_flush_makes_points_durable_without_ending(client) -> None:
    with shipyard.start_run(experiment="e") as run:
        for i in range(2000):
            shipyard.log_metric("m", float(i), step=i)
        shipyard.flush()
        assert len(client.tracking.get_metric_history(run.id, "m")) == 2000


def test_bad_metric_raises_in_foreground(client) -> None:
    with shipyard.start_run(experiment="e") as run:
        with pytest.raises(InvalidArgumentError, match="numeric"):
            shipyard.log_metric("m", "nope")  # type: ignore[arg-type]
        with pytest.raises(InvalidArgumentError, match="path"):
            shipyard.log_metric("../m", 1.0)
    assert client.tracking.get_run(run.id).metrics == {}


def test_no_active_run_error_says_what_to_do(client) -> None:
    with pytest.raises(InvalidArgumentError, match="start_run"):
        shipyard.log_metric("m", 1.0)


def test_system_metrics_are_sampled(client) -> None:
    with shipyard.start_run(experiment="e", system_metrics=True) as run:
        pass
    metrics = client.tracking.get_run(run.id).metrics
    assert "system/cpu_percent" in metrics
    assert metrics["system/process_rss_mb"] > 1


def test_search_runs_fluent_pandas(client) -> None:
    with shipyard.start_run(experiment="e"):
        shipyard.log_metric("m", 3.0)
    df = shipyard.search_runs("e", output="pandas")
    assert list(df["metrics.m"]) == [3.0]
