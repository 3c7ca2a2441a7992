"""Read Timestream SQL into a sqlglot syntax tree.

Timestream's dialect is Trino's plus two things a Trino parser does not know, handled here on
the token stream (so strings, quoted names and comments are never touched and every error still
points at the user's own text):

* duration literals such as ``30s``, ``5m``, ``2h``, ``1d``, ``10ms``, ``5us``, ``100ns`` become a
  call ``__tsl_duration(<nanoseconds>)`` that the translator turns into what each context needs;
* ``measure_value::bigint`` (``double``, ``varchar``, ``boolean``, ``timestamp``) becomes the quoted
  column name ``"measure_value::bigint"``, which is how the store names those columns.
"""

from __future__ import annotations

import logging
import re

from sqlglot import exp
from sqlglot.dialects.trino import Trino
from sqlglot.errors import ParseError, TokenError
from sqlglot.helper import seq_get
from sqlglot.tokens import Token, TokenType

from timestream_local.exceptions import ValidationException
from timestream_local.query.arity import Calls

DURATION_FUNCTION = "__tsl_duration"
RESERVED_PREFIX = "__tsl"
MAX_QUERY_LENGTH = 262_144  # Timestream's limit on QueryString, in characters
MAX_TOKENS = 60_000

UNIT_NANOSECONDS = {
    "ns": 1,
    "us": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
    "d": 86_400_000_000_000,
    # the words AWS's date/time operators page writes durations with ("1day"): the fixed-length units
    "second": 1_000_000_000,
    "minute": 60_000_000_000,
    "hour": 3_600_000_000_000,
    "day": 86_400_000_000_000,
    "week": 7 * 86_400_000_000_000,
}
# words that look like duration units but are not ones: "2days" would otherwise read as 2 AS days
_NOT_DURATION_UNITS = frozenset(
    {"seconds", "minutes", "hours", "days", "weeks", "month", "months", "year", "years", "millisecond",
     "milliseconds", "microsecond", "microseconds", "nanosecond", "nanoseconds", "sec", "min", "hr", "w", "y"}
)  # fmt: skip
MEASURE_VALUE_TYPES = ("bigint", "double", "varchar", "boolean", "timestamp")

_PLACEHOLDER_MARKS = re.compile("__TSL_TABLE_|__TSL_NOW__", re.IGNORECASE)
_DIALECT = Trino()
RAW_FORMAT = "tsl_raw_format"  # node.meta key: date_format's format is the client's own text
WRITTEN_NAME = "tsl_written_name"  # node.meta key: the function name the client wrote (lower case)


def _date_format(args: list) -> exp.TimeToStr:
    node = exp.TimeToStr(this=seq_get(args, 0), format=seq_get(args, 1))
    node.meta[RAW_FORMAT] = True
    return node


def _date_parse(args: list) -> exp.StrToTime:
    node = exp.StrToTime(this=seq_get(args, 0), format=seq_get(args, 1))
    node.meta[RAW_FORMAT] = True
    return node


_WRAPPERS = (exp.Window, exp.IgnoreNulls, exp.RespectNulls, exp.Filter)


class _Parser(Trino.Parser):
    """Trino's parser, but date_format and date_parse keep their format as the client wrote it: sqlglot would rewrite
    it into its own notation, where some of Trino's specifiers (%v, %f, %u ...) lose their meaning.
    Each function call also notes the name the client wrote (meta WRITTEN_NAME, lower case): sqlglot
    reads other dialects' names for the same node (last_day, len, arg_max ...), which Timestream does
    not know, and validation refuses those by name."""

    FUNCTIONS = {**Trino.Parser.FUNCTIONS, "DATE_FORMAT": _date_format, "DATE_PARSE": _date_parse}  # noqa: RUF012
    calls: Calls | None = None  # the statement's argument counts (query/arity.py), checked per call

    def _parse_function_call(self, *args: object, **kwargs: object) -> exp.Expr | None:
        token, following = self._curr, self._next
        is_call = token is not None and following is not None and following.token_type == TokenType.L_PAREN
        if is_call and self.calls is not None:  # before sqlglot's builders, which drop or refuse arguments
            self.calls.see(token, following)
        result = super()._parse_function_call(*args, **kwargs)
        if result is None and is_call and self.calls is not None:
            self.calls.forget(token)
        if result is None or not is_call:
            return result
        call = result
        while isinstance(call, _WRAPPERS):  # a window, IGNORE NULLS or FILTER may wrap the call
            call = call.this
        if isinstance(call, exp.Expr):
            call.meta.setdefault(WRITTEN_NAME, token.text.lower())
            if isinstance(call, exp.Func) and "line" not in call.meta:  # messages point at the name
                call.update_positions(token)
        return result


# sqlglot warns when it falls back to an opaque "Command" for a statement it cannot parse; such
# statements are refused with a ValidationException anyway, so its warning is only log noise.
logging.getLogger("sqlglot").setLevel(logging.ERROR)
_TOKEN_REPR = re.compile(
    r"<Token token_type: [^,]*, text: (.*?), line: \d+, col: \d+, start: \d+, end: \d+, comments: \[.*?\]>"
)


def _position(sql: str, start: int) -> str:
    line = sql.count("\n", 0, start) + 1
    col = start - (sql.rfind("\n", 0, start) + 1) + 1
    return f"line {line}:{col}"


