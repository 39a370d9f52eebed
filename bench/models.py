"""Model packaging benchmark: time to log and load each flavor's package, and single-row
predict latency of a scikit-learn RandomForest (100 trees) through the native path and
through ONNX Runtime.

    .venv/bin/python bench/models.py               # full run (about a minute)
    .venv/bin/python bench/models.py --json out.json

Everything runs in one process on the embedded defaults (SQLite + local artifact folder) in a
temporary folder. Log and load are the median of ``--repeats`` runs after one warm-up (the
first load of a flavor pays its library's import, which is reported separately as "first").
Predict latency is measured on a ``PyFuncModel`` (signature validation included) and on the
bare estimator, one row (``x[:1]``, a float32/float64 numpy array) at a time.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np


def _timed(fn: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _models() -> dict[str, tuple[Any, dict[str, Any], Any]]:
    import lightgbm
    import torch
    import xgboost
    from skl2onnx import to_onnx
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 10)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    rf = RandomForestClassifier(n_estimators=100, random_state=0).fit(x, y)
    net = torch.nn.Sequential(torch.nn.Linear(10, 32), torch.nn.ReLU(), torch.nn.Linear(32, 2))
    from shipyard.models import PythonModel

    class Identity(PythonModel):
        def predict(self, model_input: Any) -> Any:
            return model_input

    return {
        "sklearn RF100 (pickle)": (rf, {}, x[:5]),
        "sklearn RF100 (skops)": (rf, {"format": "skops"}, x[:5]),
        "sklearn RF100 (onnx)": (rf, {"format": "onnx"}, x[:5]),
        "xgboost (100 trees)": (xgboost.XGBClassifier(n_estimators=100).fit(x, y), {}, x[:5]),
        "lightgbm (100 trees)": (lightgbm.LGBMClassifier(n_estimators=100, verbose=-1)
                                 .fit(x, y), {}, x[:5]),
        "pytorch MLP (export)": (net.eval(), {}, x[:5]),
        "onnx (linear)": (to_onnx(LinearRegression().fit(x, y), x[:1]), {}, x[:5]),
        "pyfunc (identity)": (Identity(), {}, x[:5]),
    }


def _latency(fn: Any, x: Any, n: int) -> dict[str, float]:
    for _ in range(min(20, n)):
        fn(x)
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn(x)
        samples.append(time.perf_counter() - t0)
    samples.sort()
    return {"p50_ms": 1000 * statistics.median(samples),
            "p99_ms": 1000 * samples[min(len(samples) - 1, int(len(samples) * 0.99))],
            "mean_ms": 1000 * statistics.fmean(samples), "calls": n}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--calls", type=int, default=300, help="single-row predict calls")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    from shipyard.client import Client

    results: dict[str, Any] = {"machine": {"python": platform.python_version(),
                                           "platform": platform.platform()}}
    with tempfile.TemporaryDirectory() as tmp:
        client = Client(home=Path(tmp) / ".shipyard")
        print("training models ...", file=sys.stderr)
        models = _models()
        rows = []
        for label, (model, kwargs, example) in models.items():
            print(f"  {label}", file=sys.stderr)
            logs, loads, first = [], [], None
            for i in range(args.repeats + 1):
                run = client.tracking.create_run(experiment="bench-models")
                t_log, info = _timed(lambda run=run, m=model, ex=example, kw=kwargs:
                                     client.models.log_model(run.id, m, input_example=ex, **kw))
                t_load, _ = _timed(lambda info=info: client.models.load_model(info.uri))
                if i == 0:
                    first = t_load
                else:
                    logs.append(t_log)
                    loads.append(t_load)
            size = sum(f["size"] for f in info.manifest["files"].values())
            rows.append({"flavor": label, "log_ms": 1000 * statistics.median(logs),
                         "load_ms": 1000 * statistics.median(loads),
                         "first_load_ms": 1000 * (first or 0), "package_kb": size / 1024})
        results["log_load"] = rows

        rf = models["sklearn RF100 (pickle)"][0]
        x = np.random.default_rng(1).normal(size=(1, 10)).astype(np.float32)
        run = client.tracking.create_run(experiment="bench-models")
        native_pkg = client.models.load_model(client.models.log_model(
            run.id, rf, name="native", input_example=x).uri)
        onnx_pkg = client.models.load_model(client.models.log_model(
            run.id, rf, name="onnx", input_example=x, format="onnx").uri)
        print("measuring single-row predict latency ...", file=sys.stderr)
        results["predict_single_row"] = {
            "sklearn estimator.predict": _latency(rf.predict, x, args.calls),
            "PyFuncModel (sklearn native)": _latency(native_pkg.predict, x, args.calls),
            "PyFuncModel (ONNX Runtime)": _latency(onnx_pkg.predict, x, args.calls * 10),
            "PyFuncModel.predict_proba (ONNX Runtime)": _latency(onnx_pkg.predict_proba, x,
                                                                 args.calls * 10),
        }
        client.close()

    print(f"\nModel packages (median of {args.repeats}; local store)")
    print(f"{'flavor':<26}{'log ms':>10}{'load ms':>10}{'1st load ms':>13}{'size KB':>10}")
    for r in results["log_load"]:
        print(f"{r['flavor']:<26}{r['log_ms']:>10.1f}{r['load_ms']:>10.1f}"
              f"{r['first_load_ms']:>13.1f}{r['package_kb']:>10.1f}")
    print("\nRandomForest(100 trees), one row at a time")
    print(f"{'path':<44}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}")
    for name, r in results["predict_single_row"].items():
        print(f"{name:<44}{r['p50_ms']:>9.3f}{r['p99_ms']:>9.3f}{r['mean_ms']:>9.3f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
