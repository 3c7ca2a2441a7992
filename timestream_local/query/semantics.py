"""Trino's meaning for the built-ins whose DuckDB namesakes answer differently.

Timestream's query language follows Trino; DuckDB's functions of the same name often differ in the
corners (half-even rounding, '' instead of NULL, errors where Trino answers and answers where Trino
fails). ``TrinoSemantics.rewrite`` replaces such a node by one of the DuckDB templates of
``functions`` (see "Trino's meaning" there), or refuses the construct with a ValidationException.

Where the right template depends on an argument's type, the type the query text settles
(``Kinds.scalar_type``, computed on the original tree and kept in the nodes' meta) picks it; where
the text does not settle it, the template lets DuckDB tell the types apart when it binds the query
(``typeof``). Both are independent of the tables' schema, so a translation stays valid for the
query text whatever the tables hold.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from timestream_local.query import functions as fn
from timestream_local.query import intervals, strings
from timestream_local.query.kinds import (
    ARRAY,
    BOOLEAN,
    DATE,
    DECIMAL,
    FLOATING,
    INTEGER,
    INTERVAL,
    TIMESTAMP,
    UNKNOWN,
    VARCHAR,
    YEAR_TO_MONTH,
)
from timestream_local.query.lexer import RAW_FORMAT
from timestream_local.query.syntax import Raw, date_unit, duration_ns, fail, node_name, strftime_format

NS_PER_DAY = 86_400_000_000_000
_TIME_UNITS = ("millisecond", "second", "minute", "hour")  # units a DATE does not have
_DAY_UNITS = {"DAY", "WEEK", "MONTH", "QUARTER", "YEAR"}
_MONTHS_PER_UNIT = {"MONTH": 1, "YEAR": 12}
_BITWISE = {exp.BitwiseAnd: fn.BITWISE_AND, exp.BitwiseOr: fn.BITWISE_OR, exp.BitwiseXor: fn.BITWISE_XOR,
            exp.BitwiseNot: fn.BITWISE_NOT}  # fmt: skip
_NOT_TEXT_TYPES = (INTEGER, FLOATING, DECIMAL, BOOLEAN, DATE, TIMESTAMP)
_INTEGER_CASTS = {
    exp.DType.BIGINT: "BIGINT", exp.DType.INT: "INTEGER", exp.DType.SMALLINT: "SMALLINT",
    exp.DType.TINYINT: "TINYINT",
}  # fmt: skip
_OTHER_CASTS = {exp.DType.DOUBLE: "DOUBLE", exp.DType.FLOAT: "FLOAT", exp.DType.BOOLEAN: "BOOLEAN"}

SUM_ARGUMENT = "tsl_sum_argument"  # Sum node meta: the scalar type of what it sums


def _literal_int(node: exp.Expr | None) -> int | None:
    """The value of an integer literal (or a negated one), else None."""
    if isinstance(node, exp.Paren):
        return _literal_int(node.this)
    if isinstance(node, exp.Neg):
        inner = _literal_int(node.this)
        return None if inner is None else -inner
    if isinstance(node, exp.Literal) and node.is_int:
        return int(node.name)
    return None


def sum_argument(node: exp.Sum) -> exp.Expr:
    """What sum() adds up (DISTINCT looked through)."""
    argument = node.this
    if isinstance(argument, exp.Distinct) and len(argument.expressions) == 1:
        return argument.expressions[0]
    return argument


class TrinoSemantics:
    """Rewrites one node at a time (children first); ``type_of`` and ``kind_of`` read what Kinds
    found on the original tree for a node's arguments."""

    def __init__(self, type_of: Callable[[exp.Expr], str], kind_of: Callable[[exp.Expr], str]) -> None:
        self.type_of = type_of
        self.kind_of = kind_of

    def rewrite(self, node: exp.Expr) -> exp.Expr:  # noqa: PLR0911, PLR0912
        if isinstance(node, exp.Div):
            return self._divide(node)
        if isinstance(node, (exp.Ceil, exp.Floor)):
            return self._ceil_floor(node)
        if isinstance(node, exp.Sign):
            if isinstance(node.this, exp.Null):
                return node
            template = fn.SIGN_INTEGER if self.type_of(node.this) == INTEGER else fn.SIGN
            return Raw(template=template, expressions=[node.this])
        if isinstance(node, (exp.Sum, exp.Filter, exp.Window)):
            return self._sum(node)
        if isinstance(node, (exp.Cast, exp.TryCast)):
            return self._cast(node)
        if isinstance(node, (exp.DPipe, exp.Concat)):
            return self._concat(node)
        if isinstance(node, (exp.Add, exp.Sub)):
            intervals.refuse_mix(node, self.type_of(node.this), self.type_of(node.expression))
            return self._plus_interval(node)
        if isinstance(node, exp.Mul):
            return self._times(node)
        if isinstance(node, (exp.TimestampTrunc, exp.DateTrunc)):
            return self._date_trunc(node)
        if isinstance(node, exp.DateAdd):
            return self._date_add(node)
        if isinstance(node, exp.Bracket):
            return self._subscript(node)
        if isinstance(node, (exp.Lag, exp.Lead, exp.NthValue)):
            return self._offset(node)
        return self._function(node)

    def _function(self, node: exp.Expr) -> exp.Expr:
        """Functions whose fix does not depend on types (called with too few arguments, they stay
        as they are, and DuckDB names the mistake)."""
        template, arguments = self._template(node)
        if template is None or any(argument is None for argument in arguments):
            return node
        return Raw(template=template, expressions=arguments)

    def _template(self, node: exp.Expr) -> tuple[str | None, list]:  # noqa: PLR0911, PLR0912
        args = node.args
        if isinstance(node, exp.Upper) and not isinstance(node.this, exp.Null):
            return fn.UPPER, [node.this]
        if isinstance(node, exp.SplitPart):
            return fn.SPLIT_PART, [node.this, args.get("delimiter"), args.get("part_index")]
        if isinstance(node, exp.Pad):
            return (fn.LPAD if args.get("is_left") else fn.RPAD), [
                node.this,
                node.expression,
                args.get("fill_pattern"),
            ]
        if isinstance(node, exp.Substring):
            if args.get("length") is None:
                return fn.SUBSTR, [node.this, args.get("start")]
            return fn.SUBSTR_LENGTH, [node.this, args.get("start"), args.get("length")]
        if isinstance(node, exp.Trim) and node.expression is None:
            position = str(args.get("position") or "").upper()
            template = {"LEADING": fn.LTRIM_WHITESPACE, "TRAILING": fn.RTRIM_WHITESPACE}.get(position)
            return template or fn.TRIM_WHITESPACE, [node.this]
        if isinstance(node, exp.Extract):
            return fn.EXTRACT[node.this.name.upper()], [node.expression]
        if isinstance(node, exp.UnixToTime):
            return fn.FROM_UNIXTIME, [node.this]
        if isinstance(node, exp.TimeToStr) and node.meta.get(RAW_FORMAT):
            return fn.STRFTIME, [node.this, self._date_format(node)]
        if isinstance(node, exp.ArrayContains):
            return fn.CONTAINS, [node.this, node.expression]
        if isinstance(node, (exp.ArrayMax, exp.ArrayMin)):
            return (fn.ARRAY_MAX if isinstance(node, exp.ArrayMax) else fn.ARRAY_MIN), [node.this]
        if isinstance(node, exp.ArrayDistinct):
            return fn.ARRAY_DISTINCT, [node.this]
        if isinstance(node, exp.ArrayIntersect | exp.ArrayExcept):
            pair = node.expressions if isinstance(node, exp.ArrayIntersect) else [node.this, node.expression]
            if len(pair) != 2:
                raise fail(node, f"{node_name(node)}() takes two arrays")
            return (fn.ARRAY_INTERSECT if isinstance(node, exp.ArrayIntersect) else fn.ARRAY_EXCEPT), list(
                pair
            )
        if isinstance(node, exp.ArrayPosition | exp.ArrayRemove):
            template = fn.ARRAY_POSITION if isinstance(node, exp.ArrayPosition) else fn.ARRAY_REMOVE
            return template, [node.this, node.expression]
        if isinstance(node, exp.Repeat):
            return fn.REPEAT, [node.this, args.get("times")]
        if isinstance(node, exp.ArraySlice) and args.get("start") is not None and args.get("end") is not None:
            return fn.SLICE, [node.this, args["start"], args["end"]]
        if isinstance(node, tuple(_BITWISE)):
            return _BITWISE[type(node)], [node.this, *([node.expression] if node.expression else [])]
        return self._other_template(node)

    def _other_template(self, node: exp.Expr) -> tuple[str | None, list]:
        args = node.args
        if isinstance(node, exp.Reverse) and self.kind_of(node.this) == ARRAY:
            return fn.ARRAY_REVERSE, [node.this]
        if isinstance(node, exp.ArrayToString):
            if args.get("null") is None:
                return fn.ARRAY_JOIN, [node.this, node.expression]
            return fn.ARRAY_JOIN_REPLACING, [node.this, node.expression, args.get("null")]
        return self._regexp(node)

    def _regexp(self, node: exp.Expr) -> tuple[str | None, list]:
        """regexp_extract, regexp_extract_all, regexp_replace, regexp_split with Trino's answers."""
        args = node.args
        group = args.get("group") or exp.Literal.number(0)
        if isinstance(node, exp.RegexpExtract):
            return fn.REGEXP_EXTRACT, [node.this, node.expression, group]
        if isinstance(node, exp.RegexpExtractAll):
            return fn.REGEXP_EXTRACT_ALL, [node.this, node.expression, group]
        if isinstance(node, exp.RegexpSplit):
            return fn.REGEXP_SPLIT, [node.this, node.expression]
        if isinstance(node, exp.RegexpReplace):
            replacement = args.get("replacement") or exp.Literal.string("")
            if not (isinstance(replacement, exp.Literal) and replacement.is_string):
                raise fail(
                    node,
                    "regexp_replace(): the replacement must be a string literal (Java's and DuckDB's replacement "
                    "syntaxes differ, so it is read before the query runs)",
                )
            pattern = node.expression.name if isinstance(node.expression, exp.Literal) else None
            rewrite = strings.java_replacement(node, replacement.name, pattern)
            return fn.REGEXP_REPLACE, [node.this, node.expression, exp.Literal.string(rewrite)]
        return None, []

    # -- arithmetic

    def _times(self, node: exp.Mul) -> exp.Expr:
        """A year-month interval times a number stays whole months."""
        if self.type_of(node.this) == YEAR_TO_MONTH:
            return intervals.scale(node, node.this, node.expression)
        if self.type_of(node.expression) == YEAR_TO_MONTH:
            return intervals.scale(node, node.expression, node.this)
        return node

    def _divide(self, node: exp.Div) -> exp.Expr:
        left, right = self.type_of(node.this), self.type_of(node.expression)
        if left == YEAR_TO_MONTH:
            return intervals.scale(node, node.this, node.expression)
        if FLOATING in (left, right) or self.kind_of(node.this) == INTERVAL:
            template = fn.DIVIDE_FLOATING
        elif left in (INTEGER, DECIMAL) and right in (INTEGER, DECIMAL):
            template = fn.DIVIDE
        else:
            template = fn.DIVIDE_ANY
        return Raw(template=template, expressions=[node.this, node.expression])

    def _ceil_floor(self, node: exp.Expr) -> exp.Expr:
        argument = node.this
        kind = self.type_of(argument)
        if kind == INTEGER:
            return argument  # the integer itself, of its own type
        if kind in (FLOATING, DECIMAL) or isinstance(argument, exp.Null) or node.args.get("decimals"):
            return node
        return Raw(
            template=fn.CEIL_ANY if isinstance(node, exp.Ceil) else fn.FLOOR_ANY, expressions=[argument]
        )

    def _sum(self, node: exp.Expr) -> exp.Expr:
        """sum() of integers as Trino's BIGINT (an overflow is an error), wrapped around the whole
        aggregate: the Sum, its FILTER, or its window."""
        inner = node
        if isinstance(inner, exp.Window):
            inner = inner.this
        if isinstance(inner, exp.Filter):
            inner = inner.this
        if not isinstance(inner, exp.Sum) or isinstance(node.parent, exp.Window):
            return node
        if isinstance(node, exp.Sum) and isinstance(node.parent, exp.Filter):
            return node
        kind = inner.meta.get(SUM_ARGUMENT, UNKNOWN)
        if kind == INTEGER:
            return Raw(template=fn.SUM_BIGINT, expressions=[node])
        if kind == UNKNOWN and not isinstance(node, exp.Window):
            return Raw(template=fn.SUM_ANY, expressions=[node, sum_argument(inner).copy()])
        return node

    # -- casts

    def _cast(self, node: exp.Expr) -> exp.Expr:
        argument, to = node.this, node.to
        if isinstance(argument, exp.Null):
            return node
        source = self.type_of(argument)
        attempt = isinstance(node, exp.TryCast) or bool(node.args.get("safe"))
        if to.this in _INTEGER_CASTS:
            family = fn.CASTS[_INTEGER_CASTS[to.this]][attempt]
            key = {FLOATING: "floating", VARCHAR: "varchar", UNKNOWN: "any"}.get(source)
        elif to.this in _OTHER_CASTS:
            family = fn.CASTS[_OTHER_CASTS[to.this]][attempt]
            key = {VARCHAR: "varchar", UNKNOWN: "any"}.get(source)
        elif to.this in (exp.DType.VARCHAR, exp.DType.TEXT):
            length = to.expressions[0].this if to.expressions else None
            if length is not None:
                return Raw(template=fn.VARCHAR_N, expressions=[argument, length])
            if source == FLOATING:
                return Raw(template=fn.VARCHAR_OF_FLOATING, expressions=[argument])
            return Raw(template=fn.VARCHAR_OF_ANY, expressions=[argument]) if source == UNKNOWN else node
        else:
            return node
        return node if key is None else Raw(template=family[key], expressions=[argument])

    # -- strings

    def _concat(self, node: exp.Expr) -> exp.Expr:
        """'||' and concat(): arrays with arrays or elements, strings with strings only."""
        if isinstance(node, exp.DPipe):
            left, right = self.kind_of(node.this), self.kind_of(node.expression)
            if ARRAY in (left, right):
                return self._array_concat(node, left, right)
            if isinstance(node.parent, exp.DPipe):
                return node  # a chain a || b || c is checked once, at its top
        operands = _operands(node)
        if any(self.kind_of(operand) == ARRAY for operand in operands):
            return node
        checks = [check for operand in operands if (check := self._text_check(operand)) is not None]
        if not checks:
            return node
        condition = checks[0]
        for check in checks[1:]:
            condition = exp.Or(this=condition, expression=check)
        return Raw(template=fn.CONCAT_CHECKED, expressions=[condition, node])

    @staticmethod
    def _array_concat(node: exp.DPipe, left: str, right: str) -> exp.Expr:
        if left == right:
            return node
        if left == ARRAY:
            return Raw(template=fn.ARRAY_APPEND, expressions=[node.this, node.expression])
        return Raw(template=fn.ARRAY_PREPEND, expressions=[node.this, node.expression])

    def _text_check(self, operand: exp.Expr) -> exp.Expr | None:
        """None for a string; a refusal for what the text shows is no string; else the condition
        under which DuckDB finds it is none. A bare NULL becomes a VARCHAR NULL."""
        if isinstance(operand, exp.Null):
            operand.replace(exp.cast(exp.null(), exp.DType.VARCHAR))
            return None
        kind = self.type_of(operand)
        if kind in _NOT_TEXT_TYPES or self.kind_of(operand) == INTERVAL:
            shown = INTERVAL if kind == UNKNOWN else kind
            raise fail(
                operand,
                f"'||' and concat() take strings (or arrays); got a {shown}: Trino does not convert it "
                "to varchar, CAST it to VARCHAR",
            )
        if kind == VARCHAR:
            return None
        return Raw(template=fn.NOT_TEXT, expressions=[operand.copy()])

    # -- date and time

    def _plus_interval(self, node: exp.Expr) -> exp.Expr:
        """date +- interval stays a DATE (and may not add hours); timestamp +- interval as it was."""
        if self.kind_of(node.expression) == INTERVAL and self.kind_of(node.this) != INTERVAL:
            moment, interval = node.this, node.expression
        elif isinstance(node, exp.Add) and self.kind_of(node.this) == INTERVAL:
            moment, interval = node.expression, node.this
        else:
            return node
        kind = self.type_of(moment)
        if kind == TIMESTAMP or self.kind_of(moment) == INTERVAL:
            return node
        verb = (
            "add hour, minutes or seconds to"
            if isinstance(node, exp.Add)
            else "subtract hour, minutes or seconds from"
        )
        return self._keep_date(node, moment, not _whole_days(interval), f"Cannot {verb} a date", kind)

    def _date_trunc(self, node: exp.Expr) -> exp.Expr:
        unit = date_unit(node, "date_trunc")
        argument = node.this
        truncated = Raw(template=fn.DATE_TRUNC, expressions=[exp.Literal.string(unit), argument])
        kind = self.type_of(argument)
        if kind == TIMESTAMP:
            return truncated
        return self._keep_date(truncated, argument.copy(), unit in _TIME_UNITS,
                               f"'{unit}' is not a valid DATE field", kind)  # fmt: skip

    def _date_add(self, node: exp.DateAdd) -> exp.Expr:
        unit = date_unit(node, "date_add")
        kind = self.type_of(node.this)
        if kind == TIMESTAMP:
            return node
        return self._keep_date(
            node, node.this.copy(), unit in _TIME_UNITS, f"'{unit}' is not a valid DATE field", kind
        )

    @staticmethod
    def _keep_date(value: exp.Expr, moment: exp.Expr, timely: bool, refusal: str, kind: str) -> exp.Expr:
        """``value`` with the type of ``moment``; when ``timely`` (hours, minutes...) a DATE
        ``moment`` is refused: now if the text says it is a DATE, else by DuckDB per type."""
        if kind == DATE and timely:
            raise fail(value, refusal)
        if timely:
            return Raw(template=fn.NOT_ON_DATE, expressions=[value, moment, exp.Literal.string(refusal)])
        return Raw(template=fn.KEEP_TYPE, expressions=[value, moment])

    @staticmethod
    def _date_format(node: exp.TimeToStr) -> exp.Expr:
        """date_format's format, in DuckDB's strftime notation."""
        text = node.args.get("format")
        if not (isinstance(text, exp.Literal) and text.is_string):
            raise fail(node, "date_format() takes its format as a string literal")
        return exp.Literal.string(strftime_format(node, text.name))

    def sequence(
        self, start: exp.Expr, stop: exp.Expr, step: exp.Expr | None, node: exp.Expr
    ) -> exp.Expr | None:
        """sequence() of DATEs, and month steps counted from the start; None when the integer or
        timestamp forms apply (the translator's own)."""
        kind = self.type_of(start)
        if step is None:
            return Raw(template=fn.SEQUENCE_DAYS, expressions=[start, stop]) if kind == DATE else None
        months = _months(step)
        if months is not None and months > 0:
            return Raw(template=fn.SEQUENCE_MONTHS, expressions=[start, stop, exp.Literal.number(months)])
        ns = duration_ns(step)
        if kind == DATE and ns is not None and ns % NS_PER_DAY:
            raise fail(node, "sequence step must be a day interval if start and end values are dates")
        return None

    def keeps_dates(self, start: exp.Expr, series: exp.Expr) -> exp.Expr:
        """A series of timestamps from a start that may be a DATE, as DATEs if it is one."""
        if self.type_of(start) == TIMESTAMP:
            return series
        return Raw(template=fn.KEEP_ELEMENT_TYPE, expressions=[series, start.copy()])

    # -- arrays and windows

    @staticmethod
    def _subscript(node: exp.Bracket) -> exp.Expr:
        """a[i] fails outside the array; element_at(a, i) is NULL there (from the end for i < 0)."""
        if (
            len(node.expressions) != 1
            or node.args.get("offset") != 1
            or isinstance(node.expressions[0], exp.Slice)
        ):
            return node
        template = fn.ELEMENT_AT if node.args.get("safe") else fn.SUBSCRIPT
        return Raw(template=template, expressions=[node.this, node.expressions[0]])

    @staticmethod
    def _offset(node: exp.Expr) -> exp.Expr:
        """lag/lead offsets start at 0, nth_value's at 1: a literal below is refused, others checked per row."""
        offset = node.args.get("offset")
        if offset is None:
            return node
        least = 1 if isinstance(node, exp.NthValue) else 0
        value = _literal_int(offset)
        if value is not None:
            if value < least:
                raise fail(node, f"Offset must be at least {least}")
            return node
        template = fn.OFFSET_AT_LEAST_1 if least else fn.OFFSET_AT_LEAST_0
        node.set("offset", Raw(template=template, expressions=[offset]))
        return node


