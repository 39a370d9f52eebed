from __future__ import annotations

import io
import math
from pathlib import Path

import pytest

from shipyard.entities._ids import utc_now
from shipyard.entities.tracking import Metric, RunStatus
from shipyard.errors import (
    ArtifactNotFoundError,
    InvalidArgumentError,
    InvalidFilterError,
    ParamConflictError,
    RunNotFoundError,
)


@pytest.fixture
def svc(client):
    return client.tracking


@pytest.fixture
def run(svc):
    return svc.create_run(experiment="exp", name="r1", tags={"team": "ml"})


def test_create_run_creates_experiment_and_captures_context(svc, run) -> None:
    assert svc.get_experiment("exp").id == run.experiment_id
    assert run.status is RunStatus.RUNNING
    assert run.context.python_version
    assert run.tags == {"team": "ml"}


@pytest.mark.parametrize(
    ("key", "fragment"),
    [("", "must not be empty"), ("x" * 251, "at most 250"), ("../etc", "looks like a path"),
     ("/abs", "looks like a path"), ("a//b", "looks like a path"), ("a\\b", "keys may use letters"),
     (3, "must be a string")],
)
def test_bad_keys_raise_and_store_nothing(svc, run, key, fragment) -> None:
    with pytest.raises(InvalidArgumentError, match=fragment):
        svc.log_batch(run.id, params={key: 1}, metrics=[svc.make_metric("ok", 1.0)])
    with pytest.raises(InvalidArgumentError):
        svc.make_metric(key, 1.0)
    got = svc.get_run(run.id)
    assert got.params == {}
    assert got.metrics == {}


@pytest.mark.parametrize("value", ["1.0", None, True, [1], object()])
def test_non_numeric_metric_value_is_rejected_with_its_value(svc, run, value) -> None:
    with pytest.raises(InvalidArgumentError, match="numeric value") as info:
        svc.log_metric(run.id, "loss", value)
    assert repr(value)[:10] in str(info.value)


def test_param_relog_with_other_value_conflicts_and_keeps_first(svc, run) -> None:
    svc.log_param(run.id, "lr", 0.1)
    with pytest.raises(ParamConflictError, match=r"already 0.1"):
        svc.log_param(run.id, "lr", 0.2)
    assert svc.get_run(run.id).params["lr"] == 0.1


def test_unknown_run_id_raises_not_found(svc) -> None:
    with pytest.raises(RunNotFoundError, match="f" * 32):
        svc.log_metric("f" * 32, "m", 1.0)


def test_params_are_typed(svc, run) -> None:
    import numpy as np

    svc.log_batch(run.id, params={"i": 3, "f": 0.5, "b": False, "s": "x", "n": None,
                                  "np": np.int64(7), "l": [1, 2]})
    assert svc.get_run(run.id).params == {"i": 3, "f": 0.5, "b": False, "s": "x", "n": None,
                                          "np": 7, "l": "[1, 2]"}


def test_metric_series_keeps_every_point_with_nan_and_inf(svc, run) -> None:
    for step, v in enumerate([1.0, math.nan, math.inf, 0.25]):
        svc.log_metric(run.id, "loss", v, step=step)
    hist = svc.get_metric_history(run.id, "loss")
    assert [m.step for m in hist] == [0, 1, 2, 3]
    assert math.isnan(hist[1].value)
    assert hist[2].value == math.inf
    assert svc.get_run(run.id).metrics["loss"] == 0.25


def test_artifacts_record_size_and_sha256(svc, run, tmp_path: Path) -> None:
    import hashlib

    data = b"hello artifacts" * 1000
    f = tmp_path / "a.bin"
    f.write_bytes(data)
    info = svc.log_artifact(run.id, f, "data")
    assert (info.path, info.size, info.sha256) == ("data/a.bin", len(data),
                                                   hashlib.sha256(data).hexdigest())
    assert svc.read_artifact(run.id, "data/a.bin") == data
    svc.log_text(run.id, "hi", "notes/readme.txt")
    svc.log_dict(run.id, {"a": 1}, "cfg.json")
    assert [a.path for a in svc.list_artifacts(run.id)] == ["cfg.json", "data/a.bin",
                                                            "notes/readme.txt"]
    out = svc.download_artifacts(run.id, tmp_path / "dl")
    assert sorted(p.name for p in out) == ["a.bin", "cfg.json", "readme.txt"]


def test_log_artifacts_records_every_file_of_a_tree(svc, run, tmp_path: Path) -> None:
    import hashlib

    contents = {f"d{i % 3}/sub/f{i:03d}.bin": bytes([i % 251]) * (i + 1) for i in range(150)}
    for rel, data in contents.items():
        (tmp_path / "tree" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "tree" / rel).write_bytes(data)
    out = svc.log_artifacts(run.id, tmp_path / "tree", "out")
    assert [a.path for a in out] == [f"out/{rel}" for rel in sorted(contents)]
    listed = {a.path: a for a in svc.list_artifacts(run.id, "out/")}
    assert len(listed) == len(contents)
    for rel, data in contents.items():
        info = listed[f"out/{rel}"]
        assert (info.size, info.sha256) == (len(data), hashlib.sha256(data).hexdigest())
        assert svc.read_artifact(run.id, f"out/{rel}") == data


