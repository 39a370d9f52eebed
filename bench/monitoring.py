"""Data-drift benchmark: Shipyard against Evidently (default DataDriftPreset), NannyML
(univariate KS / chi-square) and the same tests written directly with SciPy.

Generated data: 15 numeric and 5 categorical columns; the current data has drift injected in
5 numeric columns (mean shift, multiplicative scale, wider range, a new mode in the tail,
variance change) and 2 categorical ones (category frequencies, a new category). Reference and
current have 10k, 100k and 1M rows each.

Each tool runs in its own process (Evidently and NannyML in their own virtual environments
under .bench/, installed on first use) on the same Parquet files, generated once and cached
(generation is never timed). Reported per tool and size: wall time of the drift computation,
the process's CPU time for it (less sensitive than wall time to other load on the machine),
peak resident memory of the process (and its growth over the loaded data), which columns it
flagged against the injected truth, and the load average before and after.

What "wall" includes:

* every tool's main figure ("cold"): both DataFrames already in memory and the libraries
  imported; the drift computation from the two raw frames, so Shipyard builds its exact
  reference profile inside the timed call. Shipyard's figure is the median of
  BENCH_REPEAT (3) runs; the other tools run once (Evidently takes minutes at 1M rows).
* Shipyard's "monitor window": what `shipyard monitor run` does per window, where the
  reference profile was computed once when the model was logged and is kept as JSON (512
  quantiles per numeric column): reading the current window from its Parquet file (pyarrow,
  as the prediction-log reader does) plus the drift computation against the stored profile.
  Reading is counted.
* Shipyard's "exact profile" line: the exact profile built once (its time shown), then a
  current frame already in memory compared with it (library use: one reference, many frames).

    .venv/bin/python bench/monitoring.py                      # everything
    .venv/bin/python bench/monitoring.py --sizes 100000 --tools shipyard,scipy
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / ".bench"
DATA = BENCH / "monitoring-data"
NUMERIC = [f"num_{i}" for i in range(15)]
CATEGORICAL = [f"cat_{i}" for i in range(5)]
DRIFTED = {"num_0", "num_1", "num_2", "num_3", "num_4", "cat_0", "cat_1"}
VENVS = {
    "evidently": (BENCH / "evidently-venv", ["evidently>=0.7,<0.8", "pandas<3", "pyarrow"]),
    "nannyml": (BENCH / "nannyml-venv", ["nannyml", "pandas<3", "statsmodels", "pyarrow"]),
}
CATS = [["a", "b", "c", "d"], [f"p{i}" for i in range(6)], [f"k{i}" for i in range(10)],
        ["x", "y"], [f"z{i}" for i in range(20)]]


def generate(n: int, seed: int, *, drift: bool):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    cols = {}
    for i in range(15):
        kind = i % 5
        if kind == 0:
            x = rng.normal(10 * i, 2.0, n)
        elif kind == 1:
            x = rng.lognormal(1.0, 0.5, n)
        elif kind == 2:
            x = rng.uniform(-5, 5, n)
        elif kind == 3:
            x = rng.exponential(3.0, n)
        else:
            x = rng.normal(-3.0 * i, 1.0 + i / 10, n)
        cols[f"num_{i}"] = x
    if drift:
        cols["num_0"] = cols["num_0"] + 0.3 * 2.0  # mean shift of 0.3 sd
        cols["num_1"] = cols["num_1"] * 1.25  # multiplicative scale (mean and variance)
        cols["num_2"] = rng.uniform(-6, 6, n)  # a wider range
        tail = rng.random(n) < 0.10  # 10% of values move to a new mode
        cols["num_3"] = np.where(tail, rng.normal(15, 1, n), cols["num_3"])
        cols["num_4"] = rng.normal(0.0, 1.0 * 1.25, n)  # variance change only (sd x1.25)
        cols["num_4"] = cols["num_4"] + 0.0
    else:
        cols["num_4"] = rng.normal(0.0, 1.0, n)
    for i, cats in enumerate(CATS):
        p = np.arange(len(cats), 0, -1, dtype=float)
        p /= p.sum()
        values = list(cats)
        if drift and i == 0:
            p = np.array([0.25, 0.3, 0.25, 0.2])  # was 0.4 0.3 0.2 0.1
        if drift and i == 1:
            values = [*cats, "new"]
            p = np.append(p * 0.92, 0.08)  # a category the reference never had
        cols[f"cat_{i}"] = pd.Categorical(rng.choice(values, n, p=p), categories=values)
    return pd.DataFrame(cols)


def ensure_data(n: int) -> tuple[Path, Path]:
    folder = DATA / str(n)
    ref, cur = folder / "reference.parquet", folder / "current.parquet"
    if not (ref.exists() and cur.exists()):
        folder.mkdir(parents=True, exist_ok=True)
        generate(n, 1, drift=False).to_parquet(ref)
        generate(n, 2, drift=True).to_parquet(cur)
    return ref, cur


def ensure_venv(tool: str) -> Path | None:
    """The tool's python, installing it into .bench/<tool>-venv on first use."""
    venv, packages = VENVS[tool]
    python = venv / "bin" / "python"
    marker = venv / ".installed"
    if not marker.exists():
        print(f"installing {tool} into {venv} ...", flush=True)
        try:
            if not python.exists():
                subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            subprocess.run([str(python), "-m", "pip", "install", "-q", *packages], check=True)
        except subprocess.CalledProcessError as exc:
            print(f"  could not install {tool}: {exc}", flush=True)
            return None
        marker.touch()
    return python