def _operands(node: exp.Expr) -> list[exp.Expr]:
    """The strings a chain of '||' (or a concat()) joins."""
    if isinstance(node, exp.Concat):
        return list(node.expressions)
    out: list[exp.Expr] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, exp.DPipe):
            stack.extend((current.expression, current.this))
        else:
            out.append(current)
    return out


def _whole_days(interval: exp.Expr) -> bool:
    """Whether an INTERVAL literal or a duration is a whole number of days (or months, years)."""
    ns = duration_ns(interval)
    if ns is not None:
        return ns % NS_PER_DAY == 0
    if isinstance(interval, exp.Interval) and interval.unit is not None:
        unit = interval.unit.name.upper()
        return (unit[:-1] if unit.endswith("S") else unit) in _DAY_UNITS
    if isinstance(interval, Raw) and interval.args["template"] in (intervals.MONTHS, intervals.MICROSECONDS):
        amount = _literal_int(interval.expressions[0])  # a span literal, read by intervals.span_literal
        return amount is not None and (
            interval.args["template"] == intervals.MONTHS or amount % (NS_PER_DAY // 1000) == 0
        )
    return False


def _months(step: exp.Expr) -> int | None:
    """The months of an INTERVAL 'n' MONTH / YEAR literal, else None."""
    if not isinstance(step, exp.Interval) or step.unit is None or not isinstance(step.this, exp.Literal):
        return None
    unit = step.unit.name.upper()
    unit = unit[:-1] if unit.endswith("S") else unit
    text = step.this.name.strip()
    if unit not in _MONTHS_PER_UNIT or not text.lstrip("-").isdigit():
        return None
    return int(text) * _MONTHS_PER_UNIT[unit]
