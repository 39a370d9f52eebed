"""Tracking benchmark: Shipyard against MLflow on the same work, in one run.

    .venv/bin/python bench/tracking.py                  # full sizes (~25 min on 2 cores)
    .venv/bin/python bench/tracking.py --quick          # small sizes, a smoke run
    .venv/bin/python bench/tracking.py --json out.json  # also write every figure as JSON
    .venv/bin/python bench/tracking.py remote [...]     # through a server, vs MLflow's server
                                                        # (bench/tracking_remote.py; its --help)

MLflow is installed on first use into its own virtual environment (``.bench/mlflow-venv``,
``python3 -m venv`` + ``pip install mlflow==3.*``); an existing one is reused. Every workload of
each side runs in a fresh subprocess (MLflow's with the MLflow venv's python) in its own
temporary folder, on each tool's default local store: MLflow's SQLite store
(``sqlite:///<tmp>/mlflow.db``, artifacts in a local folder), Shipyard's embedded defaults
(``SHIPYARD_HOME=<tmp>/.shipyard``: SQLite database and local artifact folder).

Workloads (what is timed is only the loop described; setup, store creation and run start are
not timed):

a. 2,000 per-call ``log_metric`` calls in one run, timed until durable (Shipyard: the loop plus
   ``shipyard.flush()``; MLflow's ``log_metric`` is synchronous), then every point is read back.
b. 10 metrics x 1,000 steps through ``log_batch`` in batches of 1,000 points (MLflow's limit);
   Shipyard also as one call of 10,000 points. The Metric objects are built before timing.
c. 100 params and 20 tags, one fluent call each.
d. one 50 MB artifact (``log_artifact``) and a folder of 1,000 1 KB files (``log_artifacts``).
e. search over 10,000 runs (5 params, 5 metrics each): ``metrics.m0 > 0.5 and params.p0 = 'a'``
   ordered by ``metrics.m1 DESC``, 100 results; median of 10 queries after one warm-up.
   Both sides get identical data (same seeded generator). Populating is timed too.
f. cold ``python -c "import <tool>"`` and ``<tool> --help``, median of 5 subprocess wall times.

Progress goes to stderr; the table to stdout. This module imports only the standard library
at the top, so the MLflow venv's python can run it as a worker (``--worker``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MLFLOW_VENV = ROOT / ".bench" / "mlflow-venv"
MLFLOW_SPEC = "mlflow==3.*"

FULL = {
    "a_points": 2_000,
    "b_metrics": 10, "b_steps": 1_000, "b_batch": 1_000,
    "c_params": 100, "c_tags": 20,
    "d_big_mb": 50, "d_small_files": 1_000, "d_small_kb": 1,
    "e_runs": 10_000, "e_repeat": 10,
    "f_repeat": 5,
}
QUICK = {
    "a_points": 200,
    "b_metrics": 10, "b_steps": 100, "b_batch": 1_000,
    "c_params": 100, "c_tags": 20,
    "d_big_mb": 5, "d_small_files": 100, "d_small_kb": 1,
    "e_runs": 500, "e_repeat": 5,
    "f_repeat": 3,
}

SEARCH_FILTER = "metrics.m0 > 0.5 and params.p0 = 'a'"
SEARCH_ORDER = "metrics.m1 DESC"
SEARCH_MAX = 100
N_KEYS = 5


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Shared data generation (identical on both sides)
# ---------------------------------------------------------------------------------------------
def search_rows(n_runs: int) -> list[tuple[dict[str, str], dict[str, float]]]:
    rng = random.Random(0)
    rows = []
    for _ in range(n_runs):
        params = {f"p{k}": rng.choice("abc") for k in range(N_KEYS)}
        metrics = {f"m{k}": rng.random() for k in range(N_KEYS)}
        rows.append((params, metrics))
    return rows


def expected_search(rows: list[tuple[dict[str, str], dict[str, float]]]) -> list[float]:
    """The m1 values the search must return, in order (computed in Python)."""
    hits = [m["m1"] for p, m in rows if m["m0"] > 0.5 and p["p0"] == "a"]
    return sorted(hits, reverse=True)[:SEARCH_MAX]


def make_files(tmp: Path, sizes: dict[str, Any]) -> tuple[Path, Path]:
    big = tmp / "big" / "model.bin"
    big.parent.mkdir(parents=True)
    with big.open("wb") as fh:
        for _ in range(sizes["d_big_mb"]):
            fh.write(os.urandom(1 << 20))
    small = tmp / "small"
    for i in range(sizes["d_small_files"]):
        sub = small / f"d{i // 100:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"f{i:04d}.bin").write_bytes(os.urandom(sizes["d_small_kb"] * 1024))
    return big, small


# ---------------------------------------------------------------------------------------------
# Workers: run in a fresh subprocess, in a temporary folder, print one RESULT line
# ---------------------------------------------------------------------------------------------
class _Profiler:
    """Optional cProfile around the timed section (``--profile``), top entries to stderr."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.prof = None

    def __enter__(self) -> _Profiler:
        if self.enabled:
            import cProfile

            self.prof = cProfile.Profile()
            self.prof.enable()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.prof is not None:
            import pstats

            self.prof.disable()
            stats = pstats.Stats(self.prof, stream=sys.stderr)
            stats.sort_stats("cumulative").print_stats(25)
            stats.sort_stats("tottime").print_stats(15)