def test_log_artifacts_records_what_was_stored_before_a_failure(client, run, tmp_path) -> None:
    class Failing(type(client.artifacts)):  # the real backend, failing on one key
        def put(self, key, stream, **kw):  # type: ignore[no-untyped-def]
            if key.endswith("f5.txt"):
                raise OSError("disk full")
            return super().put(key, stream, **kw)

    client.artifacts.__class__ = Failing
    (tmp_path / "src").mkdir()
    for i in range(10):
        (tmp_path / "src" / f"f{i}.txt").write_text(str(i))
    with pytest.raises(OSError, match="disk full"):
        client.tracking.log_artifacts(run.id, tmp_path / "src")
    listed = [a.path for a in client.tracking.list_artifacts(run.id)]
    assert listed[:5] == [f"f{i}.txt" for i in range(5)]  # in order up to the failure
    assert "f5.txt" not in listed


@pytest.mark.parametrize("path", ["../escape.txt", "/etc/passwd", "a/../../b", "", "a//b"])
def test_artifact_paths_cannot_escape_the_run(svc, run, path) -> None:
    with pytest.raises(InvalidArgumentError):
        svc.log_stream(run.id, io.BytesIO(b"x"), path)
    assert svc.list_artifacts(run.id) == []


def test_missing_artifact_raises(svc, run) -> None:
    with pytest.raises(ArtifactNotFoundError, match=r"nope\.txt"):
        svc.read_artifact(run.id, "nope.txt")


def test_log_table_figure_and_input(svc, run) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    df = pd.DataFrame({"x": [1.0, 2.0], "c": ["a", "b"]})
    svc.log_table(run.id, df, "tables/df.parquet")
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3])
    svc.log_figure(run.id, fig, "plots/line.png")
    plt.close(fig)
    ds = svc.log_input(run.id, df, name="train", context="training", source="mem")
    assert ds.num_rows == 2
    assert ds.schema == {"x": "float64", "c": "object"} or ds.schema["c"] in ("str", "string")
    assert svc.list_inputs(run.id)[0].digest == ds.digest
    assert svc.read_artifact(run.id, "plots/line.png")[:4] == b"\x89PNG"
    back = pd.read_parquet(io.BytesIO(svc.read_artifact(run.id, "tables/df.parquet")))
    assert back.equals(df)


def test_search_pages_concatenate_to_full_list(svc) -> None:
    ids = []
    for i in range(25):
        r = svc.create_run(experiment="s")
        svc.log_batch(r.id, metrics=[Metric(key="acc", value=i / 25, step=0,
                                            timestamp=utc_now())], params={"i": i})
        ids.append(r.id)
    full = svc.search_runs("s", order_by=["metrics.acc DESC"], max_results=1000).items
    pages, token = [], None
    while True:
        page = svc.search_runs("s", order_by=["metrics.acc DESC"], max_results=7,
                               page_token=token)
        pages.extend(page.items)
        token = page.next_page_token
        if token is None:
            break
    assert [r.id for r in pages] == [r.id for r in full] == ids[::-1]
    got = svc.search_runs("s", filter="params.i >= 20 and metrics.acc < 0.9").items
    assert sorted(r.params["i"] for r in got) == [20, 21, 22]


def test_malformed_filter_points_at_token(svc) -> None:
    with pytest.raises(InvalidFilterError, match=r"\^"):
        svc.search_runs(filter="metrics.acc >> 3")


def test_search_runs_df(svc, run) -> None:
    svc.log_batch(run.id, params={"p": 1}, metrics=[svc.make_metric("m", 2.0)])
    df = svc.search_runs_df("exp")
    assert df.loc[0, "params.p"] == 1
    assert df.loc[0, "metrics.m"] == 2.0


def test_delete_restore_and_gc_removes_artifacts(svc, run, client) -> None:
    svc.log_text(run.id, "x", "a.txt")
    key_prefix = f"{run.experiment_id}/{run.id}/"
    assert list(client.artifacts.list(key_prefix))
    svc.delete_runs([run.id])
    assert svc.search_runs("exp").items == []
    svc.restore_runs([run.id])
    assert [r.id for r in svc.search_runs("exp").items] == [run.id]
    svc.delete_runs([run.id])
    assert svc.gc() == [run.id]
    assert list(client.artifacts.list(key_prefix)) == []
    with pytest.raises(RunNotFoundError):
        svc.get_run(run.id)


def test_delete_experiment_cascades_and_restore_undoes(svc, run) -> None:
    svc.delete_experiment("exp")
    assert svc.get_run(run.id).lifecycle == "deleted"
    svc.restore_experiment("exp")
    assert svc.get_run(run.id).lifecycle == "active"


def test_logging_to_deleted_run_is_refused(svc, run) -> None:
    svc.delete_runs([run.id])
    with pytest.raises(Exception, match="deleted"):
        svc.log_param(run.id, "a", 1)


def test_metric_order_puts_runs_without_the_metric_last_on_every_page(svc) -> None:
    with_metric, without = [], []
    for i in range(13):
        r = svc.create_run(experiment="split")
        if i % 3:
            svc.log_batch(r.id, metrics=[svc.make_metric("acc", (i * 7 % 13) / 13)],
                          params={"i": i})
            with_metric.append((r.id, (i * 7 % 13) / 13))
        else:
            svc.log_batch(r.id, params={"i": i})
            without.append(r.id)
    expected = [rid for rid, _ in sorted(with_metric, key=lambda x: -x[1])] + without
    for size in (1, 4, 5, 13, 50):
        pages, token = [], None
        while True:
            page = svc.search_runs("split", order_by=["metrics.acc DESC", "params.i"],
                                   max_results=size, page_token=token)
            pages.extend(r.id for r in page.items)
            token = page.next_page_token
            if token is None:
                break
        assert pages == expected, size
    got = svc.search_runs("split", filter="params.i >= 6", order_by=["metrics.acc"]).items
    assert [r.params["i"] for r in got][-2:] == [9, 6]
