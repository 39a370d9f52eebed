"""The search filter language: parse results, precedence, normalization and error messages."""

from __future__ import annotations

import contextlib
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipyard.entities.search import And, Comparison, Expr, Field, Not, Or, OrderBy
from shipyard.errors import InvalidArgumentError, InvalidFilterError
from shipyard.tracking._search import STATUSES, parse_filter, parse_order_by

M, P, T, A = (lambda k: Field("metric", k)), (lambda k: Field("param", k)), \
    (lambda k: Field("tag", k)), (lambda k: Field("attribute", k))


def C(field: Field, op: str, value: object = None) -> Comparison:
    return Comparison(field, op, value)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------- parsing

@pytest.mark.parametrize(("text", "expected"), [
    ("metrics.acc > 0.9", C(M("acc"), ">", 0.9)),
    ("metric.acc>=1", C(M("acc"), ">=", 1)),
    ("params.lr = 0.001", C(P("lr"), "=", 0.001)),
    ("param.lr == 1e-3", C(P("lr"), "=", 1e-3)),
    ("params.opt != 'adam'", C(P("opt"), "!=", "adam")),
    ("params.opt <> \"adam\"", C(P("opt"), "!=", "adam")),
    ("params.flag = true", C(P("flag"), "=", True)),
    ("params.flag = FALSE", C(P("flag"), "=", False)),
    ("tags.team = 'ml'", C(T("team"), "=", "ml")),
    ("tag.team LIKE 'm%'", C(T("team"), "like", "m%")),
    ("tags.team ilike 'M%'", C(T("team"), "ilike", "M%")),
    ("tags.team not like 'x_'", C(T("team"), "not like", "x_")),
    ("metrics.loss < -0.5", C(M("loss"), "<", -0.5)),
    ("metrics.loss <= .5", C(M("loss"), "<=", 0.5)),
    ("metrics.loss <= +2", C(M("loss"), "<=", 2)),
    ("metrics.loss > 1E3", C(M("loss"), ">", 1000.0)),
    ("metrics.step in (1, 2, 3)", C(M("step"), "in", (1, 2, 3))),
    ("params.opt NOT IN ('a', 2)", C(P("opt"), "not in", ("a", 2))),
    ("metrics.acc is null", C(M("acc"), "is null")),
    ("metrics.acc IS NOT NULL", C(M("acc"), "is not null")),
    ("tags.t = null", C(T("t"), "is null")),
    ("tags.t != NULL", C(T("t"), "is not null")),
    ("metrics.`val loss` < 1", C(M("val loss"), "<", 1)),
    ('params."a.b" = 1', C(P("a.b"), "=", 1)),
    ("params.a.b = 1", C(P("a.b"), "=", 1)),
    ("metrics.train/loss-v2_x < 1", C(M("train/loss-v2_x"), "<", 1)),
    ("metrics.`a``b` < 1", C(M("a`b"), "<", 1)),
    ("metrics.1st < 1", C(M("1st"), "<", 1)),
    ("params.and = 'or'", C(P("and"), "=", "or")),
    ("name = 'it''s'", C(A("name"), "=", "it's")),
    (r"name = 'it\'s'", C(A("name"), "=", "it's")),
    (r"name = 'a\\b'", C(A("name"), "=", "a\\b")),
    (r"name = 'a\nb'", C(A("name"), "=", "a\\nb")),
    ('name = "say ""hi"""', C(A("name"), "=", 'say "hi"')),
    ("run_name = 'x'", C(A("name"), "=", "x")),
    ("attributes.run_id = 'abc'", C(A("id"), "=", "abc")),
    ("attribute.user = 'ann'", C(A("user"), "=", "ann")),
    ("USER = 'ann'", C(A("user"), "=", "ann")),
    ("status = 'FINISHED'", C(A("status"), "=", "finished")),
    ("status IN ('Running', 'failed')", C(A("status"), "in", ("running", "failed"))),
    ("status like 'F%'", C(A("status"), "like", "f%")),
    ("start_time > 1700000000000", C(A("start_time"), ">", 1700000000000)),
    ("start_time >= '2026-01-01'", C(A("start_time"), ">=", 1767225600000)),
    ("end_time < '2026-01-01T12:00:00Z'", C(A("end_time"), "<", 1767268800000)),
    ("end_time < '2026-01-01T12:00:00+02:00'", C(A("end_time"), "<", 1767261600000)),
    ("end_time in ('2026-01-01', 5)", C(A("end_time"), "in", (1767225600000, 5))),
    ("duration > 60", C(A("duration"), ">", 60)),
    ("experiment_id = '0'", C(A("experiment_id"), "=", "0")),
    ("parent_id is null", C(A("parent_id"), "is null")),
    ("git_commit like 'ab%'", C(A("git_commit"), "like", "ab%")),
    ("source != 'train.py'", C(A("source"), "!=", "train.py")),
])
def test_parses(text: str, expected: Expr) -> None:
    assert parse_filter(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "\n\t "])
