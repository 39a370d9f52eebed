"""Parse the run search language into the `shipyard.entities.search` AST (pure, no SQL).

The language is MLflow-like: ``metrics.acc > 0.9 and params.opt = 'adam'``. Errors point at
the offending token (1-based column, caret line) so a user can fix a long filter quickly;
stores only ever see a validated, normalized AST (canonical attribute names, lowercase
statuses, timestamps as epoch ms).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from shipyard.entities.search import (
    ATTRIBUTES,
    And,
    Comparison,
    Expr,
    Field,
    Literal_,
    Not,
    Or,
    OrderBy,
)
from shipyard.entities.tracking import RunStatus
from shipyard.errors import InvalidFilterError

__all__ = ["parse_filter", "parse_order_by"]

PREFIXES = {
    "metrics": "metric", "metric": "metric", "params": "param", "param": "param",
    "tags": "tag", "tag": "tag", "attributes": "attribute", "attribute": "attribute",
}
ALIASES = {"run_name": "name", "run_id": "id"}
KEYWORDS = {"and", "or", "not", "like", "ilike", "in", "is", "null", "true", "false"}
COMPARE_OPS = {"=": "=", "==": "=", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">",
               ">=": ">="}
STRING_ATTRS = {"id", "name", "status", "user", "experiment_id", "parent_id", "source",
                "git_commit"}
TIME_ATTRS = {"start_time", "end_time"}
STATUSES = tuple(s.value for s in RunStatus)

_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KEY = re.compile(r"[A-Za-z0-9_\-./]+")
_QUOTES = "'\"`"


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # field, word, string, number, op, punct, eof
    text: str  # source text (for messages)
    pos: int  # 0-based offset
    value: object = None  # Field, str, int | float, keyword (lowercase)


def _fail(source: str, pos: int, message: str) -> InvalidFilterError:
    shown = re.sub(r"\s", " ", source)
    return InvalidFilterError(
        f"Invalid filter at column {pos + 1}: {message}\n  {shown}\n  {' ' * pos}^")


def _got(tok: _Tok) -> str:
    if tok.kind == "eof":
        return "end of input"
    return tok.text if tok.kind == "string" else repr(tok.text)


def _read_quoted(source: str, pos: int) -> tuple[str, int]:
    """Read a quoted string at ``pos``; the quote is escaped by doubling or a backslash."""
    quote, out, i = source[pos], [], pos + 1
    while i < len(source):
        ch = source[i]
        if ch == "\\" and i + 1 < len(source) and source[i + 1] in (quote, "\\"):
            out.append(source[i + 1])
            i += 2
        elif ch == quote:
            if source.startswith(quote * 2, i):
                out.append(quote)
                i += 2
            else:
                return "".join(out), i + 1
        else:
            out.append(ch)
            i += 1
    raise _fail(source, pos, f"unterminated string starting with {quote}; "
                             f"expected a closing {quote}.")


def _unknown_attribute(source: str, pos: int, name: str) -> InvalidFilterError:
    names = sorted({*ATTRIBUTES, *ALIASES})
    close = difflib.get_close_matches(name.lower(), [*names, *PREFIXES], n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return _fail(source, pos, f"unknown attribute {name!r}.{hint} Expected one of: "
                              f"{', '.join(names)}, or metrics.<key>, params.<key>, "
                              "tags.<key>, attributes.<name>.")


def _attribute(source: str, pos: int, name: str) -> Field:
    canon = ALIASES.get(name.lower(), name.lower())
    if canon not in ATTRIBUTES:
        raise _unknown_attribute(source, pos, name)
    return Field("attribute", canon)


def _read_field(source: str, pos: int, word: str) -> tuple[Field, int]:
    """Read ``prefix.key`` whose prefix ``word`` ends just before ``pos`` (at the dot)."""
    start = pos - len(word)
    entity = PREFIXES.get(word.lower())
    if entity is None:
        close = difflib.get_close_matches(word.lower(), list(PREFIXES)[::2], n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise _fail(source, start, f"unknown prefix {word!r}.{hint} Expected metrics., "
                                   "params., tags. or attributes.")
    i = pos + 1
    if i < len(source) and source[i] in _QUOTES:
        key, end = _read_quoted(source, i)
        if not key:
            raise _fail(source, i, f"expected a key after '{word}.', got an empty name.")
    else:
        m = _KEY.match(source, i)
        if m is None:
            got = repr(source[i]) if i < len(source) else "end of input"
            raise _fail(source, i, f"expected a key after '{word}.', got {got}.")
        key, end = m.group(), m.end()
    if entity == "attribute":
        return _attribute(source, i, key), end
    return Field(entity, key), end  # type: ignore[arg-type]


def _tokenize(source: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        if ch.isspace():
            i += 1
            continue
        if ch in "(),":
            toks.append(_Tok("punct", ch, i, ch))
            i += 1
        elif ch in "=!<>":
            op = source[i:i + 2] if source[i:i + 2] in COMPARE_OPS else ch
            if op not in COMPARE_OPS:
                raise _fail(source, i, f"unexpected character {ch!r}; expected an operator "
                                       "such as =, !=, <, <=, >, >=.")
            toks.append(_Tok("op", op, i, COMPARE_OPS[op]))
            i += len(op)
        elif ch in "'\"":
            text, end = _read_quoted(source, i)
            toks.append(_Tok("string", source[i:end], i, text))
            i = end
        elif ch == "`":
            raise _fail(source, i, "a backtick-quoted name needs a prefix, e.g. "
                                   "metrics.`val loss`.")
        elif (m := _NUMBER.match(source, i)) is not None:
            text = m.group()
            is_float = any(c in text for c in ".eE")
            toks.append(_Tok("number", text, i, float(text) if is_float else int(text)))
            i = m.end()
        elif (m := _WORD.match(source, i)) is not None:
            word = m.group()
            if m.end() < n and source[m.end()] == ".":
                field, end = _read_field(source, m.end(), word)
                toks.append(_Tok("field", source[i:end], i, field))
                i = end
            else:
                low = word.lower()
                toks.append(_Tok("word", word, i, low if low in KEYWORDS | {"asc", "desc"}
                                 else None))
                i = m.end()
        else:
            raise _fail(source, i, f"unexpected character {ch!r}.")
    toks.append(_Tok("eof", "", n))
    return toks


def _iso_ms(text: str) -> int | None:
    try:
        dt = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return round(dt.timestamp() * 1000)


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.toks = _tokenize(source)
        self.i = 0

    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def fail(self, tok: _Tok, message: str) -> InvalidFilterError:
        return _fail(self.source, tok.pos, message)

    def is_kw(self, *words: str) -> bool:
        return self.tok.kind == "word" and self.tok.value in words

    def take(self) -> _Tok:
        tok = self.tok
        self.i += 1
        return tok

    def expect_kw(self, word: str, context: str) -> None:
        if not self.is_kw(word):
            raise self.fail(self.tok, f"expected {word.upper()} {context}, got {_got(self.tok)}.")
        self.take()

    # expr := or_ ; or_ := and_ (OR and_)* ; and_ := not_ (AND not_)* ; not_ := NOT not_ | atom
    def parse(self) -> Expr:
        expr = self.or_()
        if self.tok.kind != "eof":
            raise self.fail(self.tok, f"expected AND, OR or end of input, got {_got(self.tok)}.")
        return expr

    def or_(self) -> Expr:
        items = [self.and_()]
        while self.is_kw("or"):
            self.take()
            items.append(self.and_())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_(self) -> Expr:
        items = [self.not_()]
        while self.is_kw("and"):
            self.take()
            items.append(self.not_())
        return items[0] if len(items) == 1 else And(tuple(items))

    def not_(self) -> Expr:
        if self.is_kw("not"):
            self.take()
            return Not(self.not_())
        if self.tok.kind == "punct" and self.tok.value == "(":
            self.take()
            expr = self.or_()
            if not (self.tok.kind == "punct" and self.tok.value == ")"):
                raise self.fail(self.tok, f"expected ')' or AND/OR, got {_got(self.tok)}.")
            self.take()
            return expr
        return self.comparison()

    def field(self) -> tuple[Field, _Tok]:
        tok = self.take()
        if tok.kind == "field":
            return tok.value, tok  # type: ignore[return-value]
        if tok.kind == "word" and tok.value is None:
            return _attribute(self.source, tok.pos, tok.text), tok
        raise self.fail(tok, "expected a field such as metrics.<key>, params.<key>, "
                             f"tags.<key> or an attribute name, got {_got(tok)}.")

    def comparison(self) -> Comparison:
        field, ftok = self.field()
        op_tok = self.tok
        if op_tok.kind == "op":
            self.take()
            op: str = op_tok.value  # type: ignore[assignment]
            value_tok = self.tok
            value = self.literal(f"after {op_tok.text!r}")
            if value is None:
                if op not in ("=", "!="):
                    raise self.fail(value_tok, f"null cannot be compared with {op!r}; "
                                               "use IS NULL or IS NOT NULL.")
                return Comparison(field, "is null" if op == "=" else "is not null")
            return self.check(field, op, value, value_tok)
        negate = self.is_kw("not")
        if negate:
            self.take()
            if not self.is_kw("like", "ilike", "in"):
                raise self.fail(self.tok, f"expected LIKE or IN after NOT, got {_got(self.tok)}.")
        if self.is_kw("like", "ilike"):
            kw = self.take()
            if negate and kw.value == "ilike":
                raise self.fail(kw, "NOT ILIKE is not supported; use NOT (... ILIKE ...).")
            value_tok = self.tok
            value = self.literal(f"after {kw.text.upper()}")
            op = f"not {kw.value}" if negate else str(kw.value)
            return self.check(field, op, value, value_tok)
        if self.is_kw("in"):
            kw = self.take()
            if not (self.tok.kind == "punct" and self.tok.value == "("):
                raise self.fail(self.tok, f"expected '(' after IN, got {_got(self.tok)}.")
            self.take()
            if self.tok.kind == "punct" and self.tok.value == ")":
                raise self.fail(self.tok, "expected at least one value in the IN list, got ')'.")
            values: list[Literal_] = []
            while True:
                value_tok = self.tok
                value = self.literal("in the IN list")
                if value is None:
                    raise self.fail(value_tok, "null is not allowed in an IN list; "
                                               "use IS NULL.")
                cmp = self.check(field, "=", value, value_tok)
                values.append(cmp.value)  # type: ignore[arg-type]
                if self.tok.kind == "punct" and self.tok.value == ",":
                    self.take()
                    continue
                if self.tok.kind == "punct" and self.tok.value == ")":
                    self.take()
                    break
                raise self.fail(self.tok, f"expected ',' or ')' in the IN list, "
                                          f"got {_got(self.tok)}.")
            return Comparison(field, "not in" if negate else "in", tuple(values))
        if self.is_kw("is"):
            self.take()
            neg = self.is_kw("not")
            if neg:
                self.take()
            self.expect_kw("null", "after IS NOT" if neg else "after IS")
            return Comparison(field, "is not null" if neg else "is null")
        raise self.fail(op_tok, f"expected an operator after {ftok.text!r} (=, !=, <, <=, >, "
                                f">=, LIKE, ILIKE, NOT LIKE, IN, NOT IN, IS NULL), "
                                f"got {_got(op_tok)}.")

    def literal(self, context: str) -> Literal_:
        tok = self.take()
        if tok.kind in ("string", "number"):
            return tok.value  # type: ignore[return-value]
        if tok.kind == "word" and tok.value in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[tok.value]  # type: ignore[index]
        raise self.fail(tok, f"expected a value {context}, got {_got(tok)}.")

    def check(self, field: Field, op: str, value: Literal_, tok: _Tok) -> Comparison:
        """Validate the value's type for the field and normalize it (status, timestamps)."""
        like = op in ("like", "ilike", "not like")
        is_num = isinstance(value, int | float) and not isinstance(value, bool)
        where = f"{field.entity}s.{field.key}" if field.entity != "attribute" else field.key
        if like and not isinstance(value, str):
            raise self.fail(tok, f"expected a string pattern after {op.upper()}, "
                                 f"got {_got(tok)}.")
        if field.entity == "metric":
            if not is_num:
                raise self.fail(tok, f"metrics compare with numbers; expected a number for "
                                     f"{where}, got {_got(tok)}.")
        elif field.entity == "tag":
            if not isinstance(value, str):
                raise self.fail(tok, f"tags compare with strings; expected a quoted string "
                                     f"for {where}, got {_got(tok)}.")
        elif field.entity == "attribute":
            value = self.check_attribute(field.key, op, value, tok, is_num, like)
        return Comparison(field, op, value)  # type: ignore[arg-type]

    def check_attribute(self, name: str, op: str, value: Literal_, tok: _Tok,
                        is_num: bool, like: bool) -> Literal_:
        if name in STRING_ATTRS:
            if not isinstance(value, str):
                raise self.fail(tok, f"attribute {name!r} compares with strings; expected a "
                                     f"quoted string, got {_got(tok)}.")
            if name == "status":
                value = value.lower()
                if not like and value not in STATUSES:
                    raise self.fail(tok, f"unknown status {value!r}; expected one of: "
                                         f"{', '.join(STATUSES)}.")
            return value
        if like:
            raise self.fail(tok, f"LIKE does not apply to the numeric attribute {name!r}.")
        if name in TIME_ATTRS and isinstance(value, str):
            ms = _iso_ms(value)
            if ms is None:
                raise self.fail(tok, f"expected epoch milliseconds or an ISO-8601 time for "
                                     f"{name!r}, got {_got(tok)}.")
            return ms
        if not is_num:
            unit = "seconds" if name == "duration" else "epoch milliseconds or an ISO-8601 time"
            raise self.fail(tok, f"attribute {name!r} compares with numbers ({unit}), "
                                 f"got {_got(tok)}.")
        if name in TIME_ATTRS and isinstance(value, int) and not -(2**63) <= value < 2**63:
            raise self.fail(tok, f"{name!r} is out of range; expected epoch milliseconds.")
        return value


def parse_filter(text: str) -> Expr | None:
    """Parse a search filter; an empty or blank filter means "every run" (None)."""
    if not text or not text.strip():
        return None
    return _Parser(text).parse()


def parse_order_by(items: Sequence[str]) -> list[OrderBy]:
    """Parse ``["metrics.acc DESC", "start_time"]``; the direction defaults to ascending."""
    if isinstance(items, str):
        items = [items]
    out: list[OrderBy] = []
    for item in items:
        p = _Parser(item)
        if p.tok.kind == "eof":
            raise p.fail(p.tok, "expected a field to order by, got end of input.")
        field, _ = p.field()
        descending = False
        if p.is_kw("asc", "desc"):
            descending = p.take().value == "desc"
        if p.tok.kind != "eof":
            raise p.fail(p.tok, f"expected ASC, DESC or end of input, got {_got(p.tok)}.")
        out.append(OrderBy(field, descending))
    return out

