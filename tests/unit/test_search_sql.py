"""`compile_search` against a real database, checked by a pure-Python reference evaluator.

A few hundred synthetic runs (params of every type, NaN/inf/missing metrics, tags, deleted
runs, start-time ties) go into SQLite (and PostgreSQL when reachable); every filter, order
and page must return exactly the ids the reference computes over the same data.
"""

from __future__ import annotations

import json
import math
import random
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine, insert, text

from shipyard.backends.metadata.sql import schema
from shipyard.backends.metadata.sql._filters import compile_search
from shipyard.entities.search import And, Comparison, Expr, Field, Not, Or, OrderBy
from shipyard.errors import InvalidArgumentError, InvalidFilterError
from shipyard.tracking._search import STATUSES, parse_filter, parse_order_by

# ------------------------------------------------------------------------- synthetic data

EXPERIMENTS = ["e0", "e1", "e2"]
TEXTS = ["alpha", "Alpha", "beta", "gamma-1", "a_b", "a%b", "x*y", "[br]", "x\\y", "", "0.5"]
PARAMS = [-1, 0, 1, 2, 10, 0.5, 0.001, 1.0, -2.5, True, False, None,
          "adam", "Adam", "sgd", "a_b", "a%b", "x\\y", "0.5", ""]
METRICS = [0.0, 0.5, 1.0, -1.0, 2.5, math.inf, -math.inf, math.nan]
PATTERNS = ["a%", "A%", "%a%", "_lpha", "a\\_b", "a\\%b", "a_b", "%", "", "x\\\\y", "x*y",
            "[br]", "%-_", "ADAM", "ad%", "%\\"]
USERS = [None, "ann", "Ann", "bob"]
T0 = 1_700_000_000_000


@dataclass
class R:
    id: str
    experiment_id: str
    name: str
    status: str
    start_time: int
    end_time: int | None
    user: str | None
    source: str | None
    git_commit: str | None
    parent_id: str | None
    lifecycle: str
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


def make_runs(n: int = 300, seed: int = 7) -> list[R]:
    rng = random.Random(seed)
    runs: list[R] = []
    for _ in range(n):
        start = T0 + rng.randrange(60) * 1000  # many ties: the tie-breakers matter
        run = R(
            id=uuid.UUID(int=rng.getrandbits(128)).hex, experiment_id=rng.choice(EXPERIMENTS),
            name=rng.choice(TEXTS), status=rng.choice(STATUSES), start_time=start,
            end_time=None if rng.random() < 0.2 else start + rng.choice([0, 500, 1500, 60_000]),
            user=rng.choice(USERS), source=rng.choice([None, "train.py", "eval.py"]),
            git_commit=rng.choice([None, "abc123", "ABC999"]),
            parent_id=rng.choice([None, runs[0].id]) if runs else None,
            lifecycle="deleted" if rng.random() < 0.1 else "active",
        )
        run.params = {f"p{k}": rng.choice(PARAMS) for k in range(4) if rng.random() < 0.8}
        run.metrics = {f"m{k}": rng.choice(METRICS) for k in range(4) if rng.random() < 0.8}
        run.tags = {f"t{k}": rng.choice(TEXTS) for k in range(3) if rng.random() < 0.7}
        runs.append(run)
    return runs


RUNS = make_runs()


def load(engine: Engine, runs: list[R]) -> None:
    """Insert ``runs`` the way a store would (params typed into str_value/num_value)."""
    schema.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(schema.experiments),
                     [{"id": e, "name": e, "created_at": T0} for e in EXPERIMENTS])
        conn.execute(insert(schema.runs), [
            {k: getattr(r, k) for k in ("id", "experiment_id", "name", "status", "start_time",
                                        "end_time", "user", "source", "git_commit",
                                        "parent_id", "lifecycle")} for r in runs])
        conn.execute(insert(schema.params), [
            {"run_id": r.id, "key": k, "value": json.dumps(v),
             "str_value": None if v is None else str(v),
             "num_value": None if v is None or isinstance(v, str) else float(v)}
            for r in runs for k, v in r.params.items()])
        conn.execute(insert(schema.latest_metrics), [
            {"run_id": r.id, "key": k, "step": 0, "timestamp": T0,
             "value": None if math.isnan(v) else v}
            for r in runs for k, v in r.metrics.items()])
        conn.execute(insert(schema.tags), [
            {"run_id": r.id, "key": k, "value": v} for r in runs for k, v in r.tags.items()])