class ShipyardSide:
    def __init__(self, tmp: Path, sizes: dict[str, Any], profile: bool) -> None:
        import shipyard

        self.sy = shipyard
        self.tmp = tmp
        self.sizes = sizes
        self.profile = profile
        self.client = shipyard.get_client()  # SHIPYARD_HOME=<tmp>/.shipyard (set by the parent)
        self.store = self.client.settings.resolved_metadata_uri()
        assert str(tmp) in self.store, self.store
        self.client.tracking.get_or_create_experiment("bench")

    def _ctx(self) -> Any:
        from shipyard.entities.tracking import RunContext

        return RunContext()

    def a(self) -> dict[str, Any]:
        sy, n = self.sy, self.sizes["a_points"]
        with sy.start_run(experiment="bench") as run, _Profiler(self.profile):
            t0 = time.perf_counter()
            for i in range(n):
                sy.log_metric("m", i * 0.1, step=i)
            t_loop = time.perf_counter() - t0
            sy.flush()
            dt = time.perf_counter() - t0
        hist = self.client.tracking.get_metric_history(run.id, "m")
        steps = sorted(m.step for m in hist)
        ok = steps == list(range(n)) and all(
            abs(m.value - m.step * 0.1) < 1e-9 for m in hist)
        return {"seconds": dt, "loop_seconds": t_loop, "points": n, "stored": len(hist),
                "complete": ok, "points_per_s": n / dt}

    def _batch(self, run_id: str, points: list[Any], batch: int) -> float:
        svc = self.client.tracking
        with _Profiler(self.profile):
            t0 = time.perf_counter()
            for j in range(0, len(points), batch):
                svc.log_batch(run_id, metrics=points[j:j + batch])
            return time.perf_counter() - t0

    def b(self) -> dict[str, Any]:
        from datetime import datetime

        sy, s = self.sy, self.sizes
        ts = datetime.now(UTC)
        points = [sy.Metric(key=f"m{k}", value=step * 0.001 + k, step=step, timestamp=ts)
                  for step in range(s["b_steps"]) for k in range(s["b_metrics"])]
        out: dict[str, Any] = {"points": len(points)}
        for label, batch in (("batched", s["b_batch"]), ("one_call", len(points))):
            run = self.client.tracking.create_run(experiment="bench", context=self._ctx())
            dt = self._batch(run.id, points, batch)
            stored = sum(len(self.client.tracking.get_metric_history(run.id, f"m{k}"))
                         for k in range(s["b_metrics"]))
            out[label] = {"seconds": dt, "batch": batch, "stored": stored,
                          "points_per_s": len(points) / dt}
        out["complete"] = all(out[k]["stored"] == len(points) for k in ("batched", "one_call"))
        return out

    def c(self) -> dict[str, Any]:
        sy, s = self.sy, self.sizes
        with sy.start_run(experiment="bench") as run, _Profiler(self.profile):
            t0 = time.perf_counter()
            for i in range(s["c_params"]):
                sy.log_param(f"param_{i}", f"value-{i}")
            for i in range(s["c_tags"]):
                sy.set_tag(f"tag_{i}", f"value-{i}")
            dt = time.perf_counter() - t0
        got = self.client.tracking.get_run(run.id)
        ok = len(got.params) == s["c_params"] and sum(
            k.startswith("tag_") for k in got.tags) == s["c_tags"]
        return {"seconds": dt, "complete": ok}

    def d(self) -> dict[str, Any]:
        sy = self.sy
        big, small = make_files(self.tmp, self.sizes)
        with sy.start_run(experiment="bench") as run, _Profiler(self.profile):
            t0 = time.perf_counter()
            sy.log_artifact(str(big))
            t_big = time.perf_counter() - t0
            t0 = time.perf_counter()
            sy.log_artifacts(str(small), "small")
            t_small = time.perf_counter() - t0
        n = len(self.client.tracking.list_artifacts(run.id))
        return {"big_seconds": t_big, "small_seconds": t_small, "artifacts": n,
                "complete": n == self.sizes["d_small_files"] + 1}

    def e(self) -> dict[str, Any]:
        sy, n = self.sy, self.sizes["e_runs"]
        from datetime import datetime

        svc = self.client.tracking
        exp = svc.get_or_create_experiment("search")
        rows = search_rows(n)
        ctx, ts = self._ctx(), datetime.now(UTC)
        t0 = time.perf_counter()
        for i, (params, metrics) in enumerate(rows):
            if i and i % 2000 == 0:
                log(f"  shipyard: {i} runs populated ({time.perf_counter() - t0:.1f} s)")
            run = svc.create_run(experiment=exp.id, name=f"run-{i}", context=ctx)
            svc.log_batch(run.id, params=params, metrics=[
                sy.Metric(key=k, value=v, step=0, timestamp=ts) for k, v in metrics.items()])
        populate = time.perf_counter() - t0

        def query() -> list[float]:
            page = svc.search_runs([exp.id], filter=SEARCH_FILTER, order_by=[SEARCH_ORDER],
                                   max_results=SEARCH_MAX)
            return [r.metrics["m1"] for r in page.items]

        return _time_queries(query, rows, populate, self.sizes["e_repeat"], self.profile)


