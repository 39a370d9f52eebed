"""The parsed form of a run search filter and order-by clauses (see shipyard.tracking.search).

Stores translate these nodes to their own query language; the parser builds them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Entity = Literal["metric", "param", "tag", "attribute"]
Operator = Literal["=", "!=", "<", "<=", ">", ">=", "like", "ilike", "not like", "in", "not in",
                   "is null", "is not null"]
Literal_ = str | int | float | bool | None

ATTRIBUTES = ("id", "name", "status", "start_time", "end_time", "user", "experiment_id",
              "parent_id", "source", "git_commit", "duration")


@dataclass(frozen=True, slots=True)
class Field:
    """What a comparison reads: ``metrics.acc`` -> Field("metric", "acc")."""

    entity: Entity
    key: str


@dataclass(frozen=True, slots=True)
class Comparison:
    field: Field
    op: Operator
    value: Literal_ | tuple[Literal_, ...] = None


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Expr


Expr = Comparison | And | Or | Not


@dataclass(frozen=True, slots=True)
class OrderBy:
    field: Field
    descending: bool = False


# -- rendering: the AST back to filter text (remote stores send text over the wire) ----------
_PREFIX = {"metric": "metrics", "param": "params", "tag": "tags", "attribute": "attributes"}
_OPS = {"like": "LIKE", "ilike": "ILIKE", "not like": "NOT LIKE"}
_HUGE = "1e999"  # parses to float('inf'); the language has no other spelling of infinity


def _quote(text: str, quote: str) -> str:
    escaped = text.replace("\\", "\\\\").replace(quote, quote * 2)
    return f"{quote}{escaped}{quote}"


def render_field(field: Field) -> str:
    """``Field("metric", "val loss")`` -> ``metrics.`val loss```; keys are always quoted."""
    if field.entity == "attribute":
        return f"attributes.{field.key}"
    return f"{_PREFIX[field.entity]}.{_quote(field.key, '`')}"


def render_value(value: Literal_) -> str:
    """A literal as the filter language spells it (strings single-quoted, floats by repr)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:  # NaN: the language cannot express it
            msg = "A NaN literal cannot be written in a search filter."
            raise ValueError(msg)
        if value in (float("inf"), float("-inf")):
            return _HUGE if value > 0 else f"-{_HUGE}"
        return repr(value)
    return _quote(value, "'")


def _render_comparison(cmp: Comparison) -> str:
    left = render_field(cmp.field)
    if cmp.op in ("is null", "is not null"):
        return f"{left} {cmp.op.upper()}"
    if cmp.op in ("in", "not in"):
        items = cmp.value if isinstance(cmp.value, tuple) else (cmp.value,)
        joined = ", ".join(render_value(v) for v in items)
        return f"{left} {cmp.op.upper()} ({joined})"
    return f"{left} {_OPS.get(cmp.op, cmp.op)} {render_value(cmp.value)}"  # type: ignore[arg-type]


def _render_child(expr: Expr) -> str:
    return _render_comparison(expr) if isinstance(expr, Comparison) else f"({render(expr)})"


def render(expr: Expr | None) -> str:
    """Filter text that parses back to ``expr`` (the empty string for None).

    Compound children are parenthesized, so the nesting of the tree survives a round trip
    through ``shipyard.tracking`` 's parser exactly.
    """
    if expr is None:
        return ""
    if isinstance(expr, Comparison):
        return _render_comparison(expr)
    if isinstance(expr, Not):
        return f"NOT ({render(expr.item)})"
    joiner = " AND " if isinstance(expr, And) else " OR "
    return joiner.join(_render_child(item) for item in expr.items)


def render_order(order_by: Sequence[OrderBy]) -> list[str]:
    """``[OrderBy(Field("metric", "acc"), True)]`` -> ``["metrics.`acc` DESC"]``."""
    return [f"{render_field(o.field)} {'DESC' if o.descending else 'ASC'}" for o in order_by]
