"""UI benchmark: the runs page with 10,000 runs x 200 keys, Shipyard against MLflow's UI.

    .venv/bin/python bench/ui.py                    # 10,000 runs, 100 params + 100 metrics
    .venv/bin/python bench/ui.py --runs 1000        # a smaller smoke run
    .venv/bin/python bench/ui.py --skip-mlflow      # Shipyard only
    .venv/bin/python bench/ui.py --json out.json    # also write every figure as JSON

Both tools get the same data: run ``run-00000`` ... with 100 params (``p000``..., strings and
floats) and 100 metrics (``m000``..., one value each), start times one second apart. The
seeded stores are kept in ``.bench/ui/`` and reused (``--reseed`` rebuilds them):

* Shipyard: through the metadata store (``create_run`` + one ``log_batch`` per run), into its
  default SQLite database.
* MLflow (3.x, from ``.bench/mlflow-venv``, installed there by ``bench/tracking.py``): its
  SQLite schema is created by MLflow itself, then the same rows are bulk-inserted into its
  ``runs``/``params``/``metrics``/``latest_metrics`` tables (populating 10,000 such runs through
  MLflow's client takes hours here; see docs/benchmarks.md).

Measured, each server alone on the machine, on its default page of the experiment:

* server time: p50 (and p90) of N sequential requests, by httpx from this process. Shipyard:
  ``GET /experiments/<id>`` (the complete HTML of the first 50 runs); also with a filter and
  a metric sort, a deep page and an htmx table swap. MLflow's page is a static shell plus
  ``POST /ajax-api/2.0/mlflow/runs/search`` (100 runs, what its UI asks for): the search is
  timed.
* time to interactive in Chromium (Debian's, driven by Playwright), median of fresh browser
  contexts (cold cache): from navigation start to when both the ``load`` event has fired and
  the first run row is in the page (Shipyard: ``#runs-table tbody tr``; MLflow, at
  ``#/experiments/<id>/runs``: the newest run's name), checked every 20 ms inside the page
  with ``performance.now()``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / ".bench" / "ui"
MLFLOW_VENV = ROOT / ".bench" / "mlflow-venv"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage"]
T0_MS = 1_767_225_600_000  # 2026-01-01, so both tools show the same times
EXPERIMENT = "ui-bench"

# In-page probe: when the first row is on screen, and when the load event has fired.
PROBE = """
(() => {
  const want = %s;
  const timer = setInterval(() => {
    if (document.body && want()) { window.__rowAt = performance.now(); clearInterval(timer); }
  }, 20);
})();
"""
SHIPYARD_ROW = "() => !!document.querySelector('#runs-table tbody tr[data-run-id]')"


def log(msg: str) -> None:
    print(f"[ui-bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def rows(n_runs: int, n_keys: int) -> list[tuple[str, dict[str, Any], dict[str, float]]]:
    """Deterministic data: (name, params, metrics) per run; half the keys each."""
    rng = random.Random(7)
    half = n_keys // 2
    out = []
    for i in range(n_runs):
        params: dict[str, Any] = {}
        for k in range(half):
            params[f"p{k:03d}"] = rng.choice(["adam", "sgd", "rmsprop"]) if k % 3 == 0 else (
                round(rng.random(), 6))
        metrics = {f"m{k:03d}": round(rng.random(), 6) for k in range(n_keys - half)}
        out.append((f"run-{i:05d}", params, metrics))
    return out


# -- seeding ------------------------------------------------------------------------------------
def seed_shipyard(home: Path, data: list[Any]) -> str:
    from datetime import UTC, datetime, timedelta

    from shipyard.client import Client
    from shipyard.entities.tracking import Metric, RunContext

    ctx = RunContext(user="bench", source="bench/ui.py")
    t0 = datetime.fromtimestamp(T0_MS / 1000, UTC)
    with Client(home=home) as client:
        store = client.metadata
        exp = client.tracking.create_experiment(EXPERIMENT)
        started = time.perf_counter()
        for i, (name, params, metrics) in enumerate(data):
            if i and i % 1000 == 0:
                el = time.perf_counter() - started
                log(f"  shipyard: {i:,} runs ({el:.0f} s, ~{el / i * len(data):.0f} s in all)")
            at = t0 + timedelta(seconds=i)
            run = store.create_run(experiment_id=exp.id, name=name, start_time=at, context=ctx,
                                   parent_id=None, description="", tags={}, created_by="bench")
            store.log_batch(run.id, metrics=[Metric(key=k, value=v, step=0, timestamp=at)
                                             for k, v in metrics.items()], params=params,
                            tags={})
        log(f"  shipyard: seeded in {time.perf_counter() - started:.0f} s")
        return exp.id


MLFLOW_INIT = """
import sys
from mlflow.tracking import MlflowClient
client = MlflowClient(tracking_uri=sys.argv[1])
print(client.create_experiment(sys.argv[2], artifact_location=sys.argv[3]))
"""


def seed_mlflow(folder: Path, data: list[Any]) -> str:
    """MLflow makes its schema and the experiment; the runs go in with bulk inserts."""
    db = folder / "mlflow.db"
    artifacts = folder / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    out = subprocess.run([str(MLFLOW_VENV / "bin" / "python"), "-c", MLFLOW_INIT,
                          f"sqlite:///{db}", EXPERIMENT, artifacts.as_uri()],
                         capture_output=True, text=True, check=True)
    exp_id = out.stdout.strip().splitlines()[-1]
    started = time.perf_counter()
    con = sqlite3.connect(db)
    cols = {t: [r[1] for r in con.execute(f"PRAGMA table_info({t})")]
            for t in ("runs", "params", "metrics", "latest_metrics", "tags")}
    runs, params, metrics, latest, tags = [], [], [], [], []
    for i, (name, ps, ms) in enumerate(data):
        rid = uuid.UUID(int=random.Random(i).getrandbits(128)).hex
        start = T0_MS + i * 1000
        runs.append({"run_uuid": rid, "name": name, "source_type": "LOCAL",
                     "source_name": "bench/ui.py", "entry_point_name": "", "user_id": "bench",
                     "status": "FINISHED", "start_time": start, "end_time": start + 180_000,
                     "source_version": "", "lifecycle_stage": "active",
                     "artifact_uri": f"{artifacts.as_uri()}/{rid}/artifacts",
                     "experiment_id": int(exp_id), "deleted_time": None})
        params += [(k, str(v), rid) for k, v in ps.items()]
        for k, v in ms.items():
            metrics.append({"key": k, "value": v, "timestamp": start, "run_uuid": rid,
                            "step": 0, "is_nan": 0})
            latest.append({"key": k, "value": v, "timestamp": start, "step": 0,
                           "is_nan": 0, "run_uuid": rid})
        tags += [("mlflow.runName", name, rid), ("mlflow.user", "bench", rid)]

    def insert(table: str, records: list[dict[str, Any]]) -> None:
        names = [c for c in cols[table] if c in records[0]]
        con.executemany(f"INSERT INTO {table} ({', '.join(names)}) VALUES "
                        f"({', '.join('?' for _ in names)})",
                        [tuple(r[c] for c in names) for r in records])

    with con:
        insert("runs", runs)
        con.executemany("INSERT INTO params (key, value, run_uuid) VALUES (?, ?, ?)", params)
        insert("metrics", metrics)
        insert("latest_metrics", latest)
        con.executemany("INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?)", tags)
    con.close()
    log(f"  mlflow: {len(data):,} runs bulk-inserted in {time.perf_counter() - started:.0f} s")
    return exp_id


def prepare(n_runs: int, n_keys: int, *, reseed: bool, mlflow: bool) -> dict[str, Any]:
    tag = f"{n_runs}x{n_keys}"
    folder = DATA / tag
    meta_file = folder / "meta.json"
    meta: dict[str, Any] = json.loads(meta_file.read_text()) if meta_file.exists() else {}
    if reseed:
        shutil.rmtree(folder, ignore_errors=True)
        meta = {}
    folder.mkdir(parents=True, exist_ok=True)
    data = None
    if "shipyard_experiment" not in meta:
        data = rows(n_runs, n_keys)
        shutil.rmtree(folder / "shipyard", ignore_errors=True)
        log(f"seeding Shipyard with {n_runs:,} runs x {n_keys} keys")
        meta["shipyard_experiment"] = seed_shipyard(folder / "shipyard", data)
        meta_file.write_text(json.dumps(meta))
    if mlflow and "mlflow_experiment" not in meta:
        data = data or rows(n_runs, n_keys)
        shutil.rmtree(folder / "mlflow", ignore_errors=True)
        log(f"seeding MLflow with the same {n_runs:,} runs")
        meta["mlflow_experiment"] = seed_mlflow(folder / "mlflow", data)
        meta_file.write_text(json.dumps(meta))
    return {**meta, "folder": folder}


# -- measuring ----------------------------------------------------------------------------------
def timed(fn: Any, repeat: int) -> dict[str, float]:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return {"p50_ms": statistics.median(times), "p90_ms": times[int(0.9 * (len(times) - 1))],
            "min_ms": times[0]}


def time_to_interactive(url: str, want: str, repeat: int) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    results = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for _ in range(repeat + 1):
            context = browser.new_context(viewport={"width": 1440, "height": 900})
            page = context.new_page()
            page.add_init_script(PROBE % want)
            page.goto(url, wait_until="load", timeout=180_000)
            page.wait_for_function("window.__rowAt !== undefined", timeout=180_000,
                                   polling=100)
            nav = page.evaluate("""() => {
                const n = performance.getEntriesByType('navigation')[0];
                return {load: n.loadEventEnd, dcl: n.domContentLoadedEventEnd,
                        ttfb: n.responseStart, row: window.__rowAt};
            }""")
            results.append(nav)
            context.close()
        browser.close()
    results = results[1:]  # the first launch warms the browser itself, not the page

    def med(key: str) -> float:
        return statistics.median(r[key] for r in results)

    return {"tti_ms": statistics.median(max(r["load"], r["row"]) for r in results),
            "first_row_ms": med("row"), "load_ms": med("load"), "ttfb_ms": med("ttfb"),
            "dom_content_loaded_ms": med("dcl")}


def wait_healthy(url: str, proc: subprocess.Popen[Any], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            msg = f"server exited with {proc.returncode}"
            raise RuntimeError(msg)
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    msg = f"no answer from {url}"
    raise RuntimeError(msg)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop(proc: subprocess.Popen[Any]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def bench_shipyard(meta: dict[str, Any], repeat: int, tti_repeat: int) -> dict[str, Any]:
    home = meta["folder"] / "shipyard"
    exp = meta["shipyard_experiment"]
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env["SHIPYARD_HOME"] = str(home)
    logf = open(meta["folder"] / "shipyard-server.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "shipyard", "server", "--port", str(port),
                             "--log-level", "warning"], env=env, stdout=logf,
                            stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(f"{base}/health", proc)
        out: dict[str, Any] = {}
        with httpx.Client(base_url=base, timeout=120) as http:
            page = http.get(f"/experiments/{exp}")
            assert page.status_code == 200, page.text[:500]
            assert page.text.count("<tr data-run-id=") == 50
            out["page_bytes"] = len(page.content)
            cases = {
                "runs page (first 50 runs)": f"/experiments/{exp}",
                "filter + sort by a metric": f"/experiments/{exp}?filter=metrics.m000+%3E+0.5+"
                "and+params.p000+%3D+'adam'&order=metrics.m001+DESC",
                "page 100 (runs 4,951-5,000)": f"/experiments/{exp}?page=100",
                "htmx table swap (sort by a param)": f"/experiments/{exp}?order=params.p001+ASC",
                "JSON twin (50 runs)": f"/api/v1/runs/search?experiment_ids={exp}"
                "&max_results=50",
            }
            for name, path in cases.items():
                headers = {"HX-Request": "true"} if "htmx" in name else {}
                out[name] = timed(
                    lambda p=path, h=headers: http.get(p, headers=h).raise_for_status(), repeat)
                log(f"  shipyard {name}: p50 {out[name]['p50_ms']:.1f} ms")
        out["browser"] = time_to_interactive(f"{base}/experiments/{exp}", SHIPYARD_ROW,
                                             tti_repeat)
        log(f"  shipyard TTI {out['browser']['tti_ms']:.0f} ms")
        return out
    finally:
        stop(proc)
        logf.close()


def bench_mlflow(meta: dict[str, Any], repeat: int, tti_repeat: int) -> dict[str, Any]:
    folder = meta["folder"] / "mlflow"
    exp = meta["mlflow_experiment"]
    port = free_port()
    version = subprocess.run([str(MLFLOW_VENV / "bin" / "python"), "-c",
                              "import mlflow; print(mlflow.__version__)"],
                             capture_output=True, text=True, check=True).stdout.strip()
    logf = open(meta["folder"] / "mlflow-server.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [str(MLFLOW_VENV / "bin" / "mlflow"), "server", "--host", "127.0.0.1", "--port",
         str(port), "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}",
         "--default-artifact-root", (folder / "artifacts").as_uri(), "--workers", "1"],
        stdout=logf, stderr=subprocess.STDOUT, cwd=tempfile.gettempdir())
    base = f"http://127.0.0.1:{port}"
    newest = f"run-{meta['n_runs'] - 1:05d}"
    try:
        wait_healthy(f"{base}/health", proc)
        out: dict[str, Any] = {"version": version}
        body = {"experiment_ids": [exp], "max_results": 100, "run_view_type": "ACTIVE_ONLY",
                "order_by": ["attributes.start_time DESC"]}
        with httpx.Client(base_url=base, timeout=300) as http:
            first = http.post("/ajax-api/2.0/mlflow/runs/search", json=body)
            first.raise_for_status()
            got = first.json()["runs"]
            assert len(got) == 100, len(got)
            assert got[0]["info"]["run_name"] == newest, got[0]["info"]
            out["runs search (first 100 runs, what the UI asks for)"] = timed(
                lambda: http.post("/ajax-api/2.0/mlflow/runs/search",
                                  json=body).raise_for_status(), repeat)
            log(f"  mlflow search p50 "
                f"{out['runs search (first 100 runs, what the UI asks for)']['p50_ms']:.1f} ms")
            out["static page shell"] = timed(lambda: http.get("/").raise_for_status(), repeat)
        want = f"() => document.body.textContent.includes({newest!r})"
        out["browser"] = time_to_interactive(f"{base}/#/experiments/{exp}/runs", want,
                                             tti_repeat)
        log(f"  mlflow TTI {out['browser']['tti_ms']:.0f} ms")
        return out
    finally:
        stop(proc)
        logf.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=10_000)
    p.add_argument("--keys", type=int, default=200, help="params + metrics per run (half each)")
    p.add_argument("--repeat", type=int, default=20, help="requests per server timing")
    p.add_argument("--tti-repeat", type=int, default=5, help="page loads per browser timing")
    p.add_argument("--skip-mlflow", action="store_true")
    p.add_argument("--reseed", action="store_true")
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    mlflow = not args.skip_mlflow and (MLFLOW_VENV / "bin" / "mlflow").exists()
    if not args.skip_mlflow and not mlflow:
        log(f"no MLflow at {MLFLOW_VENV} (run bench/tracking.py once to install it); "
            "measuring Shipyard only")
    meta = prepare(args.runs, args.keys, reseed=args.reseed, mlflow=mlflow)
    meta["n_runs"] = args.runs
    load = os.getloadavg()[0]
    result: dict[str, Any] = {"runs": args.runs, "keys": args.keys, "load_1m_start": load,
                              "machine": f"{os.cpu_count()} CPUs, Python "
                              f"{platform.python_version()}, {platform.platform()}"}
    log("measuring Shipyard")
    result["shipyard"] = bench_shipyard(meta, args.repeat, args.tti_repeat)
    if mlflow:
        log("measuring MLflow")
        result["mlflow"] = bench_mlflow(meta, args.repeat, args.tti_repeat)
    result["load_1m_end"] = os.getloadavg()[0]
    report(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str))


def _timings(tool: dict[str, Any]) -> None:
    """A tool's server timings (p50 / p90) and its time to interactive."""
    for name, v in tool.items():
        if isinstance(v, dict) and "p50_ms" in v:
            print(f"  {name:<46} {v['p50_ms']:8.1f} ms / {v['p90_ms']:.1f} ms")
    b = tool["browser"]
    print(f"  {'time to interactive in Chromium (median)':<46} {b['tti_ms']:8.0f} ms "
          f"(first row {b['first_row_ms']:.0f} ms, load {b['load_ms']:.0f} ms)")


def report(r: dict[str, Any]) -> None:
    s = r["shipyard"]
    print(f"\nRuns page, {r['runs']:,} runs x {r['keys']} keys "
          f"({r['keys'] // 2} params + {r['keys'] - r['keys'] // 2} metrics per run)\n")
    print(f"{'Shipyard (server time, p50 / p90)':<48} {'':>10}")
    _timings(s)
    b = s["browser"]
    print(f"  {'page size':<46} {s['page_bytes'] / 1024:8.0f} KB")
    if "mlflow" in r:
        m = r["mlflow"]
        print(f"\nMLflow {m['version']} (server time, p50 / p90)")
        _timings(m)
        mb = m["browser"]
        print(f"\nShipyard is {mb['tti_ms'] / b['tti_ms']:.1f}x faster to interactive; its "
              f"whole runs page renders in {s['runs page (first 50 runs)']['p50_ms']:.0f} ms "
              f"vs MLflow's runs search alone "
              f"{m['runs search (first 100 runs, what the UI asks for)']['p50_ms']:.0f} ms.")
    print(f"\nmachine: {r['machine']}; 1-minute load average {r['load_1m_start']:.1f} at "
          f"the start, {r['load_1m_end']:.1f} at the end")


if __name__ == "__main__":
    main()