class MlflowSide:
    def __init__(self, tmp: Path, sizes: dict[str, Any], profile: bool) -> None:
        import mlflow
        from mlflow.tracking import MlflowClient

        self.mlflow = mlflow
        self.tmp = tmp
        self.sizes = sizes
        self.profile = profile
        self.store = f"sqlite:///{tmp / 'mlflow.db'}"
        mlflow.set_tracking_uri(self.store)
        self.client = MlflowClient(self.store)
        self.exp_id = mlflow.set_experiment("bench").experiment_id  # creates the DB (migrations)

    def a(self) -> dict[str, Any]:
        mlflow, n = self.mlflow, self.sizes["a_points"]
        with mlflow.start_run() as run, _Profiler(self.profile):
            t0 = time.perf_counter()
            for i in range(n):
                mlflow.log_metric("m", i * 0.1, step=i)
            dt = time.perf_counter() - t0
        hist = self.client.get_metric_history(run.info.run_id, "m")
        steps = sorted(m.step for m in hist)
        return {"seconds": dt, "loop_seconds": dt, "points": n, "stored": len(hist),
                "complete": steps == list(range(n)), "points_per_s": n / dt}

    def b(self) -> dict[str, Any]:
        from mlflow.entities import Metric

        s = self.sizes
        ts = int(time.time() * 1000)
        points = [Metric(key=f"m{k}", value=step * 0.001 + k, timestamp=ts, step=step)
                  for step in range(s["b_steps"]) for k in range(s["b_metrics"])]
        run = self.client.create_run(self.exp_id)
        rid = run.info.run_id
        batch = s["b_batch"]
        with _Profiler(self.profile):
            t0 = time.perf_counter()
            for j in range(0, len(points), batch):
                self.client.log_batch(rid, metrics=points[j:j + batch])
            dt = time.perf_counter() - t0
        stored = sum(len(self.client.get_metric_history(rid, f"m{k}"))
                     for k in range(s["b_metrics"]))
        return {"points": len(points), "complete": stored == len(points),
                "batched": {"seconds": dt, "batch": batch, "stored": stored,
                            "points_per_s": len(points) / dt}}

    def c(self) -> dict[str, Any]:
        mlflow, s = self.mlflow, self.sizes
        with mlflow.start_run() as run, _Profiler(self.profile):
            t0 = time.perf_counter()
            for i in range(s["c_params"]):
                mlflow.log_param(f"param_{i}", f"value-{i}")
            for i in range(s["c_tags"]):
                mlflow.set_tag(f"tag_{i}", f"value-{i}")
            dt = time.perf_counter() - t0
        got = self.client.get_run(run.info.run_id).data
        ok = len(got.params) == s["c_params"] and sum(
            k.startswith("tag_") for k in got.tags) == s["c_tags"]
        return {"seconds": dt, "complete": ok}

    def d(self) -> dict[str, Any]:
        mlflow = self.mlflow
        big, small = make_files(self.tmp, self.sizes)
        with mlflow.start_run():
            with _Profiler(self.profile):
                t0 = time.perf_counter()
                mlflow.log_artifact(str(big))
                t_big = time.perf_counter() - t0
                t0 = time.perf_counter()
                mlflow.log_artifacts(str(small), "small")
                t_small = time.perf_counter() - t0
            root = Path(mlflow.get_artifact_uri().removeprefix("file://"))
        n = sum(1 for p in root.rglob("*") if p.is_file())
        return {"big_seconds": t_big, "small_seconds": t_small, "artifacts": n,
                "artifact_root": str(root), "complete": n == self.sizes["d_small_files"] + 1}

    def e(self) -> dict[str, Any]:
        from mlflow.entities import Metric, Param

        n = self.sizes["e_runs"]
        exp_id = self.client.create_experiment("search")
        rows = search_rows(n)
        ts = int(time.time() * 1000)
        t0 = time.perf_counter()
        for i, (params, metrics) in enumerate(rows):
            if i and i % 500 == 0:
                el = time.perf_counter() - t0
                log(f"  mlflow: {i} runs populated ({el:.1f} s, ~{el / i * n:.0f} s for {n})")
            run = self.client.create_run(exp_id, run_name=f"run-{i}")
            self.client.log_batch(
                run.info.run_id,
                metrics=[Metric(key=k, value=v, timestamp=ts, step=0) for k, v in metrics.items()],
                params=[Param(k, v) for k, v in params.items()])
        populate = time.perf_counter() - t0

        def query() -> list[float]:
            runs = self.client.search_runs([exp_id], filter_string=SEARCH_FILTER,
                                           order_by=[SEARCH_ORDER], max_results=SEARCH_MAX)
            return [r.data.metrics["m1"] for r in runs]

        return _time_queries(query, rows, populate, self.sizes["e_repeat"], self.profile)


