"""Translate a search AST into one SQL query that returns matching run ids, in order.

Filter comparisons on metrics/params/tags become correlated EXISTS probes on the
(run_id, key) primary key; each order-by key becomes one LEFT OUTER JOIN with the key in the
ON clause (the PK means a join never multiplies rows). Measured on SQLite with 10k runs, the
EXISTS form is ~2.5x faster than filtering through joins: the planner then scans runs and
probes, instead of walking a value index and paying two random lookups per hit; PostgreSQL
turns top-level EXISTS into hash semi-joins either way.

Semantics are two-valued (no SQL NULL leaks into NOT): a comparison matches only runs that
have a value (a NaN metric fails every comparison except the negated ones, as in Python);
``!=``, ``NOT IN`` and ``NOT LIKE`` match runs that have the key but not the value; only
``IS NULL`` matches runs without the key (a param logged as None counts as missing). LIKE is
case-sensitive on every database (GLOB on SQLite), with ``\\`` as its escape character.
Ordering puts runs without a value last in both directions; params sort numbers first
(numerically), then strings.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence

from sqlalchemy import (
    ColumnElement,
    Float,
    FromClause,
    Select,
    and_,
    cast,
    exists,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
)

from shipyard.backends.metadata.sql.schema import latest_metrics, params, runs, tags
from shipyard.entities.search import And, Comparison, Expr, Field, Not, Or, OrderBy
from shipyard.errors import invalid

__all__ = ["compile_search"]

_NULLABLE_ATTRS = {"end_time", "user", "parent_id", "source", "git_commit", "duration"}
_TABLES = {"metric": latest_metrics, "param": params, "tag": tags}


def _fix_escape(pattern: str) -> str:
    """Make a dangling trailing backslash literal (databases reject it as an escape)."""
    stripped = pattern.rstrip("\\")
    return pattern + "\\" if (len(pattern) - len(stripped)) % 2 else pattern


def _like_to_glob(pattern: str) -> str:
    """SQLite's LIKE ignores ASCII case; GLOB does not, so case-sensitive LIKE uses it."""
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            i += 1
            ch = pattern[i]
            out.append(f"[{ch}]" if ch in "*?[" else ch)
        elif ch == "%":
            out.append("*")
        elif ch == "_":
            out.append("?")
        else:
            out.append(f"[{ch}]" if ch in "*?[" else ch)
        i += 1
    return "".join(out)


class _Compiler:
    def __init__(self, dialect_name: str) -> None:
        self.dialect = dialect_name
        self.joins: dict[tuple[str, str], FromClause] = {}

    def alias(self, field: Field) -> FromClause:
        """The joined row of ``field``'s table for that key (one LEFT JOIN per key)."""
        k = (field.entity, field.key)
        if k not in self.joins:
            self.joins[k] = _TABLES[field.entity].alias(f"{field.entity[0]}{len(self.joins)}")
        return self.joins[k]

    def from_clause(self, base: FromClause | None = None) -> FromClause:
        src: FromClause = runs if base is None else base
        for (_, key), a in self.joins.items():
            src = src.outerjoin(a, and_(a.c.run_id == runs.c.id, a.c.key == key))
        return src

    def attribute(self, name: str) -> ColumnElement:
        if name == "duration":
            return cast(runs.c.end_time - runs.c.start_time, Float) / literal_column("1000.0")
        return runs.c[name]

    def expr(self, node: Expr) -> ColumnElement[bool]:
        if isinstance(node, And):
            return and_(*(self.expr(i) for i in node.items))
        if isinstance(node, Or):
            return or_(*(self.expr(i) for i in node.items))
        if isinstance(node, Not):
            return not_(self.expr(node.item))
        return self.comparison(node)

    def comparison(self, c: Comparison) -> ColumnElement[bool]:
        f = c.field
        values = list(c.value) if isinstance(c.value, tuple) else [c.value]
        positive_op = _NEGATED.get(c.op, c.op)
        if f.entity == "attribute":
            col = self.attribute(f.key)
            if c.op in ("is null", "is not null"):
                return col.is_(None) if c.op == "is null" else col.isnot(None)
            if f.key == "duration":
                values = [float(v) for v in values]  # type: ignore[arg-type]
            if c.op in _NEGATED:
                return and_(col.isnot(None), not_(self.test(col, positive_op, values)))
            return self.test(col, c.op, values)
        t = _TABLES[f.entity].alias()
        row = [t.c.run_id == runs.c.id, t.c.key == f.key]
        if f.entity == "param":
            row.append(t.c.value != "null")  # a param logged as None counts as missing
        if c.op in ("is null", "is not null"):
            found = exists().where(*row)
            return ~found if c.op == "is null" else found
        if f.entity == "param":  # numbers compare num_value, strings str_value
            # None never gets here: the parser turns "= null" into IS NULL
            nums = [float(v) for v in values if not isinstance(v, str)]  # type: ignore[arg-type]
            strs = [v for v in values if isinstance(v, str)]
            parts = [self.test(t.c.num_value, positive_op, nums)] if nums else []
            parts += [self.test(t.c.str_value, positive_op, strs)] if strs else []
            cond = or_(*parts)
        else:
            vals = [float(v) for v in values] if f.entity == "metric" else values  # type: ignore[arg-type]
            cond = self.test(t.c.value, positive_op, vals)
        return exists().where(*row, not_(cond) if c.op in _NEGATED else cond)

    def test(self, col: ColumnElement, op: str, values: list) -> ColumnElement[bool]:
        """``col op value`` that is false, never NULL, when ``col`` is NULL."""
        v = values[0]
        if op == "in":
            cond = col.in_(values)
        elif op == "like":
            pat = _fix_escape(v)
            cond = (col.op("GLOB")(_like_to_glob(pat)) if self.dialect == "sqlite"
                    else col.like(pat, escape="\\"))
        elif op == "ilike":
            cond = func.lower(col).like(func.lower(literal(_fix_escape(v))), escape="\\")
        else:
            cond = _OPS[op](col, v)
        return and_(col.isnot(None), cond)

    def order(self, ob: OrderBy) -> list[ColumnElement]:
        """Sort keys for ``ob``: runs without a value always last, whatever the direction."""
        f = ob.field

        def d(col: ColumnElement) -> ColumnElement:
            return col.desc() if ob.descending else col.asc()

        if f.entity == "attribute":
            col = self.attribute(f.key)
            return [col.is_(None), d(col)] if f.key in _NULLABLE_ATTRS else [d(col)]
        a = self.alias(f)
        if f.entity == "param":  # numbers first (numerically), then strings
            num, txt = a.c.num_value, a.c.str_value
            return [and_(num.is_(None), txt.is_(None)), num.is_(None), d(num), d(txt)]
        return [a.c.value.is_(None), d(a.c.value)]


