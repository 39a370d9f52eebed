"""Server benchmark: Shipyard's server against MLflow's tracking server on the same work.

    .venv/bin/python bench/tracking_remote.py                 # full sizes (~15-25 minutes)
    .venv/bin/python bench/tracking_remote.py --quick         # small sizes, a smoke run
    .venv/bin/python bench/tracking_remote.py --json out.json # also write every figure as JSON
    .venv/bin/python bench/tracking_remote.py --postgres postgresql://postgres@127.0.0.1/postgres

Servers (each in its own temporary folder, on a free loopback port, default settings):

* Shipyard: ``python -m shipyard server`` (uvicorn, 1 worker) on its embedded SQLite store
  and local artifact folder; with ``--postgres`` the workloads a, b and d also run against
  a Shipyard server whose metadata is in a fresh PostgreSQL database.
* MLflow: ``mlflow server`` (its default 4 workers) on ``sqlite:///<tmp>/mlflow.db``, from
  the MLflow venv at ``.bench/mlflow-venv`` (``python3 -m venv`` + ``pip install mlflow==3.*``
  when missing; ``bench/tracking.py`` creates and reuses the same one).

Every client is a fresh subprocess (MLflow's with the MLflow venv's python) talking HTTP only.
Workloads (only the loop described is timed):

a. per-call ``log_metric`` from one client after 5 warm-up calls, timed until durable
   (Shipyard: loop + ``flush()``; MLflow's ``log_metric`` is synchronous). MLflow logs 200
   points or for 60 s, whichever comes first (it is ~1,000x slower); rates are comparable,
   counts are printed.
b. batch logging: 10 metrics x 1,000 steps in ``log_batch`` calls of 1,000 points (MLflow's
   limit); Shipyard also as one call of 10,000.
c. search over 10,000 runs (5 params, 5 metrics each, same seeded data on both sides):
   ``metrics.m0 > 0.5 and params.p0 = 'a'`` ordered by ``metrics.m1 DESC``, 100 results,
   median of 10 queries through the server after one warm-up. The stores are filled before
   the server starts (Shipyard through its library; MLflow through its own ORM in bulk,
   since its API would take ~10 minutes here); filling is not timed.
d. 16 client processes log at once (released together after each started its run):
   Shipyard 5,000 points each through the fluent API; MLflow per-call, 100 points each or
   60 s, whichever comes first (it would take about half an hour for 5,000).
   Aggregate points/s = all points / (last finish - first start). Every point is then
   checked to be stored exactly once. The server's resident memory (all its processes) is
   sampled throughout.
e. d again (Shipyard), with the server SIGKILLed while the clients log and restarted on the
   same port: clients retry; every acknowledged point must be there exactly once.

Targets (from the issue): a >= 10,000 points/s per client, d >= 20,000 points/s in total,
every point exactly once, server under 300 MB resident, nothing acknowledged lost in e.

This module imports only the standard library at the top, so the MLflow venv's python can
run it as a worker (``--worker``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MLFLOW_VENV = ROOT / ".bench" / "mlflow-venv"
MLFLOW_SPEC = "mlflow==3.*"

FULL = {"a_points": 20_000, "a_points_mlflow": 200, "b_metrics": 10, "b_steps": 1_000,
        "b_batch": 1_000, "c_runs": 10_000, "c_repeat": 10, "d_procs": 16,
        "d_points": 5_000, "d_points_mlflow": 100, "mlflow_max_seconds": 60}
QUICK = {"a_points": 2_000, "a_points_mlflow": 30, "b_metrics": 10, "b_steps": 100,
         "b_batch": 1_000, "c_runs": 500, "c_repeat": 5, "d_procs": 4, "d_points": 1_000,
         "d_points_mlflow": 10, "mlflow_max_seconds": 20}
TARGETS = {"a_points_per_s": 10_000, "d_points_per_s": 20_000, "rss_mb": 300}
SEARCH_FILTER = "metrics.m0 > 0.5 and params.p0 = 'a'"
SEARCH_ORDER = "metrics.m1 DESC"
SEARCH_MAX = 100
N_KEYS = 5


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def search_rows(n_runs: int) -> list[tuple[dict[str, str], dict[str, float]]]:
    rng = random.Random(0)
    return [({f"p{k}": rng.choice("abc") for k in range(N_KEYS)},
             {f"m{k}": rng.random() for k in range(N_KEYS)}) for _ in range(n_runs)]


def expected_search(rows: list[tuple[dict[str, str], dict[str, float]]]) -> list[float]:
    hits = [m["m1"] for p, m in rows if m["m0"] > 0.5 and p["p0"] == "a"]
    return sorted(hits, reverse=True)[:SEARCH_MAX]


def wait_for_quiet(threshold: float, max_wait: float) -> float:
    """Wait (up to ``max_wait`` s) for the 1-minute load average to drop below ``threshold``;
    returns the load average when going on (the machine may be shared)."""
    deadline = time.monotonic() + max_wait
    load = os.getloadavg()[0]
    if load >= threshold:
        log(f"load average {load:.1f} >= {threshold}: waiting up to {max_wait:.0f} s ...")
    while load >= threshold and time.monotonic() < deadline:
        time.sleep(5)
        load = os.getloadavg()[0]
    return load


def result(value: dict[str, Any]) -> None:
    print("RESULT " + json.dumps(value), flush=True)


def wait_for_go(run_id: str) -> None:
    """Concurrent workers: announce readiness, then block until the parent says go."""
    print(f"READY {run_id}", flush=True)
    sys.stdin.readline()


# ---------------------------------------------------------------------------------------------
# Workers (fresh subprocesses; SHIPYARD_TRACKING_URI / MLFLOW_TRACKING_URI point at a server)
# ---------------------------------------------------------------------------------------------
def shipyard_worker(task: str, args: dict[str, Any]) -> None:
    import shipyard
    from shipyard.entities._ids import utc_now

    client = shipyard.get_client()
    assert client.settings.is_remote, client
    if task == "a":
        n = args["points"]
        with shipyard.start_run(experiment="bench-warmup"):  # not timed: warm the server
            for i in range(5):
                shipyard.log_metric("w", float(i))
        with shipyard.start_run(experiment="bench-a") as run:
            t0 = time.perf_counter()
            for i in range(n):
                shipyard.log_metric("m", i * 0.1, step=i)
            loop = time.perf_counter() - t0
            shipyard.flush()
            dt = time.perf_counter() - t0
        stored = len(client.tracking.get_metric_history(run.id, "m"))
        result({"seconds": dt, "loop_seconds": loop, "points": n, "stored": stored,
                "points_per_s": n / dt})
    elif task == "b":
        ts = utc_now()
        points = [shipyard.Metric(key=f"m{k}", value=s * 0.001 + k, step=s, timestamp=ts)
                  for s in range(args["steps"]) for k in range(args["metrics"])]
        out: dict[str, Any] = {"points": len(points)}
        for label, batch in (("batched", args["batch"]), ("one_call", len(points))):
            run = client.tracking.create_run(experiment="bench-b")
            t0 = time.perf_counter()
            for j in range(0, len(points), batch):
                client.tracking.log_batch(run.id, metrics=points[j:j + batch])
            dt = time.perf_counter() - t0
            stored = sum(len(client.tracking.get_metric_history(run.id, f"m{k}"))
                         for k in range(args["metrics"]))
            out[label] = {"seconds": dt, "batch": batch, "stored": stored,
                          "points_per_s": len(points) / dt}
        result(out)
    elif task == "c_query":
        times, got = [], []
        for i in range(args["repeat"] + 1):
            t0 = time.perf_counter()
            page = client.tracking.search_runs(["search"], filter=SEARCH_FILTER,
                                               order_by=[SEARCH_ORDER], max_results=SEARCH_MAX)
            if i:
                times.append(time.perf_counter() - t0)
            got = [r.metrics["m1"] for r in page.items]
        result({"median_ms": statistics.median(times) * 1000, "results": got})
    elif task == "d":
        n = args["points"]
        with shipyard.start_run(experiment="bench-d") as run:
            wait_for_go(run.id)
            t0, cpu0 = time.time(), time.process_time()
            for i in range(n):
                shipyard.log_metric("m", float(i), step=i)
            shipyard.flush()
            end, cpu = time.time(), time.process_time() - cpu0
        result({"start": t0, "end": end, "cpu": cpu, "run_id": run.id, "points": n})
    else:
        raise SystemExit(f"unknown task {task}")


def mlflow_worker(task: str, args: dict[str, Any]) -> None:
    import mlflow
    from mlflow.entities import Metric

    client = mlflow.MlflowClient()
    if task == "a":
        n, limit = args["points"], args.get("max_seconds", 1e9)
        mlflow.set_experiment("bench-warmup")
        with mlflow.start_run():  # not timed: warm the server (its workers start lazily)
            for i in range(5):
                mlflow.log_metric("w", float(i), step=i)
        mlflow.set_experiment("bench-a")
        with mlflow.start_run() as run:
            t0 = time.perf_counter()
            for i in range(n):
                mlflow.log_metric("m", i * 0.1, step=i)
                if time.perf_counter() - t0 > limit:  # it is slow: stop early, keep the rate
                    n = i + 1
                    break
            dt = time.perf_counter() - t0
        stored = len(client.get_metric_history(run.info.run_id, "m"))
        result({"seconds": dt, "loop_seconds": dt, "points": n, "stored": stored,
                "points_per_s": n / dt})
    elif task == "b":
        exp = mlflow.set_experiment("bench-b")
        ts = int(time.time() * 1000)
        points = [Metric(f"m{k}", s * 0.001 + k, ts, s)
                  for s in range(args["steps"]) for k in range(args["metrics"])]
        run = client.create_run(exp.experiment_id)
        t0 = time.perf_counter()
        for j in range(0, len(points), args["batch"]):
            client.log_batch(run.info.run_id, metrics=points[j:j + args["batch"]])
        dt = time.perf_counter() - t0
        stored = sum(len(client.get_metric_history(run.info.run_id, f"m{k}"))
                     for k in range(args["metrics"]))
        result({"points": len(points), "batched": {"seconds": dt, "batch": args["batch"],
                                                   "stored": stored,
                                                   "points_per_s": len(points) / dt}})
    elif task == "c_fill":
        mlflow_fill(args["runs"])
    elif task == "c_query":
        exp = client.get_experiment_by_name("search")
        times, got = [], []
        for i in range(args["repeat"] + 1):
            t0 = time.perf_counter()
            runs = client.search_runs([exp.experiment_id], SEARCH_FILTER,
                                      order_by=[SEARCH_ORDER], max_results=SEARCH_MAX)
            if i:
                times.append(time.perf_counter() - t0)
            got = [r.data.metrics["m1"] for r in runs]
        result({"median_ms": statistics.median(times) * 1000, "results": got})
    elif task == "d":
        n, limit = args["points"], args.get("max_seconds", 1e9)
        mlflow.set_experiment("bench-d")
        with mlflow.start_run() as run:
            wait_for_go(run.info.run_id)
            t0, cpu0 = time.time(), time.process_time()
            for i in range(n):
                mlflow.log_metric("m", float(i), step=i)
                if time.time() - t0 > limit:
                    n = i + 1
                    break
            end, cpu = time.time(), time.process_time() - cpu0
        result({"start": t0, "end": end, "cpu": cpu, "run_id": run.info.run_id, "points": n})
    elif task == "verify":
        counts = {}
        for run_id, points in zip(args["run_ids"], args["points"], strict=True):
            steps = [m.step for m in client.get_metric_history(run_id, "m")]
            counts[run_id] = {"n": len(steps), "exact": sorted(steps) == list(range(points))}
        result(counts)
    else:
        raise SystemExit(f"unknown task {task}")


def mlflow_fill(n: int) -> None:
    """10,000 runs into MLflow's SQLite through its own ORM in one transaction (its API
    needs two requests per run, ~10 minutes here)."""
    import mlflow
    from mlflow.store.tracking.dbmodels.models import (
        SqlLatestMetric,
        SqlMetric,
        SqlParam,
        SqlRun,
    )
    from mlflow.tracking._tracking_service.utils import _get_store

    exp_id = mlflow.MlflowClient().create_experiment("search")
    probe = mlflow.MlflowClient().create_run(exp_id)  # the row shape MLflow writes itself
    store = _get_store()
    now = int(time.time() * 1000)
    t0 = time.perf_counter()
    with store.ManagedSessionMaker() as session:
        template = session.query(SqlRun).filter(SqlRun.run_uuid == probe.info.run_id).one()
        objects: list[Any] = []
        for i, (params, metrics) in enumerate(search_rows(n)):
            rid = uuid.uuid4().hex
            objects.append(SqlRun(
                run_uuid=rid, name=f"r{i}", source_type=template.source_type,
                source_name=template.source_name, entry_point_name=template.entry_point_name,
                user_id=template.user_id, status="FINISHED", start_time=now + i,
                end_time=now + i, source_version=template.source_version,
                lifecycle_stage="active", artifact_uri=f"{template.artifact_uri}-{rid}",
                experiment_id=int(exp_id)))
            objects += [SqlParam(key=k, value=v, run_uuid=rid) for k, v in params.items()]
            for k, v in metrics.items():
                objects.append(SqlMetric(key=k, value=v, timestamp=now, step=0, is_nan=False,
                                         run_uuid=rid))
                objects.append(SqlLatestMetric(key=k, value=v, timestamp=now, step=0,
                                               is_nan=False, run_uuid=rid))
        session.delete(template)
        session.add_all(objects)
    result({"runs": n, "fill_seconds": time.perf_counter() - t0})


def shipyard_fill(home: Path, n: int) -> float:
    """The same runs into Shipyard's SQLite through the library (not timed as a target)."""
    from shipyard.client import Client
    from shipyard.entities._ids import utc_now
    from shipyard.entities.tracking import Metric, RunContext

    t0 = time.perf_counter()
    with Client(home=home) as client:
        svc = client.tracking
        exp = svc.get_or_create_experiment("search")
        ctx = RunContext()
        for params, metrics in search_rows(n):
            run = svc.create_run(experiment_id=exp.id, context=ctx)
            ts = utc_now()
            svc.log_batch(run.id, params=params, metrics=[
                Metric(key=k, value=v, step=0, timestamp=ts) for k, v in metrics.items()])
    return time.perf_counter() - t0