def _duration_tokens(number: Token, unit: Token, sql: str) -> list[Token]:
    if not number.text.isdigit():
        raise ValidationException(
            f"{_position(sql, number.start)}: invalid duration literal "
            f"'{number.text}{unit.text}': a duration is a whole number followed by a unit"
        )
    nanoseconds = int(number.text) * UNIT_NANOSECONDS[unit.text.lower()]
    if nanoseconds >= 2**63:
        raise ValidationException(
            f"{_position(sql, number.start)}: duration '{number.text}{unit.text}' is out of range"
        )

    def token(kind: TokenType, text: str) -> Token:
        return Token(kind, text, number.line, number.col, number.start, unit.end)

    return [
        token(TokenType.VAR, DURATION_FUNCTION),
        token(TokenType.L_PAREN, "("),
        token(TokenType.NUMBER, str(nanoseconds)),
        token(TokenType.R_PAREN, ")"),
    ]


def _rewrite(tokens: list[Token], sql: str) -> list[Token]:
    out: list[Token] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if tok.token_type == TokenType.VAR and tok.text.lower().startswith(RESERVED_PREFIX):
            raise ValidationException(
                f"{_position(sql, tok.start)}: names starting with '{RESERVED_PREFIX}' are reserved; "
                "write a column of that name in double quotes"
            )
        # the translation's placeholders are found in its text and replaced: no client text may hold one
        if (tok.token_type == TokenType.STRING and "__TSL_" in tok.text.upper()) or (
            tok.token_type == TokenType.IDENTIFIER and _PLACEHOLDER_MARKS.search(tok.text)
        ):
            raise ValidationException(
                f"{_position(sql, tok.start)}: text containing '__TSL_' is reserved (the engine's placeholders)"
            )
        if (
            tok.token_type == TokenType.NUMBER
            and nxt is not None
            and nxt.token_type == TokenType.VAR
            and nxt.start == tok.end + 1
            and nxt.text.lower() in UNIT_NANOSECONDS
        ):
            out.extend(_duration_tokens(tok, nxt, sql))
            i += 2
            continue
        if (
            tok.token_type == TokenType.NUMBER
            and nxt is not None
            and nxt.start == tok.end + 1
            and nxt.text.lower() in _NOT_DURATION_UNITS
        ):
            raise ValidationException(
                f"{_position(sql, tok.start)}: '{tok.text}{nxt.text}' is not a duration: its unit is one of "
                "ns, us, ms, s, m, h, d, second, minute, hour, day, week (months and years: INTERVAL '2' MONTH)"
            )
        if tok.token_type == TokenType.DCOLON:
            prev = out[-1] if out else None
            if prev is None or prev.text.lower() != "measure_value" or nxt is None:
                raise ValidationException(
                    f"{_position(sql, tok.start)}: the '::' syntax is only supported as "
                    "measure_value::<type>; use CAST(x AS type) for conversions"
                )
            kind = nxt.text.lower()
            if kind not in MEASURE_VALUE_TYPES:
                raise ValidationException(
                    f"{_position(sql, nxt.start)}: measure_value::{nxt.text} is not a column; use one of "
                    + ", ".join(f"measure_value::{t}" for t in MEASURE_VALUE_TYPES)
                )
            out[-1] = Token(
                TokenType.IDENTIFIER, f"measure_value::{kind}", prev.line, prev.col, prev.start, nxt.end
            )
            i += 2
            continue
        out.append(tok)
        i += 1
    return out


def parse(sql: str) -> exp.Expr:
    """Parse one Timestream SELECT statement; ValidationException (with its position) otherwise."""
    if not sql or not sql.strip():
        raise ValidationException("QueryString must not be empty")
    if len(sql) > MAX_QUERY_LENGTH:
        raise ValidationException(
            f"QueryString is {len(sql)} characters long; the limit is {MAX_QUERY_LENGTH}"
        )
    try:
        tokens = _DIALECT.tokenize(sql)
    except TokenError as error:
        raise ValidationException(f"SQL could not be read: {error}") from None
    if len(tokens) > MAX_TOKENS:
        raise ValidationException(f"the query has {len(tokens)} tokens; the limit is {MAX_TOKENS}")
    if tokens and tokens[0].text.upper() == "UNLOAD":
        raise ValidationException(
            "UNLOAD can only be a whole Query's statement (UNLOAD (SELECT ...) TO 's3://bucket/prefix/' "
            "WITH (...)), not a scheduled query's or part of another statement"
        )
    tokens = _rewrite(tokens, sql)
    parser = _Parser(dialect=_DIALECT)
    parser.calls = Calls(tokens, sql)
    try:
        statements = [s for s in parser.parse(tokens, sql) if s is not None]
    except ParseError as error:
        parser.calls.check()  # sqlglot refuses some argument counts in its own words
        detail = error.errors[0] if error.errors else {}
        where = ""
        if detail.get("line"):
            # sqlglot points at the last character of the offending token; report its first, as Trino does
            col = max(1, int(detail.get("col") or 1) - len(detail.get("highlight") or "x") + 1)
            where = f"line {detail['line']}:{col}: "
        description = _TOKEN_REPR.sub(r"'\1'", detail.get("description") or str(error))
        raise ValidationException(f"{where}{description}") from None
    except RecursionError:
        raise ValidationException("the query is nested too deeply to be parsed") from None
    if len(statements) != 1:
        raise ValidationException(f"exactly one SQL statement is allowed per query; found {len(statements)}")
    parser.calls.check()
    return statements[0]