def _time_queries(query: Any, rows: list[Any], populate: float, repeat: int,
                  profile: bool) -> dict[str, Any]:
    got = query()  # warm-up
    want = expected_search(rows)
    ok = len(got) == len(want) and all(abs(a - b) < 1e-12 for a, b in zip(got, want, strict=False))
    times = []
    with _Profiler(profile):
        for _ in range(repeat):
            t0 = time.perf_counter()
            query()
            times.append((time.perf_counter() - t0) * 1000)
    return {"runs": len(rows), "populate_seconds": populate, "results": len(got),
            "complete": ok, "query_ms": statistics.median(times),
            "query_ms_all": [round(t, 3) for t in times]}


def worker_main(side: str, workload: str, sizes: dict[str, Any], profile: bool) -> None:
    tmp = Path.cwd()
    cls = ShipyardSide if side == "shipyard" else MlflowSide
    impl = cls(tmp, sizes, profile)
    result = getattr(impl, workload)()
    result["store"] = impl.store
    print("RESULT " + json.dumps(result), flush=True)


# ---------------------------------------------------------------------------------------------
# Parent: environment, subprocesses, table
# ---------------------------------------------------------------------------------------------
def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_mlflow(venv: Path, spec: str) -> str:
    """Create the MLflow venv and install MLflow unless it is already there; its version."""
    py = venv_python(venv)
    probe = [str(py), "-c", "import importlib.metadata as m; print(m.version('mlflow'))"]
    if py.exists():
        res = subprocess.run(probe, capture_output=True, text=True, check=False)
        if res.returncode == 0:
            log(f"MLflow {res.stdout.strip()} found in {venv}")
            return res.stdout.strip()
    log(f"creating {venv} and installing {spec} (a few minutes, once)")
    venv.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["python3", "-m", "venv", str(venv)], check=True)
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    subprocess.run([str(py), "-m", "pip", "install", "-q", spec], check=True)
    version = subprocess.run(probe, capture_output=True, text=True, check=True).stdout.strip()
    log(f"installed MLflow {version}")
    return version


