"""Both query plans of the SQL store's `list_run_keys` (a plain DISTINCT over the
experiments' rows, and a loose index scan over the whole table) give the same keys, on
SQLite and PostgreSQL; which one runs depends on the experiments' share of all runs."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shipyard.backends.metadata.sql import _keys
from shipyard.entities._ids import utc_now
from shipyard.entities.tracking import Metric, RunContext
from shipyard.stores.metadata import MetadataStore


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path, migrated_sqlite: Path) -> Iterator[Any]:
    if request.param == "sqlite":
        from shipyard.backends.metadata.sql.sqlite import SQLiteMetadataStore

        shutil.copy(migrated_sqlite, tmp_path / "meta.db")
        s = SQLiteMetadataStore.from_uri(f"sqlite:///{tmp_path / 'meta.db'}")
    else:
        from shipyard.backends.metadata.sql.postgresql import PostgresMetadataStore

        s = PostgresMetadataStore.from_uri(request.getfixturevalue("postgres_url"))
    yield s
    s.close()


def _run(store: Any, exp: str, metrics: list[str], params: dict[str, Any],
         tags: dict[str, str]) -> None:
    run = store.create_run(experiment_id=exp, name="r", start_time=utc_now(),
                           context=RunContext())
    store.log_batch(run.id, params=params, tags=tags, metrics=[
        Metric(key=k, value=1.0, step=step, timestamp=utc_now())
        for k in metrics for step in (0, 1)])


def test_plain_and_loose_plans_agree(store: Any) -> None:
    tag = uuid.uuid4().hex[:6]
    big = store.create_experiment(f"big-{tag}").id
    small = store.create_experiment(f"small-{tag}").id
    for i in range(6):
        _run(store, big, [f"m{i % 3}-{tag}", f"shared-{tag}"], {f"p{i % 2}-{tag}": i},
             {f"t-{tag}": "x"})
    _run(store, small, [f"shared-{tag}", f"only-small-{tag}"], {f"ps-{tag}": 1}, {})
    want = {
        big: {"metrics": sorted([f"m0-{tag}", f"m1-{tag}", f"m2-{tag}", f"shared-{tag}"]),
              "params": [f"p0-{tag}", f"p1-{tag}"]},
        small: {"metrics": sorted([f"only-small-{tag}", f"shared-{tag}"]),
                "params": [f"ps-{tag}"]},
    }
    with store.engine.connect() as conn:
        for exp, expected in want.items():
            for kind, table, indexed in _keys.KINDS:
                plain = sorted(r[0] for r in conn.execute(_keys._plain(table, [exp])))
                if kind in expected:
                    assert plain == expected[kind], (kind, exp)
                if indexed:
                    loose = sorted(r[0] for r in conn.execute(_keys._loose(table, [exp])))
                    assert loose == expected[kind], (kind, exp)
            got = store.list_run_keys([exp])
            assert got["metrics"] == expected["metrics"]
            assert got["params"] == expected["params"]
    assert store.list_run_keys([big])["tags"] == [f"t-{tag}"]
    # the port's generic answer (paging through search_runs) agrees with the queries
    assert MetadataStore.list_run_keys(store, [big, small]) == store.list_run_keys(
        [big, small])