# ---------------------------------------------------------------------------------------------
# The parent: servers, process trees, timing
# ---------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SHIPYARD_", "MLFLOW_", "VIRTUAL_ENV", "PYTHONPATH"))}
    env.update(extra)
    return env


def wait_healthy(url: str, proc: subprocess.Popen[Any], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/health",
                                                                  timeout=2) as resp:
            if resp.status == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"no server at {url} after {timeout}s")


class Server:
    """A server process tree on a loopback port, with resident-memory sampling."""

    def __init__(self, argv: list[str], env: dict[str, str], port: int, log_path: Path) -> None:
        self.argv, self.env, self.port, self.log_path = argv, env, port, log_path
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.peak_rss = 0
        self._sampling = False

    def start(self) -> None:
        with self.log_path.open("ab") as out:
            self.proc = subprocess.Popen(self.argv, env=self.env, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        wait_healthy(self.url, self.proc)

    def rss(self) -> tuple[int, int]:
        """(bytes resident in the whole process tree, number of processes)."""
        import psutil

        assert self.proc is not None
        try:
            root = psutil.Process(self.proc.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0, 0
        total = 0
        for p in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                total += p.memory_info().rss
        return total, len(procs)

    def cpu(self) -> float:
        """CPU seconds (user + system) used so far by the whole process tree."""
        import psutil

        assert self.proc is not None
        total = 0.0
        try:
            root = psutil.Process(self.proc.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0.0
        for p in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                times = p.cpu_times()
                total += times.user + times.system
        return total

    @contextlib.contextmanager
    def sample(self) -> Any:
        self._sampling = True

        def loop() -> None:
            while self._sampling:
                self.peak_rss = max(self.peak_rss, self.rss()[0])
                time.sleep(0.05)

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        try:
            yield
        finally:
            self._sampling = False
            thread.join()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def shipyard_server(tmp: Path, *, metadata_uri: str | None = None) -> Server:
    port = free_port()
    extra = {"SHIPYARD_HOME": str(tmp / "shipyard-server")}
    if metadata_uri:
        extra["SHIPYARD_METADATA_URI"] = metadata_uri
    argv = [sys.executable, "-m", "shipyard", "server", "--host", "127.0.0.1", "--port",
            str(port), "--log-level", "warning"]
    return Server(argv, clean_env(**extra), port, tmp / "shipyard-server.log")


def mlflow_server(tmp: Path, mlflow_bin: Path) -> Server:
    port = free_port()
    argv = [str(mlflow_bin), "server", "--host", "127.0.0.1", "--port", str(port),
            "--backend-store-uri", f"sqlite:///{tmp / 'mlflow.db'}",
            "--artifacts-destination", str(tmp / "mlflow-artifacts")]
    return Server(argv, clean_env(), port, tmp / "mlflow-server.log")


class Bench:
    def __init__(self, args: argparse.Namespace, sizes: dict[str, Any]) -> None:
        self.args, self.sizes = args, sizes
        self.mlflow_py = MLFLOW_VENV / "bin" / "python"

    def _env(self, side: str, url: str) -> dict[str, str]:
        if side == "shipyard":
            return clean_env(SHIPYARD_TRACKING_URI=url, SHIPYARD_HOME=tempfile.mkdtemp())
        return clean_env(MLFLOW_TRACKING_URI=url)

    def _python(self, side: str) -> str:
        return sys.executable if side == "shipyard" else str(self.mlflow_py)

    def worker(self, side: str, task: str, url: str, args: dict[str, Any]) -> dict[str, Any]:
        argv = [self._python(side), __file__, "--worker", side, task, json.dumps(args)]
        res = subprocess.run(argv, env=self._env(side, url), capture_output=True, text=True,
                             check=False, timeout=3600)
        lines = [ln for ln in res.stdout.splitlines() if ln.startswith("RESULT ")]
        if res.returncode != 0 or not lines:
            raise RuntimeError(f"{side} {task} failed:\n{res.stderr[-3000:]}")
        return json.loads(lines[-1][len("RESULT "):])  # type: ignore[no-any-return]

    def concurrent(self, side: str, server: Server, procs: int, points: int,
                   kill_after: float | None = None,
                   max_seconds: float | None = None) -> dict[str, Any]:
        """``procs`` clients released together; optionally SIGKILL + restart the server."""
        task_args: dict[str, Any] = {"points": points}
        if max_seconds is not None:
            task_args["max_seconds"] = max_seconds
        argv = [self._python(side), __file__, "--worker", side, "d", json.dumps(task_args)]
        children = [subprocess.Popen(argv, env=self._env(side, server.url), text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE) for _ in range(procs)]
        for child in children:
            assert child.stdout is not None
            line = child.stdout.readline()
            if not line.startswith("READY"):
                raise RuntimeError(f"{side} client did not start: {child.stderr.read()}")  # type: ignore[union-attr]
        kill_note = None
        server_cpu0 = server.cpu()
        with server.sample():
            for child in children:
                assert child.stdin is not None
                child.stdin.write("go\n")
                child.stdin.flush()
            if kill_after is not None:
                time.sleep(kill_after)
                alive = sum(c.poll() is None for c in children)
                server.kill()
                killed_at = time.time()
                time.sleep(0.5)
                server.start()
                kill_note = {"clients_running_at_kill": alive,
                             "down_seconds": time.time() - killed_at}
            outs = [c.communicate(timeout=1800) for c in children]
        server_cpu = server.cpu() - server_cpu0
        results = []
        for child, (out, err) in zip(children, outs, strict=True):
            lines = [ln for ln in out.splitlines() if ln.startswith("RESULT ")]
            if child.returncode != 0 or not lines:
                raise RuntimeError(f"{side} client failed:\n{err[-3000:]}")
            results.append(json.loads(lines[-1][len("RESULT "):]))
        start = min(r["start"] for r in results)
        end = max(r["end"] for r in results)
        total = sum(r["points"] for r in results)
        out_d: dict[str, Any] = {"procs": procs, "points_each": points, "points": total,
                                 "seconds": end - start, "points_per_s": total / (end - start),
                                 "run_ids": [r["run_id"] for r in results],
                                 "run_points": [r["points"] for r in results],
                                 "client_cpu_us_per_point": sum(r["cpu"] for r in results)
                                 / total * 1e6}
        if kill_after is None:  # a restarted server's CPU counter starts again
            out_d["server_cpu_us_per_point"] = server_cpu / total * 1e6
        if kill_note:
            out_d["kill"] = kill_note
        return out_d


def verify_shipyard(home: Path, run_ids: list[str], points: int,
                    metadata_uri: str | None = None) -> dict[str, Any]:
    from shipyard.client import Client

    opts: dict[str, Any] = {"home": home}
    if metadata_uri:
        opts["metadata_uri"] = metadata_uri
    with Client(**opts) as client:
        exact = stored = 0
        for run_id in run_ids:
            steps = [m.step for m in client.tracking.get_metric_history(run_id, "m")]
            stored += len(steps)
            exact += steps == list(range(points))
    return {"runs_exact": exact, "runs": len(run_ids), "stored": stored,
            "expected": points * len(run_ids)}


def fresh_postgres_db(admin_url: str) -> tuple[str, Any]:
    import psycopg

    admin = admin_url.replace("postgresql+psycopg://", "postgresql://")
    name = f"shipyard_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = admin.rpartition("/")[0]

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1), drop


def run_all(args: argparse.Namespace) -> dict[str, Any]:
    sizes = QUICK if args.quick else FULL
    bench = Bench(args, sizes)
    tmp_root = Path(tempfile.mkdtemp(prefix="shipyard-bench-remote-"))
    out: dict[str, Any] = {"sizes": sizes, "machine": {
        "python": platform.python_version(), "cpus": os.cpu_count(),
        "platform": platform.platform(), "load_at_start": os.getloadavg()[0]}}
    sides = ["shipyard"] if args.skip_mlflow else ["shipyard", "mlflow"]
    if "mlflow" in sides:
        out["mlflow_version"] = ensure_mlflow()
    try:
        for side in sides:
            tmp = tmp_root / side
            tmp.mkdir()
            out.setdefault("load_before", {})[side] = wait_for_quiet(args.quiet_load,
                                                                     args.quiet_wait)
            log(f"{side}: filling {sizes['c_runs']} runs for the search workload ...")
            if side == "shipyard":
                fill = {"fill_seconds": shipyard_fill(tmp / "shipyard-server", sizes["c_runs"])}
                server = shipyard_server(tmp)
            else:
                os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp / 'mlflow.db'}"
                fill = bench.worker("mlflow", "c_fill", os.environ["MLFLOW_TRACKING_URI"],
                                    {"runs": sizes["c_runs"]})
                del os.environ["MLFLOW_TRACKING_URI"]
                server = mlflow_server(tmp, MLFLOW_VENV / "bin" / "mlflow")
            server.start()
            res: dict[str, Any] = {}
            try:
                idle, nprocs = server.rss()
                res["server_idle_rss_mb"] = idle / 2**20
                res["server_processes"] = nprocs
                log(f"{side}: server up at {server.url} ({nprocs} processes, "
                    f"{idle / 2**20:.0f} MB)")
                n_a = sizes["a_points"] if side == "shipyard" else sizes["a_points_mlflow"]
                a_args: dict[str, Any] = {"points": n_a}
                if side == "mlflow":
                    a_args["max_seconds"] = sizes["mlflow_max_seconds"]
                res["a"] = bench.worker(side, "a", server.url, a_args)
                log(f"{side} (a): {res['a']['points_per_s']:,.1f} points/s "
                    f"({res['a']['stored']}/{res['a']['points']} stored)")
                res["b"] = bench.worker(side, "b", server.url, {
                    "metrics": sizes["b_metrics"], "steps": sizes["b_steps"],
                    "batch": sizes["b_batch"]})
                log(f"{side} (b): batched {res['b']['batched']['points_per_s']:,.0f} points/s")
                res["c"] = {**fill, **bench.worker(side, "c_query", server.url,
                                                   {"repeat": sizes["c_repeat"]})}
                want = expected_search(search_rows(sizes["c_runs"]))
                res["c"]["correct"] = [round(v, 9) for v in res["c"].pop("results")] == [
                    round(v, 9) for v in want]
                log(f"{side} (c): {res['c']['median_ms']:.1f} ms per query "
                    f"(correct: {res['c']['correct']})")
                n_d = sizes["d_points"] if side == "shipyard" else sizes["d_points_mlflow"]
                server.peak_rss = 0
                res["d"] = bench.concurrent(
                    side, server, sizes["d_procs"], n_d,
                    max_seconds=None if side == "shipyard" else sizes["mlflow_max_seconds"])
                res["d"]["server_peak_rss_mb"] = server.peak_rss / 2**20
                if side == "shipyard":
                    res["d"]["check"] = verify_shipyard(tmp / "shipyard-server",
                                                        res["d"]["run_ids"], n_d)
                else:
                    counts = bench.worker("mlflow", "verify", server.url,
                                          {"run_ids": res["d"]["run_ids"],
                                           "points": res["d"]["run_points"]})
                    res["d"]["check"] = {
                        "runs_exact": sum(c["exact"] for c in counts.values()),
                        "runs": len(counts), "stored": sum(c["n"] for c in counts.values()),
                        "expected": res["d"]["points"]}
                del res["d"]["run_ids"], res["d"]["run_points"]
                log(f"{side} (d): {res['d']['points_per_s']:,.0f} points/s total, "
                    f"{res['d']['check']}, peak RSS {res['d']['server_peak_rss_mb']:.0f} MB")
                if side == "shipyard":
                    server.peak_rss = 0
                    kill_after = 0.6 if not args.quick else 0.3
                    e = bench.concurrent(side, server, sizes["d_procs"], sizes["d_points"],
                                         kill_after=kill_after)
                    del e["run_points"]
                    e["check"] = verify_shipyard(tmp / "shipyard-server", e.pop("run_ids"),
                                                 sizes["d_points"])
                    res["e"] = e
                    log(f"{side} (e) SIGKILL: {e['kill']}, {e['check']}")
            finally:
                server.stop()
            out[side] = res
        if args.postgres:
            out["shipyard_postgres"] = run_postgres(bench, sizes, tmp_root, args.postgres)
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)
    return out