# -- runners: each is run as `python -c RUNNER ref cur` and prints one JSON line ------------------
COMMON = r"""
import json, os, resource, sys, time
def rss_mb():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
def cpu_s():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
NUMERIC = [f"num_{i}" for i in range(15)]
CATEGORICAL = [f"cat_{i}" for i in range(5)]
t_import = time.perf_counter()
"""
LOAD = r"""
import pandas as pd
t_import = time.perf_counter() - t_import
t0 = time.perf_counter()
ref = pd.read_parquet(sys.argv[1]); cur = pd.read_parquet(sys.argv[2])
load_s = time.perf_counter() - t0
base_mb = rss_mb()
"""
REPORT = r"""
print(json.dumps({"seconds": seconds, "cpu_s": cpu_used, "flagged": sorted(flagged),
                  "peak_mb": peak_mb(),
                  "base_mb": base_mb, "load_s": load_s, "import_s": t_import, **extra}))
"""

SHIPYARD = COMMON + r"""
from shipyard.monitoring import ReferenceProfile, drift_report
import numpy, scipy.stats, scipy.spatial.distance
import pyarrow.parquet as pq
""" + LOAD + r"""
drift_report(ref.head(1000), cur.head(1000))  # warm the lazy imports
REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))
def timed(fn):
    c0 = cpu_s(); t0 = time.perf_counter(); out = fn()
    return out, time.perf_counter() - t0, cpu_s() - c0
def median(xs):
    xs = sorted(xs); return xs[len(xs) // 2]
# 1. cold: both DataFrames in memory, the exact reference profile built inside (what the
#    other tools are timed on)
cold = [timed(lambda: drift_report(ref, cur)) for _ in range(REPEAT)]
report = cold[0][0]
seconds, cpu_used = median([c[1] for c in cold]), median([c[2] for c in cold])
flagged = report.drifted_columns
cold_peak_mb = peak_mb()  # the process peak so far: the comparable figure
# 2. what a monitor does per window: the reference profile was computed once (when the model
#    was logged) and is kept as JSON (a 512-point quantile grid per numeric column); the
#    window is read from its Parquet file (pyarrow, as read_log does) and compared with it
profile, profile_s, _ = timed(lambda: ReferenceProfile.from_data(ref))
stored = ReferenceProfile.from_dict(json.loads(json.dumps(profile.to_dict())))
def window():
    frame = pq.read_table(sys.argv[2]).to_pandas()
    return drift_report(stored, frame)
windows = [timed(window) for _ in range(REPEAT)]
reads = [timed(lambda: pq.read_table(sys.argv[2]).to_pandas())[1:] for _ in range(REPEAT)]
# 3. an exact profile kept in memory (library use: one reference, many current frames)
exact = [timed(lambda: drift_report(profile, cur)) for _ in range(REPEAT)]
assert exact[0][0].drifted_columns == report.drifted_columns
process_peak_mb = peak_mb()  # later phases hold more frames at once
extra = {"cold_min_s": min(c[1] for c in cold), "profile_s": profile_s,
         "peak_mb": cold_peak_mb, "process_peak_mb": process_peak_mb,
         "window_s": median([w[1] for w in windows]), "window_min_s": min(w[1] for w in windows),
         "window_cpu_s": median([w[2] for w in windows]),
         "window_read_s": median([r[0] for r in reads]),
         "window_flagged": sorted(windows[0][0].drifted_columns),
         "exact_s": median([e[1] for e in exact]), "exact_cpu_s": median([e[2] for e in exact]),
         "repeat": REPEAT, "methods": sorted({c.method for c in report.columns})}
""" + REPORT

