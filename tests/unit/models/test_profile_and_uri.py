from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from shipyard.errors import InvalidArgumentError
from shipyard.models import compute_profile, parse_model_uri


def test_profile_has_numeric_and_categorical_statistics() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0, np.nan],
                          "c": ["a", "a", "b", None, "a"], "flag": [True, False, True, True, True]})
    p = compute_profile(frame, bins=4)
    json.dumps(p, allow_nan=False)  # plain JSON
    x = p["columns"]["x"]
    assert (x["kind"], x["count"], x["missing"], x["missing_rate"]) == ("numeric", 5, 1, 0.2)
    assert (x["min"], x["max"], x["mean"]) == (1.0, 4.0, 2.5)
    assert x["quantiles"]["0.5"] == 2.5
    assert x["histogram"]["counts"] == [1, 1, 1, 1]
    assert len(x["histogram"]["edges"]) == 5
    c = p["columns"]["c"]
    assert c["kind"] == "categorical"
    assert c["frequencies"] == {"a": 0.75, "b": 0.25}
    assert c["missing"] == 1
    assert p["columns"]["flag"]["frequencies"] == {"True": 0.8, "False": 0.2}


def test_profile_keeps_top_n_and_an_other_share() -> None:
    p = compute_profile(pd.DataFrame({"c": list("aaabbc")}), top_n=1)
    assert p["columns"]["c"]["frequencies"] == {"a": 0.5}
    assert p["columns"]["c"]["__other__"] == 0.5


def test_profile_of_an_array_and_sampling() -> None:
    arr = np.arange(20, dtype=float).reshape(10, 2)
    p = compute_profile(arr)
    assert set(p["columns"]) == {"0", "1"}
    big = compute_profile(np.arange(100.0), max_rows=10)
    assert (big["num_rows"], big["sampled_rows"]) == (100, 10)


@pytest.mark.parametrize(("uri", "fields"), [
    ("models:/churn/3", {"kind": "registry", "name": "churn", "version": 3}),
    ("models:/churn@champion", {"kind": "registry", "name": "churn", "alias": "champion"}),
    ("models:/churn/latest", {"kind": "registry", "name": "churn", "latest": True}),
    (f"runs:/{'a' * 32}/model", {"kind": "run", "run_id": "a" * 32, "path": "model"}),
])
def test_parse_model_uri(uri: str, fields: dict[str, object]) -> None:
    parsed = parse_model_uri(uri)
    for key, value in fields.items():
        assert getattr(parsed, key) == value


@pytest.mark.parametrize("uri", ["models:/churn", "models:/a/b/c", "runs:/short/model",
                                 "s3://bucket/x", "/no/such/folder"])
def test_bad_model_uris_name_the_accepted_forms(uri: str) -> None:
    with pytest.raises(InvalidArgumentError, match="models:/"):
        parse_model_uri(uri)


def test_import_shipyard_stays_light() -> None:
    import subprocess
    import sys

    code = ("import shipyard, sys; shipyard.load_model; shipyard.log_model; "
            "import shipyard.client; "
            "heavy = [m for m in ('numpy', 'pandas', 'torch', 'sklearn', 'xgboost', "
            "'lightgbm', 'onnxruntime') if m in sys.modules]; print(heavy); assert not heavy")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=False)
    assert out.returncode == 0, out.stdout + out.stderr