def run_postgres(bench: Bench, sizes: dict[str, Any], tmp_root: Path,
                 admin_url: str) -> dict[str, Any]:
    url, drop = fresh_postgres_db(admin_url)
    tmp = tmp_root / "shipyard-postgres"
    tmp.mkdir()
    server = shipyard_server(tmp, metadata_uri=url)
    res: dict[str, Any] = {}
    try:
        server.start()
        res["server_idle_rss_mb"] = server.rss()[0] / 2**20
        res["a"] = bench.worker("shipyard", "a", server.url, {"points": sizes["a_points"]})
        res["b"] = bench.worker("shipyard", "b", server.url, {
            "metrics": sizes["b_metrics"], "steps": sizes["b_steps"], "batch": sizes["b_batch"]})
        res["d"] = bench.concurrent("shipyard", server, sizes["d_procs"], sizes["d_points"])
        res["d"]["server_peak_rss_mb"] = server.peak_rss / 2**20
        del res["d"]["run_points"]
        res["d"]["check"] = verify_shipyard(tmp / "shipyard-server", res["d"].pop("run_ids"),
                                            sizes["d_points"], metadata_uri=url)
        log(f"postgres: a {res['a']['points_per_s']:,.0f}/s, b "
            f"{res['b']['batched']['points_per_s']:,.0f}/s, d "
            f"{res['d']['points_per_s']:,.0f}/s {res['d']['check']}")
    finally:
        server.stop()
        drop()
    return res


