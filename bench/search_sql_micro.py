"""Micro-benchmark of `compile_search` on SQLite (and PostgreSQL when a URL is given).

10,000 runs with 5 params and 5 metrics each; filter ``metrics.m0 > 0.5 and params.p0 = 'x'``
ordered by ``metrics.m1 DESC``, limit 100. Target: well under 50 ms on SQLite.

    python bench/search_sql_micro.py [postgresql+psycopg://...]
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, insert, text

from shipyard.backends.metadata.sql import schema
from shipyard.backends.metadata.sql._filters import compile_search
from shipyard.tracking._search import parse_filter, parse_order_by

N_RUNS, N_KEYS, REPEAT = 10_000, 5, 20


def populate(engine) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(0)
    schema.metadata.drop_all(engine)
    schema.metadata.create_all(engine)
    run_rows, param_rows, metric_rows = [], [], []
    for i in range(N_RUNS):
        rid = f"{i:032x}"
        run_rows.append({"id": rid, "experiment_id": "e0", "name": f"run-{i}", "status": "finished",
                         "start_time": 1_700_000_000_000 + i * 1000, "lifecycle": "active"})
        for k in range(N_KEYS):
            s = rng.choice("xyz")
            param_rows.append({"run_id": rid, "key": f"p{k}", "value": f'"{s}"', "str_value": s})
            metric_rows.append({"run_id": rid, "key": f"m{k}", "step": 0, "timestamp": 0,
                                "value": rng.random()})
    with engine.begin() as conn:
        conn.execute(insert(schema.experiments), [{"id": "e0", "name": "e0", "created_at": 0}])
        conn.execute(insert(schema.runs), run_rows)
        conn.execute(insert(schema.params), param_rows)
        conn.execute(insert(schema.latest_metrics), metric_rows)
        conn.execute(text("ANALYZE"))


def bench(url: str) -> None:
    engine = create_engine(url)
    populate(engine)
    stmt = compile_search(["e0"], parse_filter("metrics.m0 > 0.5 and params.p0 = 'x'"),
                          parse_order_by(["metrics.m1 DESC"]), max_results=100, offset=0,
                          dialect_name=engine.dialect.name)
    with engine.connect() as conn:
        conn.execute(stmt).all()  # warm up
        times = []
        for _ in range(REPEAT):
            t0 = time.perf_counter()
            ids = conn.execute(stmt).scalars().all()
            times.append(time.perf_counter() - t0)
    times.sort()
    print(f"{engine.dialect.name}: {len(ids)} ids, median {times[len(times) // 2] * 1e3:.1f} ms, "
          f"min {times[0] * 1e3:.1f} ms")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as d:
        bench(f"sqlite:///{Path(d) / 'bench.db'}")
    for pg_url in sys.argv[1:]:
        bench(pg_url)