def test_blank_filter_is_none(text: str) -> None:
    assert parse_filter(text) is None


a, b, c, d = (C(M(k), ">", 1) for k in "abcd")


@pytest.mark.parametrize(("text", "expected"), [
    ("metrics.a > 1 and metrics.b > 1 or metrics.c > 1", Or((And((a, b)), c))),
    ("metrics.a > 1 or metrics.b > 1 and metrics.c > 1", Or((a, And((b, c))))),
    ("metrics.a > 1 AND metrics.b > 1 AND metrics.c > 1", And((a, b, c))),
    ("metrics.a > 1 or metrics.b > 1 or metrics.c > 1 or metrics.d > 1", Or((a, b, c, d))),
    ("(metrics.a > 1 or metrics.b > 1) and metrics.c > 1", And((Or((a, b)), c))),
    ("not metrics.a > 1 and metrics.b > 1", And((Not(a), b))),
    ("not (metrics.a > 1 and metrics.b > 1)", Not(And((a, b)))),
    ("NOT NOT metrics.a > 1", Not(Not(a))),
    ("not metrics.a > 1 or not metrics.b > 1", Or((Not(a), Not(b)))),
    ("((metrics.a > 1))", a),
    ("(metrics.a > 1 and metrics.b > 1) and metrics.c > 1", And((And((a, b)), c))),
    ("metrics.a>1 and(metrics.b>1)or(metrics.c>1)", Or((And((a, b)), c))),
])
def test_precedence(text: str, expected: Expr) -> None:
    assert parse_filter(text) == expected


def test_naive_and_aware_timestamps_agree() -> None:
    naive = parse_filter("start_time > '2026-03-04T05:06:07'")
    aware = parse_filter("start_time > '2026-03-04T05:06:07+00:00'")
    assert naive == aware == C(A("start_time"), ">", 1772600767000)


@pytest.mark.parametrize(("items", "expected"), [
    (["metrics.acc DESC"], [OrderBy(M("acc"), True)]),
    (["params.lr"], [OrderBy(P("lr"), False)]),
    (["start_time asc", "attributes.name desc"],
     [OrderBy(A("start_time"), False), OrderBy(A("name"), True)]),
    (["metrics.`val loss` Desc", "tags.t"], [OrderBy(M("val loss"), True), OrderBy(T("t"))]),
    (["run_name"], [OrderBy(A("name"))]),
    ([], []),
])
def test_order_by(items: list[str], expected: list[OrderBy]) -> None:
    assert parse_order_by(items) == expected


# ----------------------------------------------------------------------------------- errors

def _error(text: str) -> str:
    with pytest.raises(InvalidFilterError) as info:
        parse_filter(text)
    return info.value.message