def ensure_mlflow() -> str:
    py = MLFLOW_VENV / "bin" / "python"
    probe = [str(py), "-c", "import importlib.metadata as m; print(m.version('mlflow'))"]
    if py.exists():
        res = subprocess.run(probe, capture_output=True, text=True, check=False)
        if res.returncode == 0:
            return res.stdout.strip()
    log(f"creating {MLFLOW_VENV} and installing {MLFLOW_SPEC} (a few minutes, once)")
    MLFLOW_VENV.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["python3", "-m", "venv", str(MLFLOW_VENV)], check=True)
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    subprocess.run([str(py), "-m", "pip", "install", "-q", MLFLOW_SPEC], check=True)
    return subprocess.run(probe, capture_output=True, text=True, check=True).stdout.strip()


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------
def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def report(out: dict[str, Any]) -> str:
    s, m = out["shipyard"], out.get("mlflow")
    lines = ["| workload | Shipyard server | MLflow server | ratio | target |",
             "|---|---|---|---|---|"]

    def ratio(a: float, b: float) -> str:
        return f"{a / b:,.0f}x" if b else "-"

    a_ok = s["a"]["points_per_s"] >= TARGETS["a_points_per_s"] and (
        s["a"]["stored"] == s["a"]["points"])
    lines.append(
        f"| a. per-call log_metric, 1 client | {s['a']['points_per_s']:,.0f} points/s "
        f"({s['a']['points']:,} points) | "
        + (f"{m['a']['points_per_s']:,.1f} points/s ({m['a']['points']} points)" if m else "-")
        + f" | {ratio(s['a']['points_per_s'], m['a']['points_per_s']) if m else '-'} | "
        f">= 10,000/s: {verdict(a_ok)} |")
    lines.append(
        f"| b. log_batch, 1,000 points a call | {s['b']['batched']['points_per_s']:,.0f} "
        f"points/s (one call of 10,000: {s['b']['one_call']['points_per_s']:,.0f}/s) | "
        + (f"{m['b']['batched']['points_per_s']:,.0f} points/s" if m else "-")
        + " | " + (ratio(s["b"]["batched"]["points_per_s"], m["b"]["batched"]["points_per_s"])
                   if m else "-") + " | |")
    c_ok = s["c"]["correct"]
    lines.append(
        f"| c. search 10,000 runs (median) | {s['c']['median_ms']:.1f} ms | "
        + (f"{m['c']['median_ms']:.1f} ms" if m else "-")
        + f" | {ratio(m['c']['median_ms'], s['c']['median_ms']) if m else '-'} | "
        f"correct: {verdict(c_ok and (not m or m['c']['correct']))} |")
    d = s["d"]
    d_exact = d["check"]["runs_exact"] == d["check"]["runs"] and (
        d["check"]["stored"] == d["check"]["expected"])
    d_ok = d["points_per_s"] >= TARGETS["d_points_per_s"] and d_exact
    lines.append(
        f"| d. {d['procs']} clients at once | {d['points_per_s']:,.0f} points/s total "
        f"({d['procs']} x {d['points_each']:,}; exactly once: {d['check']['stored']:,}/"
        f"{d['check']['expected']:,}) | "
        + (f"{m['d']['points_per_s']:,.1f} points/s total ({m['d']['procs']} x "
           f"{m['d']['points_each']})" if m else "-")
        + f" | {ratio(d['points_per_s'], m['d']['points_per_s']) if m else '-'} | "
        f">= 20,000/s + exactly once: {verdict(d_ok)} |")
    lines.append(
        f"| d. CPU per point (server / clients) | {d['server_cpu_us_per_point']:.1f} / "
        f"{d['client_cpu_us_per_point']:.1f} us | "
        + (f"{m['d']['server_cpu_us_per_point']:,.0f} / {m['d']['client_cpu_us_per_point']:,.0f}"
           " us" if m else "-")
        + " | | |")
    rss_ok = d["server_peak_rss_mb"] < TARGETS["rss_mb"]
    lines.append(
        f"| server resident memory (peak in d) | {d['server_peak_rss_mb']:.0f} MB "
        f"({s['server_processes']} process) | "
        + (f"{m['d']['server_peak_rss_mb']:.0f} MB ({m['server_processes']} processes)" if m
           else "-")
        + f" | | < 300 MB: {verdict(rss_ok)} |")
    e = s["e"]
    e_ok = e["check"]["stored"] == e["check"]["expected"] and (
        e["check"]["runs_exact"] == e["check"]["runs"])
    lines.append(
        f"| e. d with the server SIGKILLed + restarted | {e['points_per_s']:,.0f} points/s, "
        f"{e['check']['stored']:,}/{e['check']['expected']:,} points, "
        f"{e['kill']['clients_running_at_kill']} clients logging at the kill | - | | "
        f"nothing lost or doubled: {verdict(e_ok)} |")
    pg = out.get("shipyard_postgres")
    if pg:
        lines.append(
            f"| Shipyard server on PostgreSQL: a / b / d | {pg['a']['points_per_s']:,.0f} / "
            f"{pg['b']['batched']['points_per_s']:,.0f} / {pg['d']['points_per_s']:,.0f} "
            f"points/s (d exactly once: {pg['d']['check']['stored']:,}/"
            f"{pg['d']['check']['expected']:,}) | - | | |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    parser.add_argument("--skip-mlflow", action="store_true", help="only Shipyard")
    parser.add_argument("--postgres", default=None,
                        help="admin URL of a PostgreSQL server: also run a, b, d on it")
    parser.add_argument("--quiet-load", type=float, default=2.5,
                        help="wait for the load average to drop below this before each side")
    parser.add_argument("--quiet-wait", type=float, default=180,
                        help="but wait at most this many seconds")
    parser.add_argument("--worker", nargs=3, metavar=("SIDE", "TASK", "ARGS"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        side, task, raw = args.worker
        (shipyard_worker if side == "shipyard" else mlflow_worker)(task, json.loads(raw))
        return
    t0 = time.time()
    out = run_all(args)
    out["wall_seconds"] = time.time() - t0
    out["machine"]["load_at_end"] = os.getloadavg()[0]
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    print(report(out))
    print(f"\n(load average {out['machine']['load_at_start']:.1f} -> "
          f"{out['machine']['load_at_end']:.1f}; {out['wall_seconds']:.0f} s)")


if __name__ == "__main__":
    main()