SCIPY = COMMON + r"""
import numpy as np
from scipy import stats
""" + LOAD + r"""
cpu0 = cpu_s()
t0 = time.perf_counter()
flagged = []
for c in NUMERIC:
    if stats.ks_2samp(ref[c].to_numpy(), cur[c].to_numpy()).pvalue < 0.05:
        flagged.append(c)
for c in CATEGORICAL:
    r = ref[c].value_counts(); k = cur[c].value_counts()
    table = pd.concat([r, k], axis=1).fillna(0).to_numpy().T
    table = table[:, table.sum(axis=0) > 0]
    if stats.chi2_contingency(table).pvalue < 0.05:
        flagged.append(c)
seconds = time.perf_counter() - t0
cpu_used = cpu_s() - cpu0
extra = {}
""" + REPORT

EVIDENTLY = COMMON + r"""
from evidently import Dataset, DataDefinition, Report
from evidently.presets import DataDriftPreset
import evidently
""" + LOAD + r"""
definition = DataDefinition(numerical_columns=NUMERIC, categorical_columns=CATEGORICAL)
cpu0 = cpu_s()
t0 = time.perf_counter()
r = Dataset.from_pandas(ref, data_definition=definition)
c = Dataset.from_pandas(cur, data_definition=definition)
snapshot = Report([DataDriftPreset()]).run(c, r)
result = snapshot.dict()
seconds = time.perf_counter() - t0
cpu_used = cpu_s() - cpu0
flagged = []
methods = set()
for m in result["metrics"]:
    cfg = m.get("config", {})
    if cfg.get("type", "").endswith("ValueDrift"):
        col = cfg.get("column")
        method = cfg.get("method", "")
        threshold = cfg.get("threshold")
        value = m["value"]
        methods.add(method)
        is_p = "p_value" in method
        if (value < threshold) if is_p else (value >= threshold):
            flagged.append(col)
extra = {"version": evidently.__version__, "methods": sorted(methods)}
""" + REPORT

NANNYML = COMMON + r"""
import nannyml as nml
""" + LOAD + r"""
import math
from nannyml.thresholds import ConstantThreshold
# One decision per column over the whole current data: one chunk, and KS alerting at its 5%
# critical value (NannyML's default KS threshold is mean + 3 sd over several reference chunks,
# which a single chunk makes zero). chi2 alerts at p < 0.05, its only mode.
n1, n2 = len(ref), len(cur)
critical = 1.358 * math.sqrt((n1 + n2) / (n1 * n2))
cpu0 = cpu_s()
t0 = time.perf_counter()
calc = nml.UnivariateDriftCalculator(
    column_names=NUMERIC + CATEGORICAL, treat_as_categorical=CATEGORICAL,
    continuous_methods=["kolmogorov_smirnov"], categorical_methods=["chi2"], chunk_number=1,
    thresholds={"kolmogorov_smirnov": ConstantThreshold(lower=None, upper=critical)})
calc.fit(ref)
res = calc.calculate(cur).filter(period="analysis").to_df()
seconds = time.perf_counter() - t0
cpu_used = cpu_s() - cpu0
flagged = []
for c in NUMERIC + CATEGORICAL:
    method = "kolmogorov_smirnov" if c in NUMERIC else "chi2"
    if bool(res[(c, method, "alert")].iloc[-1]):
        flagged.append(c)
extra = {"version": nml.__version__}
""" + REPORT