@pytest.mark.parametrize(("text", "column", "fragment"), [
    ("metrics.acc >", 14, "expected a value after '>', got end of input"),
    ("metrics.acc > 'x'", 15, "metrics compare with numbers"),
    ("metrics.acc = true", 15, "metrics compare with numbers"),
    ("metrics.acc in (1, 'x')", 20, "metrics compare with numbers"),
    ("tags.t = 1", 10, "tags compare with strings"),
    ("params.p like 1", 15, "expected a string pattern after LIKE"),
    ("foo = 1", 1, "unknown attribute 'foo'"),
    ("stat = 'x'", 1, "Did you mean 'status'?"),
    ("attributes.foo = 'x'", 12, "unknown attribute 'foo'"),
    ("metricz.a = 1", 1, "unknown prefix 'metricz'. Did you mean 'metrics'?"),
    ("metrics. = 1", 9, "expected a key after 'metrics.', got ' '"),
    ("metrics.", 9, "expected a key after 'metrics.', got end of input"),
    ("metrics.`` = 1", 9, "got an empty name"),
    ("status = 'done'", 10, "unknown status 'done'; expected one of: running"),
    ("metrics.a in ()", 15, "expected at least one value in the IN list"),
    ("metrics.a in (1,)", 17, "expected a value in the IN list, got ')'"),
    ("metrics.a in (1 2)", 17, "expected ',' or ')' in the IN list, got '2'"),
    ("metrics.a in 1", 14, "expected '(' after IN"),
    ("params.a in ('x', null)", 19, "null is not allowed in an IN list"),
    ("metrics.a > null", 13, "null cannot be compared with '>'"),
    ("metrics.a is 1", 14, "expected NULL after IS, got '1'"),
    ("metrics.a is not 1", 18, "expected NULL after IS NOT"),
    ("metrics.a not > 1", 15, "expected LIKE or IN after NOT"),
    ("params.a not ilike 'x'", 14, "NOT ILIKE is not supported"),
    ("(metrics.a > 1", 15, "expected ')' or AND/OR, got end of input"),
    ("metrics.a > 1)", 14, "expected AND, OR or end of input, got ')'"),
    ("metrics.a > 1 metrics.b > 2", 15, "expected AND, OR or end of input, got 'metrics.b'"),
    ("metrics.a 1", 11, "expected an operator after 'metrics.a'"),
    ("and metrics.a > 1", 1, "expected a field"),
    ("metrics.a > 1 and", 18, "expected a field such as metrics.<key>"),
    ("()", 2, "expected a field"),
    ("params.a = 'abc", 12, "unterminated string"),
    ("params.a = 'abc\\'", 12, "unterminated string"),
    ("metrics.`abc < 1", 9, "unterminated string"),
    ("metrics.a ! 1", 11, "unexpected character '!'"),
    ("metrics.a > 1 ; drop", 15, "unexpected character ';'"),
    ("metrics.a > -", 13, "unexpected character '-'"),
    ("metrics.a > 1.2.3", 16, "expected AND, OR or end of input, got '.3'"),
    ("start_time > 'yesterday'", 14, "expected epoch milliseconds or an ISO-8601 time"),
    ("duration > '2026-01-01'", 12, "compares with numbers (seconds)"),
    ("end_time < 99999999999999999999", 12, "'end_time' is out of range"),
    ("start_time like 'x'", 17, "LIKE does not apply to the numeric attribute 'start_time'"),
    ("name = 1", 8, "attribute 'name' compares with strings"),
    ("`a` = 1", 1, "a backtick-quoted name needs a prefix"),
    ("metrics.a = x", 13, "expected a value after '=', got 'x'"),
    ("metrics.a = metrics.b", 13, "expected a value after '=', got 'metrics.b'"),
])
def test_errors_point_at_the_token(text: str, column: int, fragment: str) -> None:
    message = _error(text)
    first, shown, caret = message.split("\n")
    assert first.startswith(f"Invalid filter at column {column}: ")
    assert fragment in first
    assert shown == f"  {text}"
    assert caret == " " * (column + 1) + "^"


def test_error_example_from_the_docs() -> None:
    assert _error("metrics.acc >") == (
        "Invalid filter at column 14: expected a value after '>', got end of input.\n"
        "  metrics.acc >\n"
        "               ^")


def test_unknown_attribute_lists_the_valid_names() -> None:
    message = _error("colour = 'red'")
    for name in ("id", "name", "status", "start_time", "duration", "run_name", "params.<key>"):
        assert name in message


def test_multiline_filter_keeps_the_caret_aligned() -> None:
    message = _error("metrics.a > 1\nand metrics.b >")
    assert "column 30" in message
    assert message.split("\n")[1:] == ["  metrics.a > 1 and metrics.b >", " " * 31 + "^"]


def test_is_an_invalid_argument_error() -> None:
    with pytest.raises(InvalidArgumentError):
        parse_filter("metrics.a >")


@pytest.mark.parametrize(("items", "column", "fragment"), [
    (["metrics.acc sideways"], 13, "expected ASC, DESC or end of input"),
    (["bogus"], 1, "unknown attribute 'bogus'"),
    ([""], 1, "expected a field to order by"),
    (["desc"], 1, "expected a field"),
    (["metrics.a desc desc"], 16, "expected ASC, DESC or end of input, got 'desc'"),
])
def test_order_by_errors(items: list[str], column: int, fragment: str) -> None:
    with pytest.raises(InvalidFilterError) as info:
        parse_order_by(items)
    assert f"column {column}:" in info.value.message
    assert fragment in info.value.message
    assert info.value.message.endswith(" " * (column + 1) + "^")


# ------------------------------------------------------------------------ property tests

keys = st.text(min_size=1, max_size=8)
strings = st.text(max_size=8)
numbers = st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False)
NUM_ATTRS = ("start_time", "end_time", "duration")
STR_ATTRS = ("id", "name", "user", "experiment_id", "parent_id", "source", "git_commit")
COMPARE = ("=", "!=", "<", "<=", ">", ">=")
LIKES = ("like", "ilike", "not like")