_NEGATED = {"!=": "=", "not in": "in", "not like": "like"}
_OPS = {"=": operator.eq, "<": operator.lt, "<=": operator.le, ">": operator.gt,
        ">=": operator.ge}


def compile_search(
    experiment_ids: Sequence[str], filter: Expr | None, order_by: Sequence[OrderBy], *,
    max_results: int | None, offset: int = 0, include_deleted: bool = False,
    deleted_only: bool = False, dialect_name: str, part: str = "all",
) -> Select[str]:
    """SELECT of ``runs.id`` for one page of a search (the store loads the runs after).

    ``experiment_ids`` empty means every experiment. Ties always break on start time (newest
    first) then id, so offset pagination is stable.

    ``part`` splits a search ordered first by a metric into the runs that have a value for
    it (``"head"``: an inner join the database can walk in index order and stop early) and
    those that do not (``"tail"``, which sorts after the head); ``"all"`` is both at once.
    """
    if max_results is not None and max_results < 0:
        arg = "max_results"
        raise invalid(arg, max_results, "a non-negative integer or None")
    if offset < 0:
        arg = "offset"
        raise invalid(arg, offset, "a non-negative integer")
    c = _Compiler(dialect_name)
    where: list[ColumnElement[bool]] = []
    if experiment_ids:
        where.append(runs.c.experiment_id.in_(list(experiment_ids)))
    if deleted_only:
        where.append(runs.c.lifecycle == "deleted")
    elif not include_deleted:
        where.append(runs.c.lifecycle == "active")
    if filter is not None:
        where.append(c.expr(filter))
    keys: list[ColumnElement] = []
    source: FromClause | None = None
    rest = list(order_by)
    if part != "all":
        first = rest.pop(0)
        if first.field.entity != "metric":
            msg = f"part={part!r} needs a search ordered first by a metric"
            raise ValueError(msg)
        lm = _TABLES["metric"]
        if part == "head":
            m = lm.alias("m_first")
            source = runs.join(m, and_(m.c.run_id == runs.c.id, m.c.key == first.field.key))
            where.append(m.c.value.isnot(None))
            keys.append(m.c.value.desc() if first.descending else m.c.value.asc())
        else:
            t = lm.alias("m_first")
            where.append(~exists().where(t.c.run_id == runs.c.id, t.c.key == first.field.key,
                                         t.c.value.isnot(None)))
    keys += [k for ob in rest for k in c.order(ob)]
    src = c.from_clause(source)
    stmt = (select(runs.c.id).select_from(src).where(*where)
            .order_by(*keys, runs.c.start_time.desc(), runs.c.id.asc()))
    if max_results is not None:
        stmt = stmt.limit(max_results)
    if offset:
        stmt = stmt.offset(offset)
    return stmt
