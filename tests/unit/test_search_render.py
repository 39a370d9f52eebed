"""render() turns a search AST back into filter text that parses to the same AST (the remote
store sends filters as text)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipyard.entities.search import (
    And,
    Comparison,
    Expr,
    Field,
    Not,
    Or,
    OrderBy,
    render,
    render_order,
)
from shipyard.tracking._search import (
    STATUSES,
    STRING_ATTRS,
    TIME_ATTRS,
    parse_filter,
    parse_order_by,
)

keys = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1,
               max_size=12)
strings = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
finite = st.floats(allow_nan=False, allow_infinity=True)
ints = st.integers(min_value=-(2**63), max_value=2**63 - 1)
numbers = st.one_of(ints, finite)
NUM_ATTRS = sorted(TIME_ATTRS | {"duration"})


@st.composite
def comparisons(draw: st.DrawFn) -> Comparison:
    entity = draw(st.sampled_from(["metric", "param", "tag", "attribute"]))
    if entity == "attribute":
        key = draw(st.sampled_from(sorted(STRING_ATTRS) + NUM_ATTRS))
    else:
        key = draw(keys)
    field = Field(entity, key)  # type: ignore[arg-type]
    numeric = entity == "metric" or (entity == "attribute" and key in NUM_ATTRS)
    if numeric:
        value_st = ints if key in TIME_ATTRS else numbers
    elif entity == "param":
        value_st = st.one_of(strings, numbers, st.booleans())
    elif key == "status":
        value_st = st.sampled_from(STATUSES)
    else:
        value_st = strings
    ops = ["=", "!=", "<", "<=", ">", ">=", "in", "not in", "is null", "is not null"]
    if not numeric:
        ops += ["like", "ilike", "not like"]
    op = draw(st.sampled_from(ops))
    if op in ("is null", "is not null"):
        return Comparison(field, op)  # type: ignore[arg-type]
    if op in ("like", "ilike", "not like"):
        return Comparison(field, op, draw(st.sampled_from(STATUSES) if key == "status"  # type: ignore[arg-type]
                                          else strings))
    if op in ("in", "not in"):
        return Comparison(field, op, tuple(draw(st.lists(value_st, min_size=1, max_size=3))))  # type: ignore[arg-type]
    return Comparison(field, op, draw(value_st))  # type: ignore[arg-type]


exprs: st.SearchStrategy[Expr] = st.recursive(
    comparisons(),
    lambda inner: st.one_of(
        st.builds(lambda items: And(tuple(items)), st.lists(inner, min_size=2, max_size=3)),
        st.builds(lambda items: Or(tuple(items)), st.lists(inner, min_size=2, max_size=3)),
        st.builds(Not, inner),
    ),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None)
@given(exprs)
def test_render_parses_back_to_the_same_tree(expr: Expr) -> None:
    assert parse_filter(render(expr)) == expr


@settings(max_examples=100, deadline=None)
@given(st.lists(st.builds(OrderBy, st.builds(Field, st.sampled_from(["metric", "param", "tag"]),
                                              keys), st.booleans()), max_size=3))
def test_render_order_parses_back(order: list[OrderBy]) -> None:
    assert parse_order_by(render_order(order)) == order


def test_render_of_nothing_is_empty() -> None:
    assert render(None) == ""
    assert parse_filter(render(None)) is None


@pytest.mark.parametrize("text", [
    "metrics.acc > 0.9 and (params.opt = 'adam' or tags.t like 'a%')",
    "not (status = 'running') and start_time >= '2024-01-01T00:00:00Z'",
    "metrics.`val loss` in (1, 2.5, 1e999) and params.`it's` is not null",
])
def test_render_round_trips_parsed_filters(text: str) -> None:
    expr = parse_filter(text)
    assert parse_filter(render(expr)) == expr


def test_render_refuses_nan() -> None:
    with pytest.raises(ValueError, match="NaN"):
        render(Comparison(Field("metric", "m"), "=", float("nan")))
