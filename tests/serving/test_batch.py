"""Batch scoring: chunks stream through the model (both cores), bad rows go to a rejects file
with their reason, and memory stays bounded on a file larger than the bound."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.serving.conftest import COLS, Zoo

from shipyard.errors import SignatureError
from shipyard.serving._batch import BatchScorer, rejects_path


def _frame(zoo: Zoo, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.normal(size=(n, 4)), columns=COLS)
    frame.insert(0, "customer", [f"c{i}" for i in range(n)])
    return frame


def test_parquet_folder_scores_in_order_with_ids(zoo: Zoo, tmp_path: Path) -> None:
    frame = _frame(zoo, 2500)
    folder = tmp_path / "in"
    folder.mkdir()
    for i, start in enumerate(range(0, 2500, 1000)):
        frame.iloc[start:start + 1000].to_parquet(folder / f"part-{i}.parquet")
    seen: list[tuple[int, int | None]] = []
    result = BatchScorer(zoo.client.models, zoo.client.settings).score(
        "models:/rf@champion", input=str(folder), output=str(tmp_path / "out.parquet"),
        chunk_rows=300, workers=1, progress=lambda done, total: seen.append((done, total)))
    assert (result.rows, result.scored, result.rejected, result.rejects) == (2500, 2500, 0,
                                                                               None)
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert list(out.columns) == ["row", "customer", "prediction", "proba_0", "proba_1"]
    assert out["row"].tolist() == list(range(2500))
    assert out["customer"].tolist() == frame["customer"].tolist()
    assert out["prediction"].tolist() == zoo.rf.predict(frame[COLS].to_numpy()).tolist()
    np.testing.assert_allclose(out[["proba_0", "proba_1"]],
                               zoo.rf.predict_proba(frame[COLS].to_numpy()))
    assert seen[-1] == (2500, 2500)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_bad_rows_go_to_the_rejects_file_with_reasons(zoo: Zoo, tmp_path: Path) -> None:
    frame = _frame(zoo, 50).astype({"b": object})
    frame.loc[3, "b"] = "tall"
    frame.loc[7, "c"] = np.nan  # matches float64, but LogisticRegression refuses NaN
    frame.to_csv(tmp_path / "in.csv", index=False)
    result = BatchScorer(zoo.client.models, zoo.client.settings).score(
        "models:/lr@champion", input=str(tmp_path / "in.csv"),
        output=str(tmp_path / "out.csv"), workers=1, chunk_rows=20)
    assert (result.scored, result.rejected) == (48, 2)
    assert result.rejects == str(tmp_path / "out.rejects.csv")
    rejects = pd.read_csv(tmp_path / "out.rejects.csv")
    assert rejects["row"].tolist() == [3, 7]
    assert rejects["customer"].tolist() == ["c3", "c7"]
    assert "'b'" in rejects["reason"][0]
    assert "'tall'" in rejects["reason"][0]
    assert "float64" in rejects["reason"][0]
    assert "NaN" in rejects["reason"][1]
    out = pd.read_csv(tmp_path / "out.csv")
    assert 3 not in out["row"].tolist()
    assert 7 not in out["row"].tolist()
    good = frame.drop(index=[3, 7])
    assert out["prediction"].tolist() == zoo.lr.predict(
        good[COLS].astype(float).to_numpy()).tolist()


def test_two_worker_processes_give_the_same_output(zoo: Zoo, tmp_path: Path) -> None:
    frame = _frame(zoo, 3000)
    pq.write_table(pa.Table.from_pandas(frame), tmp_path / "in.parquet", row_group_size=500)
    scorer = BatchScorer(zoo.client.models, zoo.client.settings)
    for workers in (1, 2):
        scorer.score("models:/lr@champion", input=str(tmp_path / "in.parquet"),
                     output=str(tmp_path / f"out{workers}.arrow"), workers=workers,
                     chunk_rows=400)
    with pa.memory_map(str(tmp_path / "out1.arrow")) as a, pa.memory_map(
            str(tmp_path / "out2.arrow")) as b:
        assert pa.ipc.open_file(a).read_all().equals(pa.ipc.open_file(b).read_all())


def test_a_column_missing_from_the_input_fails_the_job_at_once(zoo: Zoo, tmp_path: Path) -> None:
    _frame(zoo, 10).drop(columns=["d"]).to_parquet(tmp_path / "in.parquet")
    with pytest.raises(SignatureError, match="'d'"):
        BatchScorer(zoo.client.models, zoo.client.settings).score(
            "models:/lr@champion", input=str(tmp_path / "in.parquet"),
            output=str(tmp_path / "out.parquet"), workers=1)


def test_rejects_path_sits_next_to_the_output() -> None:
    assert rejects_path("s3://b/scores.parquet") == "s3://b/scores.rejects.parquet"
    assert rejects_path("out/x.csv") == "out/x.rejects.csv"


def _peak_rss(proc: subprocess.Popen[bytes]) -> tuple[int, int]:
    """Poll the process tree until it exits; returns (peak of any one process, peak sum)."""
    import psutil

    root = psutil.Process(proc.pid)
    one = total = 0
    while proc.poll() is None:
        try:
            procs = [root, *root.children(recursive=True)]
            sizes = [p.memory_info().rss for p in procs]
        except psutil.Error:
            continue
        one, total = max(one, *sizes), max(total, sum(sizes))
        time.sleep(0.02)
    return one, total


@pytest.mark.slow
def test_scoring_a_file_larger_than_the_memory_bound(zoo: Zoo, tmp_path: Path) -> None:
    """2 M rows x 32 float64 columns (512 MB of values) through ``shipyard predict`` with
    two workers: no process's resident memory gets near the data's size."""
    from sklearn.linear_model import LogisticRegression
    from tests.serving.conftest import register

    width, rows, bound = 32, 2_000_000, 400 * 2**20
    cols = [f"x{i}" for i in range(width)]
    rng = np.random.default_rng(5)
    train = rng.normal(size=(500, width))
    model = LogisticRegression().fit(train, (train[:, 0] > 0).astype(int))
    register(zoo.client, "wide", model, pd.DataFrame(train[:10], columns=cols))
    path = tmp_path / "big.parquet"
    with pq.ParquetWriter(path, pa.schema([(c, pa.float64()) for c in cols])) as writer:
        for _ in range(rows // 100_000):
            block = rng.normal(size=(100_000, width))
            writer.write_table(pa.table(dict(zip(cols, block.T, strict=True))),
                               row_group_size=100_000)
    assert rows * width * 8 > bound
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env["SHIPYARD_HOME"] = str(zoo.client.settings.home_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "shipyard", "predict", "models:/wide/1", "--input", str(path),
         "--output", str(tmp_path / "scores.parquet"), "--chunk-rows", "50000",
         "--workers", "2", "--json", "--no-progress"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    one, total = _peak_rss(proc)
    out, err = proc.communicate()
    assert proc.returncode == 0, err.decode()
    summary = json.loads(out)
    assert (summary["rows"], summary["scored"], summary["rejected"]) == (rows, rows, 0)
    assert pq.ParquetFile(tmp_path / "scores.parquet").metadata.num_rows == rows
    assert one < bound, f"peak RSS of one process {one >> 20} MB"
    print(f"peak RSS: {one >> 20} MB in one process, {total >> 20} MB in all")


def test_cli_predict_prints_a_summary(zoo: Zoo, tmp_path: Path, monkeypatch: Any) -> None:
    from click.testing import CliRunner

    from shipyard.cli.main import cli

    _frame(zoo, 30).to_parquet(tmp_path / "in.parquet")
    monkeypatch.setenv("SHIPYARD_HOME", str(zoo.client.settings.home_path))
    res = CliRunner().invoke(cli, ["predict", "models:/lr@champion", "--input",
                                   str(tmp_path / "in.parquet"), "--output",
                                   str(tmp_path / "o.parquet"), "--workers", "1", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["scored"] == 30
    bad = CliRunner().invoke(cli, ["predict", "models:/lr@champion", "--input",
                                   str(tmp_path / "missing.parquet"), "--output",
                                   str(tmp_path / "o.parquet")])
    assert bad.exit_code == 1
    assert "does not exist" in bad.output
