"""drift_report: method choice, thresholds, multiple testing, profiles, outputs, and
detection quality on data with injected drift (and without)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from shipyard.errors import InvalidArgumentError
from shipyard.models import compute_profile
from shipyard.monitoring import ReferenceProfile, drift_report


def _frame(n: int, seed: int, *, drift: bool = False) -> pd.DataFrame:
    """Three drifting columns (mean shift, variance change, category frequencies) and six
    stable ones."""
    rng = np.random.default_rng(seed)
    cats = ["a", "b", "c"]
    out = {
        "shift": rng.normal(0.3 if drift else 0.0, 1.0, n),
        "spread": rng.normal(0.0, 1.5 if drift else 1.0, n),
        "freq": rng.choice(cats, n, p=[0.3, 0.3, 0.4] if drift else [0.5, 0.3, 0.2]),
        "s_normal": rng.normal(5, 2, n), "s_lognormal": rng.lognormal(0, 0.7, n),
        "s_int": rng.poisson(3, n).astype(float), "s_uniform": rng.uniform(0, 1, n),
        "s_cat": rng.choice(["x", "y", "z", "w"], n, p=[0.4, 0.3, 0.2, 0.1]),
        "s_bool": rng.random(n) < 0.3,
    }
    return pd.DataFrame(out)


DRIFTED = {"shift", "spread", "freq"}


@pytest.mark.parametrize(("n", "min_recall", "max_false"), [(1000, 0.9, 3), (20_000, 1.0, 0)])
def test_detection_precision_recall_and_false_alarms(n: int, min_recall: float,
                                                     max_false: int) -> None:
    """Six reference/current pairs with drift in three columns, six without any drift:
    recall, and false alarms among the 6 x 6 + 6 x 9 stable-column comparisons."""
    hits = false_alarms = 0
    no_drift_alarms = 0
    seeds = range(6)
    for seed in seeds:
        ref = _frame(n, seed)
        report = drift_report(ref, _frame(n, 1000 + seed, drift=True))
        flagged = set(report.drifted_columns)
        hits += len(flagged & DRIFTED)
        false_alarms += len(flagged - DRIFTED)
        no_drift_alarms += len(drift_report(ref, _frame(n, 2000 + seed)).drifted_columns)
    recall = hits / (len(DRIFTED) * len(seeds))
    assert recall >= min_recall
    assert false_alarms + no_drift_alarms <= max_false


def test_auto_method_uses_tests_for_small_samples_and_effect_sizes_for_large() -> None:
    small = drift_report(_frame(500, 1), _frame(500, 2))
    assert {c.column: c.method for c in small.columns}["shift"] == "ks"
    assert small["freq"].method == "chi2"
    assert small["shift"].p_value is not None
    large = drift_report(_frame(5000, 1), _frame(5000, 2))
    assert large["shift"].method == "wasserstein"
    assert large["freq"].method == "js"
    assert large["shift"].score == large["shift"].stats["wasserstein_normed"]


def test_p_values_are_adjusted_across_columns() -> None:
    report = drift_report(_frame(300, 1), _frame(300, 2, drift=True))
    raw = [c.p_value for c in report.columns if c.method in ("ks", "chi2")]
    adjusted = [c.score for c in report.columns if c.method in ("ks", "chi2")]
    assert adjusted == pytest.approx(list(stats.false_discovery_control(raw)))
    plain = drift_report(_frame(300, 1), _frame(300, 2, drift=True), fdr=False)
    assert [c.score for c in plain.columns if c.method in ("ks", "chi2")] == pytest.approx(raw)


def test_methods_and_thresholds_can_be_set_per_column() -> None:
    report = drift_report(_frame(5000, 1), _frame(5000, 2, drift=True),
                          method={"shift": "psi", "freq": "chi2"},
                          thresholds={"shift": 10.0, "js": 0.5, "spread": 0.01})
    assert (report["shift"].method, report["shift"].threshold) == ("psi", 10.0)
    assert report["shift"].drifted is False
    assert report["freq"].method == "chi2"
    assert report["s_cat"].threshold == 0.5
    assert report["spread"].threshold == 0.01


def test_bad_options_raise_with_the_allowed_values() -> None:
    with pytest.raises(InvalidArgumentError, match="auto"):
        drift_report(_frame(100, 1), _frame(100, 2), method="magic")
    with pytest.raises(InvalidArgumentError, match="does not apply"):
        drift_report(_frame(100, 1), _frame(100, 2), method={"shift": "chi2"})
    with pytest.raises(InvalidArgumentError, match=">= 0"):
        drift_report(_frame(100, 1), _frame(100, 2), thresholds={"psi": -1})
    with pytest.raises(InvalidArgumentError, match="not in the data"):
        drift_report(_frame(100, 1), _frame(100, 2), columns=["nope"])


def test_ks_p_value_and_statistic_match_scipy_per_column() -> None:
    ref, cur = _frame(800, 1), _frame(600, 2, drift=True)
    col = drift_report(ref, cur)["spread"]
    expected = stats.ks_2samp(ref["spread"], cur["spread"])
    assert col.stats["ks"] == pytest.approx(expected.statistic)
    assert col.stats["ks_pvalue"] == pytest.approx(expected.pvalue, rel=1e-12)
    assert col.stats["wasserstein"] == pytest.approx(
        stats.wasserstein_distance(ref["spread"], cur["spread"]), rel=1e-12)


def test_identical_data_has_no_drift() -> None:
    frame = _frame(3000, 5)
    report = drift_report(frame, frame.copy())
    assert report.drift_share == 0.0
    assert all(c.stats.get("ks", 0.0) == 0.0 for c in report.columns if c.kind == "numeric")


def test_a_column_without_values_is_not_compared() -> None:
    ref = _frame(200, 1)
    cur = _frame(200, 2).assign(shift=np.nan)
    report = drift_report(ref, cur)
    assert report["shift"].drifted is None
    assert report["shift"].missing_current == 1.0
    assert len(report.compared) == len(report.columns) - 1


def test_unseen_categories_count_as_drift() -> None:
    ref = pd.DataFrame({"c": ["a", "b"] * 500})
    cur = pd.DataFrame({"c": ["a", "b", "new", "new"] * 250})
    col = drift_report(ref, cur)["c"]
    assert col.drifted is True
    assert col.stats["unseen_share"] == 0.5
    assert "__unseen__" in col.chart["labels"]


def test_a_stored_grid_profile_stays_within_its_error_bound() -> None:
    ref, cur = _frame(50_000, 1), _frame(4000, 2, drift=True)
    exact = drift_report(ref, cur)
    profile = ReferenceProfile.from_dict(json.loads(json.dumps(
        ReferenceProfile.from_data(ref).to_dict())))
    approx = drift_report(profile, cur)
    bound = 1 / (2 * 512) + 1 / 50_000
    for name in ("shift", "spread", "s_normal", "s_lognormal"):
        assert abs(approx[name].stats["ks"] - exact[name].stats["ks"]) <= bound + 1e-12
        assert approx[name].stats["wasserstein_normed"] == pytest.approx(
            exact[name].stats["wasserstein_normed"], abs=0.01)
    assert approx.drifted_columns == exact.drifted_columns


def test_the_model_version_profile_is_a_reference() -> None:
    ref, cur = _frame(20_000, 1), _frame(5000, 2, drift=True)
    report = drift_report(compute_profile(ref), cur)
    assert set(report.drifted_columns) == DRIFTED
    assert report["shift"].reference_summary["approximate"] == "grid"


def test_outputs_as_dict_json_frame_and_values() -> None:
    report = drift_report(_frame(2000, 1), _frame(2000, 2, drift=True))
    data = json.loads(report.to_json())
    assert data["drifted_columns"] == report.drifted_columns
    assert data["drift_share"] == pytest.approx(3 / 9)
    frame = report.to_frame()
    assert list(frame["column"]) == [c.column for c in report.columns]
    assert {"ks", "wasserstein_normed", "psi", "js", "drifted"} <= set(frame.columns)
    values = report.values()
    assert values["drift_share"] == pytest.approx(3 / 9)
    assert values["drift.shift.drifted"] == 1.0
    assert "drift.freq.chi2_pvalue" in values
    assert report.dataset_drift is False


def test_reference_can_be_a_file(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "ref.parquet"
    _frame(1000, 1).to_parquet(path)
    report = drift_report(str(path), _frame(1000, 2, drift=True))
    assert "shift" in report.drifted_columns