@st.composite
def comparisons(draw: st.DrawFn) -> Comparison:
    """Valid comparisons in the parser's normal form (what it returns)."""
    entity = draw(st.sampled_from(["metric", "param", "tag", "attribute"]))
    if entity == "attribute":
        key = draw(st.sampled_from((*NUM_ATTRS, *STR_ATTRS, "status")))
    else:
        key = draw(keys)
    field = Field(entity, key)  # type: ignore[arg-type]
    if key == "status" and entity == "attribute":
        values = st.sampled_from(STATUSES)
        like_values = st.text("abcdefgh%_", max_size=6)
    elif entity == "metric" or (key in NUM_ATTRS and entity == "attribute"):
        values, like_values = numbers, st.nothing()
    elif entity == "param":
        values, like_values = strings | numbers | st.booleans(), strings
    else:
        values, like_values = strings, strings
    ops = [*COMPARE, "in", "not in", "is null", "is not null"]
    if not like_values.is_empty:
        ops += LIKES
    op = draw(st.sampled_from(ops))
    if op in ("is null", "is not null"):
        return Comparison(field, op)
    if op in LIKES:
        return Comparison(field, op, draw(like_values))
    if op in ("in", "not in"):
        return Comparison(field, op, tuple(draw(st.lists(values, min_size=1, max_size=3))))
    return Comparison(field, op, draw(values))  # type: ignore[arg-type]


exprs = st.recursive(
    comparisons(),
    lambda inner: (st.lists(inner, min_size=2, max_size=3).map(lambda i: And(tuple(i)))
                   | st.lists(inner, min_size=2, max_size=3).map(lambda i: Or(tuple(i)))
                   | inner.map(Not)),
    max_leaves=8,
)

_PLAIN_KEY = re.compile(r"[A-Za-z0-9_\-./]+")


def quote(text: str, q: str) -> str:
    return q + text.replace("\\", "\\\\").replace(q, q * 2) + q


def render_value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return quote(v, "'")
    return repr(v)


def render_field(f: Field) -> str:
    if f.entity == "attribute":
        return f.key
    key = f.key if _PLAIN_KEY.fullmatch(f.key) else quote(f.key, "`")
    return f"{f.entity}s.{key}"


def render(e: Expr) -> str:
    """Text for an AST; compound children are parenthesized so the shape survives."""
    if isinstance(e, And | Or):
        sep = " AND " if isinstance(e, And) else " OR "
        return sep.join(render(i) if isinstance(i, Comparison | Not) else f"({render(i)})"
                        for i in e.items)
    if isinstance(e, Not):
        inner = render(e.item)
        return f"NOT ({inner})" if isinstance(e.item, And | Or) else f"NOT {inner}"
    head = render_field(e.field)
    if e.op in ("is null", "is not null"):
        return f"{head} {e.op.upper()}"
    if e.op in ("in", "not in"):
        return f"{head} {e.op.upper()} ({', '.join(map(render_value, e.value))})"  # type: ignore[arg-type]
    return f"{head} {e.op} {render_value(e.value)}"


@given(exprs)
def test_render_then_parse_round_trips(expr: Expr) -> None:
    assert parse_filter(render(expr)) == expr


@given(st.lists(st.tuples(comparisons(), st.booleans()), max_size=3))
def test_order_by_round_trips(items: list[tuple[Comparison, bool]]) -> None:
    text = [f"{render_field(c.field)} {'DESC' if desc else 'asc'}" for c, desc in items]
    assert parse_order_by(text) == [OrderBy(c.field, desc) for c, desc in items]


TOKENS = ["metrics.a", "params.`x y`", "tags.t", "status", "name", "start_time", "and", "or",
          "not", "(", ")", ",", "=", "!=", "<", ">=", "like", "ilike", "in", "is", "null",
          "true", "1", "-2.5e3", "'s'", '"d"', "'", "`", "!", "-", "x", "metrics.", "desc"]


@given(st.text(max_size=40) | st.lists(st.sampled_from(TOKENS), max_size=10).map(" ".join))
def test_garbage_parses_or_raises_invalid_filter(text: str) -> None:
    message = ""
    try:
        parse_filter(text)
    except InvalidFilterError as exc:
        message = exc.message
    assert not message or re.match(r"Invalid filter at column \d+: .*\^$", message, re.S)
    with contextlib.suppress(InvalidFilterError):
        parse_order_by([text])