@pytest.fixture(scope="module")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = create_engine(f"sqlite:///{tmp_path_factory.mktemp('search') / 'runs.db'}")
    load(engine, RUNS)
    yield engine
    engine.dispose()


# --------------------------------------------------------------------- reference evaluator

MISSING = object()


def like(value: str, pattern: str) -> bool:
    """LIKE with ``%``, ``_`` and ``\\`` escapes; a dangling ``\\`` is literal."""
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return re.fullmatch("".join(out), value, re.S) is not None


def compare(a: Any, op: str, b: Any) -> bool:
    if op == "in":
        return any(compare(a, "=", x) for x in b)
    if op == "like":
        return like(a, b)
    if op == "ilike":
        return like(a.lower(), b.lower())
    return {"=": a == b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def lookup(run: R, f: Field) -> Any:
    """The run's value for ``f``, or MISSING (missing key, None param, NULL attribute)."""
    if f.entity == "attribute":
        if f.key == "duration":
            v = None if run.end_time is None else (run.end_time - run.start_time) / 1000
        else:
            v = getattr(run, f.key)
        return MISSING if v is None else v
    v = {"metric": run.metrics, "param": run.params, "tag": run.tags}[f.entity].get(f.key)
    return MISSING if v is None else v


def positive(v: Any, f: Field, op: str, lit: Any) -> bool:
    if f.entity != "param":
        return compare(v, op, lit)
    lits = lit if op == "in" else (lit,)
    for x in lits:
        if isinstance(x, str):
            if compare(str(v), op if op != "in" else "=", x):
                return True
        elif not isinstance(v, str) and compare(float(v), op if op != "in" else "=", float(x)):
            return True
    return False


NEGATED = {"!=": "=", "not in": "in", "not like": "like"}


def matches(run: R, e: Expr) -> bool:
    if isinstance(e, And):
        return all(matches(run, i) for i in e.items)
    if isinstance(e, Or):
        return any(matches(run, i) for i in e.items)
    if isinstance(e, Not):
        return not matches(run, e.item)
    v = lookup(run, e.field)
    if e.op in ("is null", "is not null"):
        return (v is MISSING) == (e.op == "is null")
    if v is MISSING:
        return False
    if e.op in NEGATED:
        return not positive(v, e.field, NEGATED[e.op], e.value)
    return positive(v, e.field, e.op, e.value)


def stable_sort(runs: list[R], key: Callable[[R], Any], desc: bool) -> list[R]:
    return sorted(runs, key=key, reverse=desc)


def reference(runs: list[R], experiment_ids: Sequence[str], e: Expr | None,
              order_by: Sequence[OrderBy], include_deleted: bool = False,
              deleted_only: bool = False) -> list[str]:
    out = [r for r in runs
           if (not experiment_ids or r.experiment_id in experiment_ids)
           and (r.lifecycle == "deleted" if deleted_only
                else include_deleted or r.lifecycle == "active")
           and (e is None or matches(r, e))]
    out = sorted(out, key=lambda r: r.id)
    out = stable_sort(out, lambda r: r.start_time, desc=True)
    for ob in reversed(order_by):  # stable sorts, last key first; NULLs always last
        def value(r: R, f: Field = ob.field) -> Any:
            v = lookup(r, f)
            if f.entity == "param" and v is not MISSING and not isinstance(v, str):
                return (float(v), str(v))  # SQL: num_value, then str_value
            return MISSING if isinstance(v, float) and math.isnan(v) else v
        groups: list[list[R]] = [[], [], []]
        for r in out:
            v = value(r)
            is_num = ob.field.entity == "param" and not isinstance(v, str)
            groups[2 if v is MISSING else 1 if ob.field.entity == "param" and not is_num
                   else 0].append(r)
        out = [*stable_sort(groups[0], value, ob.descending),
               *stable_sort(groups[1], value, ob.descending), *groups[2]]
    return [r.id for r in out]


def run_search(engine: Engine, experiment_ids: Sequence[str], e: Expr | None,
               order_by: Sequence[OrderBy] = (), *, max_results: int | None = None,
               offset: int = 0, include_deleted: bool = False,
               deleted_only: bool = False) -> list[str]:
    stmt = compile_search(experiment_ids, e, order_by, max_results=max_results, offset=offset,
                          include_deleted=include_deleted, deleted_only=deleted_only,
                          dialect_name=engine.dialect.name)
    with engine.connect() as conn:
        return list(conn.execute(stmt).scalars())


def check(engine: Engine, filter_text: str, order: Sequence[str] = (),
          experiment_ids: Sequence[str] = (), **kw: bool) -> list[str]:
    e, ob = parse_filter(filter_text), parse_order_by(order)
    got = run_search(engine, experiment_ids, e, ob, **kw)
    assert got == reference(RUNS, experiment_ids, e, ob, **kw), (filter_text, order)
    return got


# ---------------------------------------------------------------------------- fixed cases

FILTERS = [
    "", "metrics.m0 > 0.5", "metrics.m0 >= 0.5 and params.p0 = 'adam'", "metrics.m0 != 0.5",
    "metrics.m0 = 1", "metrics.m0 < 0", "metrics.m0 in (0, 1, 2.5)", "metrics.m0 not in (0.5)",
    "metrics.m0 is null", "metrics.m0 is not null", "not metrics.m0 > 0.5",
    "metrics.m9 is null", "metrics.m9 > 0", "not metrics.m9 > 0",
    "params.p0 = 1", "params.p0 = true", "params.p0 = '1'", "params.p0 = 'True'",
    "params.p0 != 1", "params.p0 != 'adam'", "params.p0 < 1", "params.p0 > 'a'",
    "params.p0 like 'a%'", "params.p0 ilike 'a%'", "params.p0 not like '%a%'",
    "params.p0 like 'a\\_b'", "params.p0 like 'a_b'", "params.p0 like 'x\\\\y'",
    "params.p0 like '%\\\\'", "params.p0 like 'x\\\\\\\\y'",
    "params.p0 in (1, 'adam', 0.5)", "params.p0 not in (1, 'adam')",
    "params.p0 is null", "params.p0 is not null", "params.p0 = ''", "params.p0 = '0.5'",
    "tags.t0 = 'alpha'", "tags.t0 like 'A%'", "tags.t0 ilike 'A%'", "tags.t0 like 'x*y'",
    "tags.t0 like '[br]'", "tags.t0 is null", "tags.t0 != 'alpha'", "tags.t0 < 'b'",
    "name like '%a%'", "name ilike 'ALPHA'", "run_name in ('beta', 'a%b')",
    "status = 'FINISHED'", "status != 'running'", "user is null", "user != 'ann'",
    "duration > 1", "duration = 0.5", "duration is null", "duration <= 0",
    f"start_time >= {T0 + 30_000}", f"end_time < {T0 + 10_000}", "end_time is not null",
    "start_time > '2023-11-14T22:13:50Z'", "git_commit ilike 'abc%'", "source = 'train.py'",
    f"parent_id = '{RUNS[0].id}'", f"id in ('{RUNS[1].id}', '{RUNS[2].id}')",
    "metrics.m0 > 0 or params.p1 = 'sgd' and not tags.t1 is null",
    "(metrics.m0 > 0 or params.p1 = 'sgd') and not (tags.t1 = 'beta' or user = 'bob')",
]
ORDERS = [[], ["metrics.m1 DESC"], ["metrics.m1"], ["params.p1"], ["params.p1 desc"],
          ["tags.t0", "metrics.m0 desc"], ["name desc"], ["end_time"], ["duration desc"],
          ["start_time asc"], ["user"], ["metrics.m9"]]


@pytest.mark.parametrize("filter_text", FILTERS)
def test_filter_matches_reference(sqlite_engine: Engine, filter_text: str) -> None:
    check(sqlite_engine, filter_text)


@pytest.mark.parametrize("order", ORDERS, ids=str)
def test_order_matches_reference(sqlite_engine: Engine, order: list[str]) -> None:
    check(sqlite_engine, "metrics.m2 > -1 or params.p2 is not null", order)


def test_nan_metric_fails_comparisons_but_not_negations(sqlite_engine: Engine) -> None:
    nan_ids = {r.id for r in RUNS if math.isnan(r.metrics.get("m0", 0.0))
               and r.lifecycle == "active"}
    assert nan_ids
    assert not nan_ids & set(check(sqlite_engine, "metrics.m0 < 1 or metrics.m0 >= 1"))
    assert nan_ids <= set(check(sqlite_engine, "metrics.m0 != 1"))
    assert not nan_ids & set(check(sqlite_engine, "metrics.m0 is null"))


def test_like_is_case_sensitive_and_ilike_is_not(sqlite_engine: Engine) -> None:
    upper = set(check(sqlite_engine, "tags.t0 like 'Alpha'"))
    both = set(check(sqlite_engine, "tags.t0 ilike 'alpha'"))
    assert upper
    assert upper < both


@pytest.mark.parametrize("order", [["metrics.m0"], ["metrics.m0 desc"], ["params.p0"],
                                   ["params.p0 DESC"], ["end_time desc"], ["tags.t0"]])
def test_runs_without_a_value_sort_last(sqlite_engine: Engine, order: list[str]) -> None:
    ids = check(sqlite_engine, "", order)
    f = parse_order_by(order)[0].field
    by_id = {r.id: r for r in RUNS}
    missing = [lookup(by_id[i], f) is MISSING
               or (isinstance(lookup(by_id[i], f), float) and math.isnan(lookup(by_id[i], f)))
               for i in ids]
    assert any(missing)
    assert missing == sorted(missing)


@pytest.mark.parametrize(("kw", "lifecycles"), [
    ({}, {"active"}), ({"include_deleted": True}, {"active", "deleted"}),
    ({"deleted_only": True}, {"deleted"}),
])
def test_lifecycle(sqlite_engine: Engine, kw: dict[str, bool], lifecycles: set[str]) -> None:
    ids = check(sqlite_engine, "", **kw)
    assert {r.lifecycle for r in RUNS if r.id in ids} == lifecycles


def test_experiment_ids(sqlite_engine: Engine) -> None:
    everything = check(sqlite_engine, "", experiment_ids=())
    some = check(sqlite_engine, "", experiment_ids=["e0", "e2"])
    assert set(some) < set(everything)
    assert check(sqlite_engine, "", experiment_ids=["nope"]) == []


@pytest.mark.parametrize(("text", "order"), [
    ("", []), ("metrics.m0 > 0", ["metrics.m1 desc"]), ("", ["params.p1", "tags.t0 desc"]),
    ("params.p0 is not null", ["start_time"]),
])
@pytest.mark.parametrize("page", [3, 7, 50])
def test_pages_concatenate_to_the_full_list(sqlite_engine: Engine, text: str,
                                            order: list[str], page: int) -> None:
    e, ob = parse_filter(text), parse_order_by(order)
    full = run_search(sqlite_engine, [], e, ob)
    pages: list[str] = []
    for offset in range(0, len(full) + page, page):
        pages += run_search(sqlite_engine, [], e, ob, max_results=page, offset=offset)
    assert pages == full


def test_rejects_negative_paging() -> None:
    with pytest.raises(InvalidArgumentError):
        compile_search([], None, [], max_results=-1, dialect_name="sqlite")
    with pytest.raises(InvalidArgumentError):
        compile_search([], None, [], max_results=1, offset=-1, dialect_name="sqlite")


def test_selects_only_the_run_id() -> None:
    stmt = compile_search(["e0"], parse_filter("metrics.a > 1"), parse_order_by(["tags.t"]),
                          max_results=10, dialect_name="postgresql")
    assert [c.name for c in stmt.selected_columns] == ["id"]


# ------------------------------------------------------------------- generated filters

def field_values(entity: str, key: str) -> tuple[st.SearchStrategy[Any], list[str]]:
    """Values (drawn from the data, so filters match something) and the allowed ops."""
    base = ["=", "!=", "<", "<=", ">", ">=", "in", "not in", "is null", "is not null"]
    likes = ["like", "ilike", "not like"]
    if entity == "metric":
        return st.sampled_from([v for v in METRICS if math.isfinite(v)] + [0.25, 3]), base
    if entity == "param":
        return st.sampled_from([p for p in PARAMS if p is not None]), base + likes
    if entity == "tag" or key in ("name", "source", "git_commit", "user"):
        return st.sampled_from([t for t in TEXTS + USERS if t is not None]), base + likes
    if key == "status":
        return st.sampled_from(STATUSES), ["=", "!=", "in", "not in"]
    if key == "duration":
        return st.sampled_from([0, 0.5, 1.5, 60, 2]), base
    return st.integers(T0 - 1000, T0 + 120_000), base  # start_time, end_time


@st.composite
def comparisons(draw: st.DrawFn) -> Comparison:
    entity = draw(st.sampled_from(["metric", "param", "tag", "attribute"]))
    key = draw(st.sampled_from(
        {"metric": ["m0", "m1", "m2", "m3", "m9"], "param": ["p0", "p1", "p2", "p9"],
         "tag": ["t0", "t1", "t9"],
         "attribute": ["name", "status", "user", "source", "git_commit", "start_time",
                       "end_time", "duration"]}[entity]))
    values, ops = field_values(entity, key)
    op = draw(st.sampled_from(ops))
    f = Field(entity, key)  # type: ignore[arg-type]
    if op in ("is null", "is not null"):
        return Comparison(f, op)
    if op in ("like", "ilike", "not like"):
        return Comparison(f, op, draw(st.sampled_from(PATTERNS)))
    if op in ("in", "not in"):
        return Comparison(f, op, tuple(draw(st.lists(values, min_size=1, max_size=3))))
    return Comparison(f, op, draw(values))  # type: ignore[arg-type]


exprs = st.recursive(
    comparisons(),
    lambda inner: (st.lists(inner, min_size=2, max_size=3).map(lambda i: And(tuple(i)))
                   | st.lists(inner, min_size=2, max_size=3).map(lambda i: Or(tuple(i)))
                   | inner.map(Not)),
    max_leaves=6,
)
orders = st.lists(st.builds(OrderBy, comparisons().map(lambda c: c.field), st.booleans()),
                  max_size=2)
experiment_sets = st.lists(st.sampled_from(EXPERIMENTS), max_size=2, unique=True)
lifecycles = st.sampled_from([{}, {"include_deleted": True}, {"deleted_only": True}])


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(exprs, orders, experiment_sets, lifecycles)
def test_generated_filters_match_reference(sqlite_engine: Engine, e: Expr,
                                           order_by: list[OrderBy], exps: list[str],
                                           kw: dict[str, bool]) -> None:
    assert run_search(sqlite_engine, exps, e, order_by, **kw) == \
        reference(RUNS, exps, e, order_by, **kw)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(exprs, orders, st.integers(10, 60))
def test_generated_pages_concatenate(sqlite_engine: Engine, e: Expr,
                                     order_by: list[OrderBy], page: int) -> None:
    full = run_search(sqlite_engine, [], e, order_by)
    pages: list[str] = []
    for offset in range(0, len(full) + 1, page):
        pages += run_search(sqlite_engine, [], e, order_by, max_results=page, offset=offset)
    assert pages == full


TOKENS = ["metrics.m0", "params.p0", "tags.t0", "status", "name", "duration", "start_time",
          "and", "or", "not", "(", ")", ",", "=", "!=", "<", ">=", "like", "ilike", "in", "is",
          "null", "true", "1", "-2.5e3", "'alpha'", "'a%'", "'running'", "'2026-01-01'",
          "99999999999999999999", "1e999"]


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(TOKENS), max_size=9).map(" ".join))
def test_anything_that_parses_runs(sqlite_engine: Engine, text: str) -> None:
    """Whatever the parser accepts, the database accepts (no driver error leaks out)."""
    try:
        e = parse_filter(text)
    except InvalidFilterError:
        return
    assert run_search(sqlite_engine, [], e) == reference(RUNS, [], e, [])


# -------------------------------------------------------------------------- PostgreSQL

@pytest.fixture(scope="module")
def pg_engine(postgres_url: str) -> Iterator[Engine]:
    """The synthetic runs in a private schema of the session's database."""
    name = f"search_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    engine = create_engine(postgres_url, connect_args={"options": f"-csearch_path={name}"})
    try:
        load(engine, RUNS)
        with engine.connect() as conn:
            collation = conn.execute(text("SHOW lc_collate")).scalar()
        if collation not in ("C", "C.UTF-8", "C.utf8", "POSIX"):
            pytest.skip(f"string order depends on the collation ({collation}); needs C")
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("filter_text", FILTERS)
def test_postgres_filter_matches_reference(pg_engine: Engine, filter_text: str) -> None:
    check(pg_engine, filter_text, ["metrics.m1 desc"])


@pytest.mark.postgres
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(exprs, orders, experiment_sets)
def test_postgres_generated_filters_match_reference(pg_engine: Engine, e: Expr,
                                                    order_by: list[OrderBy],
                                                    exps: list[str]) -> None:
    assert run_search(pg_engine, exps, e, order_by) == reference(RUNS, exps, e, order_by)
