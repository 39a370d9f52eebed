"""Web UI benchmark with long metric series: the issue's store of 10,000 runs x 20 metrics x
1,000 steps (200 million points), the runs page and one run's page with its metric charts.

    .venv/bin/python bench/ui_metrics.py              # 10,000 x 20 x 1,000 (~30 min to fill)
    .venv/bin/python bench/ui_metrics.py --runs 1000  # a smaller store
    .venv/bin/python bench/ui_metrics.py --fill-only  # fill the store, time nothing

The store is filled through Shipyard's own API (``TrackingService.log_batch``, one call of
20,000 points per run) into ``.bench/ui-metrics/<runs>x<metrics>x<steps>/`` and reused on the
next run (``--reseed`` rebuilds it). Timed, in process through the ASGI app (server time
only, no network): the runs page (first 50 runs, ordered by start time, and sorted by a metric)
and a run's page, which embeds the default charts (the first metrics' full histories,
thinned to the chart's point budget), plus the JSON history of one metric. p50 / p90 of
``--repeat`` requests after one warm-up each. Targets from the issue: the runs page under
300 ms, a run's metric chart under 500 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ui import timed  # bench/ui.py: warm-up, then p50 / p90 of `repeat` calls

ROOT = Path(__file__).resolve().parents[1]


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def fill(home: Path, runs: int, metrics: int, steps: int) -> str:
    """Create the store; returns the experiment id."""
    from shipyard import Metric
    from shipyard.client import Client
    from shipyard.entities.tracking import RunContext

    with Client(home=home) as client:
        svc = client.tracking
        exp = svc.get_or_create_experiment("long-series")
        t0 = time.perf_counter()
        base = datetime(2026, 1, 1, tzinfo=UTC)
        stamps = [base + timedelta(seconds=s) for s in range(steps)]
        for i in range(runs):
            run = svc.create_run(experiment=exp.id, name=f"run-{i}", context=RunContext())
            points = [Metric(key=f"m{k:02d}", value=(k + 1) / (s + 1) + i * 1e-6, step=s,
                             timestamp=stamps[s]) for k in range(metrics) for s in range(steps)]
            svc.log_batch(run.id, metrics=points, params={"lr": 0.001 * (i % 10), "i": i})
            svc.end_run(run.id)
            if (i + 1) % 500 == 0:
                done = time.perf_counter() - t0
                log(f"  {i + 1:,} runs ({(i + 1) * metrics * steps / done:,.0f} points/s, "
                    f"~{done / (i + 1) * (runs - i - 1):.0f} s left)")
        return exp.id


def measure(home: Path, exp_id: str, repeat: int) -> dict[str, Any]:
    from starlette.testclient import TestClient

    from shipyard.client import Client
    from shipyard.server import create_app

    out: dict[str, Any] = {}
    with Client(home=home) as client, TestClient(create_app(client, auth=False)) as http:
        run_id = client.tracking.search_runs([exp_id], max_results=1).items[0].id

        def get(url: str) -> Any:
            def call() -> None:
                r = http.get(url)
                assert r.status_code == 200, (url, r.status_code, r.text[:300])
            return call

        cases = {
            "runs page (first 50 runs)": f"/experiments/{exp_id}",
            "runs page sorted by a metric": f"/experiments/{exp_id}?order=metrics.m00+DESC",
            "run page with its metric charts": f"/runs/{run_id}",
            "one metric's history as JSON (1,000 points)": (
                f"/api/v1/runs/{run_id}/metric-history?key=m00"),
        }
        for label, url in cases.items():
            out[label] = timed(get(url), repeat)
            log(f"{label}: p50 {out[label]['p50_ms']:.1f} ms, p90 {out[label]['p90_ms']:.1f} ms")
        # a different run each time, spread over the store: none of its pages read before
        others = iter(r.id for r in client.tracking.search_runs(
            [exp_id], max_results=5000).items[97::233])
        label = "run page, a different run each request"
        out[label] = timed(lambda: get(f"/runs/{next(others)}")(), repeat)
        log(f"{label}: p50 {out[label]['p50_ms']:.1f} ms, p90 {out[label]['p90_ms']:.1f} ms")
        page = http.get(f"/runs/{run_id}").text
        out["run page bytes"] = len(page)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=10_000)
    p.add_argument("--metrics", type=int, default=20)
    p.add_argument("--steps", type=int, default=1_000)
    p.add_argument("--repeat", type=int, default=20)
    p.add_argument("--reseed", action="store_true")
    p.add_argument("--fill-only", action="store_true")
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    folder = ROOT / ".bench" / "ui-metrics" / f"{args.runs}x{args.metrics}x{args.steps}"
    marker = folder / "filled.json"
    if args.reseed and folder.exists():
        shutil.rmtree(folder)
    if not marker.exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        log(f"filling {args.runs:,} runs x {args.metrics} metrics x {args.steps:,} steps "
            f"into {folder} ...")
        t0 = time.perf_counter()
        exp_id = fill(folder / ".shipyard", args.runs, args.metrics, args.steps)
        marker.write_text(json.dumps({"experiment_id": exp_id,
                                      "fill_seconds": time.perf_counter() - t0}))
    info = json.loads(marker.read_text())
    db = folder / ".shipyard" / "shipyard.db"
    log(f"store: {db.stat().st_size / 2**30:.1f} GiB, filled in {info['fill_seconds']:.0f} s")
    if args.fill_only:
        return 0
    load = os.getloadavg()
    results = measure(folder / ".shipyard", info["experiment_id"], args.repeat)
    print(f"\n{args.runs:,} runs x {args.metrics} metrics x {args.steps:,} steps "
          f"({args.runs * args.metrics * args.steps:,} points, SQLite "
          f"{db.stat().st_size / 2**30:.1f} GiB), server time in process, "
          f"{args.repeat} requests each\n")
    print(f"{'page':48} {'p50 ms':>8} {'p90 ms':>8}")
    for label, r in results.items():
        if isinstance(r, dict):
            print(f"{label:48} {r['p50_ms']:8.1f} {r['p90_ms']:8.1f}")
    print(f"\nrun page size: {results['run page bytes'] / 1024:.0f} KB; load average "
          f"{load[0]:.2f} -> {os.getloadavg()[0]:.2f}")
    print("targets: runs page < 300 ms, a run's metric chart < 500 ms")
    if args.json:
        args.json.write_text(json.dumps({"args": vars(args) | {"json": str(args.json)},
                                         "results": results, "load": load}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