def side_env(side: str, tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SHIPYARD_", "MLFLOW_", "VIRTUAL_ENV", "PYTHONPATH"))}
    if side == "shipyard":
        env["SHIPYARD_HOME"] = str(tmp / ".shipyard")
    else:
        env["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp / 'mlflow.db'}"
        env["MLFLOW_DISABLE_TELEMETRY"] = "true"  # nothing leaves the machine either way
        env["GIT_PYTHON_REFRESH"] = "quiet"
    env["PYTHONWARNINGS"] = "ignore"
    return env


def _run_streaming(cmd: list[str], cwd: Path, env: dict[str, str],
                   timeout: float) -> tuple[int, str, str]:
    """Run a worker; its own progress lines (``[bench ...]``) are passed on as they come."""
    import threading

    out: list[str] = []
    err: list[str] = []
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)

    def pump(stream: Any, into: list[str], echo: bool) -> None:
        for line in stream:
            into.append(line)
            if echo and line.startswith("[bench "):
                sys.stderr.write(line)
                sys.stderr.flush()

    threads = [threading.Thread(target=pump, args=(proc.stdout, out, False), daemon=True),
               threading.Thread(target=pump, args=(proc.stderr, err, True), daemon=True)]
    for t in threads:
        t.start()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        err.append(f"killed after {timeout:.0f} s\n")
    for t in threads:
        t.join()
    return proc.returncode, "".join(out), "".join(err)


class Bench:
    def __init__(self, args: argparse.Namespace, sizes: dict[str, Any], mlflow_py: Path) -> None:
        self.args = args
        self.sizes = sizes
        self.pythons = {"shipyard": Path(sys.executable), "mlflow": mlflow_py}

    def worker(self, side: str, workload: str, sizes: dict[str, Any] | None = None,
               timeout: float = 3600) -> dict[str, Any]:
        sizes = sizes or self.sizes
        tmp = Path(tempfile.mkdtemp(prefix=f"bench-{side}-{workload}-"))
        cmd = [str(self.pythons[side]), str(Path(__file__).resolve()), "--worker", side,
               "--workload", workload, "--sizes", json.dumps(sizes)]
        if self.args.profile and side in self.args.profile_side:
            cmd.append("--profile")
        t0 = time.perf_counter()
        try:
            rc, stdout, stderr = _run_streaming(cmd, tmp, side_env(side, tmp), timeout)
        finally:
            if not self.args.keep:
                shutil.rmtree(tmp, ignore_errors=True)
        lines = [ln for ln in stdout.splitlines() if ln.startswith("RESULT ")]
        if rc != 0 or not lines:
            sys.stderr.write(stderr[-6000:])
            msg = f"{side} worker for ({workload}) failed with exit code {rc}"
            raise RuntimeError(msg)
        if self.args.profile:  # the profile tables (progress lines were already passed on)
            sys.stderr.write("".join(ln for ln in stderr.splitlines(keepends=True)
                                     if not ln.startswith("[bench ")))
        out: dict[str, Any] = json.loads(lines[-1][len("RESULT "):])
        out["wall_seconds"] = time.perf_counter() - t0
        return out

    def cold(self, side: str) -> dict[str, Any]:
        py = self.pythons[side]
        cli = py.parent / side
        repeat = self.sizes["f_repeat"]
        out = {}
        with tempfile.TemporaryDirectory(prefix=f"bench-{side}-f-") as tmp:
            env = side_env(side, Path(tmp))
            for label, cmd in (("import", [str(py), "-c", f"import {side}"]),
                               ("help", [str(cli), "--help"])):
                times = []
                for _ in range(repeat):
                    t0 = time.perf_counter()
                    subprocess.run(cmd, cwd=tmp, env=env, check=True, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
                    times.append(time.perf_counter() - t0)
                out[label] = statistics.median(times)
                out[label + "_all"] = [round(t, 4) for t in times]
        return out


def run_all(args: argparse.Namespace) -> dict[str, Any]:
    sizes = dict(QUICK if args.quick else FULL)
    mlflow_runs = args.mlflow_search_runs or sizes["e_runs"]
    version = ensure_mlflow(Path(args.mlflow_venv), args.mlflow_spec)
    bench = Bench(args, sizes, venv_python(Path(args.mlflow_venv)))
    only = set(args.only.split(",")) if args.only else set("abcdef")
    sides = ["shipyard", "mlflow"] if args.side == "both" else [args.side]
    results: dict[str, Any] = {side: {} for side in sides}
    loads: list[dict[str, Any]] = []
    for w in "abcde":
        if w not in only:
            continue
        for side in sides:
            wl_sizes = dict(sizes)
            if w == "e" and side == "mlflow":
                wl_sizes["e_runs"] = mlflow_runs
            repeat = 1 if w == "e" else args.repeat
            raw = []
            for i in range(repeat):
                wait_quiet(args.max_load, args.max_wait)
                loads.append({"step": f"{w}/{side}/{i + 1}", "load1": os.getloadavg()[0]})
                log(f"({w}) {side} ({i + 1}/{repeat}) ...")
                r = bench.worker(side, w, wl_sizes)
                log(f"({w}) {side} ({i + 1}/{repeat}): {summary(w, r)}")
                raw.append(r)
            results[side][w] = merged = median_of(raw)
            if repeat > 1:
                merged["repeats"] = raw
                log(f"({w}) {side} median of {repeat}: {summary(w, merged)}")
    if "f" in only:
        for side in sides:
            wait_quiet(args.max_load, args.max_wait)
            loads.append({"step": f"f/{side}", "load1": os.getloadavg()[0]})
            log(f"(f) {side} cold import and --help ...")
            results[side]["f"] = r = bench.cold(side)
            log(f"(f) {side}: import {r['import']:.3f} s, --help {r['help']:.3f} s")
    return {"sizes": sizes, "repeat": args.repeat, "mlflow_version": version,
            "machine": machine(), "shipyard_version": shipyard_version(), "results": results,
            "load": loads}


def median_of(raw: list[dict[str, Any]]) -> dict[str, Any]:
    """Merge repeated results: the median of every number, all() of every flag."""
    first = raw[0]
    out: dict[str, Any] = {}
    for key, val in first.items():
        vals = [r[key] for r in raw]
        if isinstance(val, bool):
            out[key] = all(vals)
        elif isinstance(val, (int, float)):
            out[key] = statistics.median(vals)
        elif isinstance(val, dict):
            out[key] = median_of(vals)
        else:
            out[key] = val
    return out


def wait_quiet(max_load: float | None, max_wait: float) -> None:
    """Wait (at most ``max_wait`` s) until the 1-minute load average is under ``max_load``:
    other work on the machine distorts every figure."""
    if max_load is None:
        return
    t0 = time.monotonic()
    load = os.getloadavg()[0]
    if load < max_load:
        return
    log(f"load average {load:.2f} >= {max_load}: waiting for a quieter machine ...")
    while load >= max_load and time.monotonic() - t0 < max_wait:
        time.sleep(5)
        load = os.getloadavg()[0]
    log(f"going on at load average {load:.2f} after {time.monotonic() - t0:.0f} s")


def summary(w: str, r: dict[str, Any]) -> str:
    ok = "" if r.get("complete", True) else "  INCOMPLETE!"
    if w == "a":
        return f"{r['points_per_s']:,.0f} points/s ({r['stored']}/{r['points']} stored){ok}"
    if w == "b":
        parts = [f"{k} {r[k]['points_per_s']:,.0f} points/s" for k in ("batched", "one_call")
                 if k in r]
        return ", ".join(parts) + ok
    if w == "c":
        return f"{r['seconds']:.3f} s{ok}"
    if w == "d":
        return f"big {r['big_seconds']:.3f} s, small {r['small_seconds']:.3f} s{ok}"
    if w == "e":
        return (f"{r['query_ms']:.1f} ms/query over {r['runs']} runs "
                f"(populated in {r['populate_seconds']:.1f} s){ok}")
    return ""


def shipyard_version() -> str:
    try:
        import importlib.metadata as md

        return md.version("shipyard")
    except Exception:
        return "?"


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {"cpus": os.cpu_count(), "python": platform.python_version(),
                            "platform": platform.platform()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_gib"] = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return info


# ---------------------------------------------------------------------------------------------
# Table
# ---------------------------------------------------------------------------------------------
def rows_of(data: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per figure: label, shipyard, mlflow, unit, higher_is_better, target."""
    sy = data["results"].get("shipyard", {})
    ml = data["results"].get("mlflow", {})
    s = data["sizes"]

    def get(side: dict[str, Any], *path: str) -> Any:
        cur: Any = side
        for p in path:
            if not isinstance(cur, dict) or p not in cur:
                return None
            cur = cur[p]
        return cur

    rows: list[dict[str, Any]] = []
    full = all(s.get(k, 0) >= v for k, v in FULL.items())  # targets are for the full sizes

    def add(label: str, path: tuple[str, ...], unit: str, higher: bool,
            target: tuple[str, float] | None = None, complete: tuple[str, ...] | None = None,
            mlflow_path: tuple[str, ...] | None = None) -> None:
        a, b = get(sy, *path), get(ml, *(mlflow_path or path))
        if a is None and b is None:
            return
        ok = None
        if target is not None and a is not None and full:
            op, val = target
            ok = a >= val if op == ">=" else a < val
            if complete is not None:
                ok = ok and bool(get(sy, *complete))
        rows.append({"label": label, "shipyard": a, "mlflow": b, "unit": unit,
                     "higher_is_better": higher, "target": target, "pass": ok})

    n_a = s["a_points"]
    add(f"(a) {n_a:,} log_metric calls, until durable", ("a", "points_per_s"), "points/s",
        True, (">=", 20_000), ("a", "complete"))
    n_b = s["b_metrics"] * s["b_steps"]
    add(f"(b) {n_b:,} points, log_batch of {s['b_batch']:,}", ("b", "batched", "points_per_s"),
        "points/s", True, (">=", 200_000), ("b", "complete"))
    if get(sy, "b", "one_call") is not None:
        rows.append({"label": f"(b') {n_b:,} points, one log_batch call",
                     "shipyard": get(sy, "b", "one_call", "points_per_s"), "mlflow": None,
                     "unit": "points/s", "higher_is_better": True, "target": None,
                     "pass": None, "note": "MLflow caps a batch at 1,000 metrics"})
    add(f"(c) {s['c_params']} params + {s['c_tags']} tags, one call each", ("c", "seconds"), "s",
        False, ("<", 0.1), ("c", "complete"))
    add(f"(d) one {s['d_big_mb']} MB artifact", ("d", "big_seconds"), "s", False)
    add(f"(d) {s['d_small_files']:,} x {s['d_small_kb']} KB artifacts (log_artifacts)",
        ("d", "small_seconds"), "s", False)
    sy_runs, ml_runs = get(sy, "e", "runs"), get(ml, "e", "runs")
    if sy_runs and ml_runs and sy_runs != ml_runs:
        runs_label = f"{sy_runs:,} (Shipyard) / {ml_runs:,} (MLflow)"
    else:
        runs_label = f"{sy_runs or ml_runs or 0:,}"
    add(f"(e) search, {runs_label} runs, 100 results (median)", ("e", "query_ms"), "ms", False,
        ("<", 50.0), ("e", "complete"))
    add(f"(e) populate {runs_label} runs (5 params + 5 metrics)", ("e", "populate_seconds"), "s",
        False)
    add("(f) cold `python -c \"import <tool>\"` (median)", ("f", "import"), "s", False,
        ("<", 0.3))
    add("(f) cold `<tool> --help` (median)", ("f", "help"), "s", False, ("<", 0.3))
    return rows


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "points/s":
        return f"{value:,.0f} {unit}"
    if unit == "ms":
        return f"{value:.1f} ms"
    return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"


def ratio(row: dict[str, Any]) -> float | None:
    a, b = row["shipyard"], row["mlflow"]
    if not a or not b:
        return None
    return a / b if row["higher_is_better"] else b / a


def fmt_ratio(r: float) -> str:
    """How many times faster Shipyard is (below 1: slower)."""
    return f"{r:,.0f}x" if r >= 10 else f"{r:.1f}x" if r >= 1 else f"{r:.2f}x"


def render_table(data: dict[str, Any], *, markdown: bool = False) -> str:
    header = ["Workload", "Shipyard", f"MLflow {data['mlflow_version']}",
              "Shipyard speed-up", "Target", "Result"]
    body = []
    for row in rows_of(data):
        r = ratio(row)
        t = row["target"]
        target = "-" if t is None else f"{t[0]} {fmt(t[1], row['unit'])}".replace(".000 s", " s")
        if t is not None and row["unit"] == "s":
            target = f"{t[0]} {t[1]:g} s"
        res = "-" if row["pass"] is None else ("PASS" if row["pass"] else "MISS")
        body.append([row["label"], fmt(row["shipyard"], row["unit"]),
                     fmt(row["mlflow"], row["unit"]) if row["mlflow"] is not None
                     else row.get("note", "-"),
                     "-" if r is None else fmt_ratio(r), target, res])
    if markdown:
        lines = ["| " + " | ".join(header) + " |",
                 "|" + "|".join(["---"] + ["---:"] * 3 + ["---", "---"]) + "|"]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in body]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    sep = "  "
    out = [sep.join(h.ljust(w) for h, w in zip(header, widths, strict=True)),
           sep.join("-" * w for w in widths)]
    for row in body:
        cells = [c.ljust(w) if i in (0, 4, 5) else c.rjust(w)
                 for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        out.append(sep.join(cells).rstrip())
    return "\n".join(out)


def notes(data: dict[str, Any]) -> list[str]:
    out = []
    m = data["machine"]
    out.append(f"machine: {m.get('cpus')} CPUs ({m.get('cpu', '?')}), "
               f"{m.get('memory_gib', '?')} GiB RAM, Python {m.get('python')}, {m.get('platform')}")
    out.append(f"shipyard {data['shipyard_version']}, MLflow {data['mlflow_version']} "
               "(SQLite store + local artifact folder on both sides)")
    res = data["results"]
    for side in ("shipyard", "mlflow"):
        for w in "abcde":
            r = res.get(side, {}).get(w)
            if r is not None and not r.get("complete", True):
                out.append(f"WARNING: {side} ({w}) did not store everything: {r}")
    if any(data["sizes"].get(k, 0) < v for k, v in FULL.items()):
        out.append("reduced sizes (--quick): targets are judged at the full sizes only")
    if data.get("repeat", 1) > 1:
        out.append(f"(a)-(d): median of {data['repeat']} fresh subprocesses per side; "
                   "(e), (f): medians of repeated timings within one process / of 5 processes")
    loads = [x["load1"] for x in data.get("load", [])]
    if loads:
        out.append(f"1-minute load average at the start of the steps: {min(loads):.2f} .. "
                   f"{max(loads):.2f} (other work on the machine slows both sides)")
    sy_a = res.get("shipyard", {}).get("a")
    if sy_a:
        out.append(f"(a) shipyard: the log_metric loop alone took {sy_a['loop_seconds'] * 1e3:.1f}"
                   f" ms, loop + flush {sy_a['seconds'] * 1e3:.1f} ms; {sy_a['stored']:,}/"
                   f"{sy_a['points']:,} points read back")
    sy_e, ml_e = res.get("shipyard", {}).get("e"), res.get("mlflow", {}).get("e")
    if sy_e and ml_e and sy_e["runs"] != ml_e["runs"]:
        out.append(f"(e) MLflow searched {ml_e['runs']:,} runs (--mlflow-search-runs), "
                   f"Shipyard {sy_e['runs']:,}")
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["remote"]:  # the same work through a server: bench/tracking_remote.py
        script = Path(__file__).with_name("tracking_remote.py")
        return subprocess.call([sys.executable, str(script), *argv[1:]])
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    p.add_argument("--json", metavar="FILE", help="also write every figure to FILE")
    p.add_argument("--mlflow-search-runs", type=int, default=None, metavar="N",
                   help="runs MLflow is populated with for (e) (default: same as Shipyard, "
                   "10,000; populating MLflow is slow)")
    p.add_argument("--only", metavar="LIST", help="workloads to run, e.g. a,b,e (default all)")
    p.add_argument("--side", choices=["both", "shipyard", "mlflow"], default="both")
    p.add_argument("--profile", action="store_true",
                   help="cProfile the timed section of each worker (printed to stderr)")
    p.add_argument("--profile-side", default="shipyard", help=argparse.SUPPRESS)
    p.add_argument("--repeat", type=int, default=3, metavar="N",
                   help="fresh subprocesses per side for (a)-(d); the median is reported "
                   "(default 3; (e) runs once, its query timing is already a median)")
    p.add_argument("--max-load", type=float, default=None, metavar="L",
                   help="before each step, wait until the 1-minute load average is below L "
                   "(for shared machines)")
    p.add_argument("--max-wait", type=float, default=600, metavar="S",
                   help="longest wait for --max-load, in seconds (default 600)")
    p.add_argument("--keep", action="store_true", help="keep the temporary folders")
    p.add_argument("--mlflow-venv", default=str(MLFLOW_VENV))
    p.add_argument("--mlflow-spec", default=MLFLOW_SPEC)
    # worker mode (internal)
    p.add_argument("--worker", choices=["shipyard", "mlflow"], help=argparse.SUPPRESS)
    p.add_argument("--workload", help=argparse.SUPPRESS)
    p.add_argument("--sizes", help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.worker:
        worker_main(args.worker, args.workload, json.loads(args.sizes), args.profile)
        return 0

    data = run_all(args)
    print()
    print(render_table(data))
    print()
    for line in notes(data):
        print(line)
    if args.json:
        data["table"] = [{**row, "speedup": ratio(row)} for row in rows_of(data)]
        Path(args.json).write_text(json.dumps(data, indent=2, default=str) + "\n")
        log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