RUNNERS = {"shipyard": SHIPYARD, "scipy": SCIPY, "evidently": EVIDENTLY, "nannyml": NANNYML}


def run_tool(tool: str, python: Path, ref: Path, cur: Path, timeout: float) -> dict:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    try:
        proc = subprocess.run([str(python), "-c", RUNNERS[tool], str(ref), str(cur)],
                              capture_output=True, text=True, timeout=timeout, env=env,
                              cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f}s"}
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def score(flagged: list[str]) -> str:
    hit = DRIFTED & set(flagged)
    false = set(flagged) - DRIFTED
    missed = DRIFTED - set(flagged)
    return (f"{len(hit)}/7 found" + (f", missed {','.join(sorted(missed))}" if missed else "")
            + (f", {len(false)} false: {','.join(sorted(false))}" if false else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--tools", default="shipyard,evidently,nannyml,scipy")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--json-out", default=None, help="Also write the results as JSON.")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    tools = args.tools.split(",")
    pythons: dict[str, Path | None] = {"shipyard": Path(sys.executable),
                                       "scipy": Path(sys.executable)}
    for tool in tools:
        if tool in VENVS:
            pythons[tool] = ensure_venv(tool)
    load = os.getloadavg()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, load average {load[0]:.1f} at start")
    print(f"drift injected in: {', '.join(sorted(DRIFTED))}")
    results = []
    header = (f"{'rows':>9} {'tool':<10} {'drift s':>8} {'cpu s':>7} {'peak MB':>8} "
              f"{'+MB':>6}  columns flagged vs. injected drift")
    print(header)
    print("-" * len(header))
    for n in sizes:
        t = time.perf_counter()
        ref, cur = ensure_data(n)
        del t
        for tool in tools:
            python = pythons.get(tool)
            if python is None:
                print(f"{n:>9} {tool:<10} not installed (see above)")
                results.append({"rows": n, "tool": tool, "error": "not installed"})
                continue
            load_before = Path("/proc/loadavg").read_text().split()[:3]
            res = run_tool(tool, python, ref, cur, args.timeout)
            res["loadavg"] = [load_before, Path("/proc/loadavg").read_text().split()[:3]]
            results.append({"rows": n, "tool": tool, **res})
            if "error" in res:
                print(f"{n:>9} {tool:<10} error: {res['error']}")
                continue
            grow = res["peak_mb"] - res["base_mb"]
            line = (f"{n:>9} {tool:<10} {res['seconds']:>8.2f} {res['cpu_s']:>7.2f} "
                    f"{res['peak_mb']:>8.0f} {grow:>6.0f}  {score(res['flagged'])}  "
                    f"(load {' '.join(res['loadavg'][0])} -> {' '.join(res['loadavg'][1])})")
            print(line, flush=True)
            if tool == "shipyard":
                print(f"{'':>9} {'':<10} cold: median of {res['repeat']} (min "
                      f"{res['cold_min_s']:.2f}s); exact profile built once in "
                      f"{res['profile_s']:.2f}s, then a frame in memory {res['exact_s']:.2f}s "
                      f"(cpu {res['exact_cpu_s']:.2f}s)", flush=True)
                print(f"{'':>9} {'':<10} monitor window (read Parquet + drift vs stored "
                      f"profile): {res['window_s']:.2f}s (min {res['window_min_s']:.2f}s, cpu "
                      f"{res['window_cpu_s']:.2f}s; read alone {res['window_read_s']:.2f}s)  "
                      f"{score(res['window_flagged'])}", flush=True)
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
