"""Timestream SQL -> DuckDB SQL.

After ``validate``, a bottom-up rewrite replaces Timestream's constructs with DuckDB text (``Raw``
nodes) and sqlglot's DuckDB generator writes the rest. ``now()``, ``ago(...)`` and ``now()`` minus
a fixed duration become placeholders '__TSL_NOW__<ns>' that ``bind_now`` turns into constant
TIMESTAMP_NS literals for each execution, so a translation can be reused, and ``time >= ago(30s)`` reaches DuckDB as a plain
column-vs-constant filter that its zone maps prune with.

Each table a query reads becomes a placeholder "__TSL_TABLE_<n>__" that ``bind_tables`` fills with
the relation to read. The translation notes, per table, the lower bound its WHERE clause puts on
``time`` relative to now (``time >= ago(30s)``): when no magnetic-tier file holds rows that recent,
the store lets the query read the memory tier alone, so a dashboard's cost does not grow with history.
It also notes the string values the clause allows a column (``city = 'Beijing'``), from which the
store adds the conditions they imply on other dimensions (storage/hints.py), so that zone maps skip.

This module passes 400 lines because the rewrite is one pass that dispatches every construct; what
a construct becomes is decided in the modules of its concern (semantics, timeseries, interpolation,
intervals, numeric, datetimes, arrays, strings, typeof), and this module holds only the dispatch, the
table and time handling and the generator.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import ClassVar

from sqlglot import exp
from sqlglot.errors import ErrorLevel, UnsupportedError
from sqlglot.expressions.builders import apply_index_offset
from sqlglot.generators.duckdb import DuckDBGenerator

from timestream_local.catalog import quote
from timestream_local.exceptions import ValidationException
from timestream_local.models import format_ns
from timestream_local.query import (
    arrays,
    datetimes,
    interpolation,
    intervals,
    numeric,
    strings,
    timeseries,
    typeof,
)
from timestream_local.query import functions as fn
from timestream_local.query.kinds import ARRAY, INTERVAL, SCALAR, UNKNOWN, Kinds
from timestream_local.query.lexer import DURATION_FUNCTION
from timestream_local.query.semantics import SUM_ARGUMENT, TrinoSemantics, sum_argument
from timestream_local.query.syntax import (
    Raw,
    date_unit,
    duration_ns,
    fail,
    is_duration,
    start_of,
)
from timestream_local.query.validate import validate

NOW_MARK = "__TSL_NOW__"  # '__TSL_NOW__<ns>' = the query's start time minus <ns>, filled in per execution
_NOW_LITERAL = re.compile(r"'__TSL_NOW__(\d+)'")
TABLE_MARK = "__TSL_TABLE_"  # "__TSL_TABLE_<n>__" = the n-th table the query reads, filled in per execution
_TABLE_PLACEHOLDER = re.compile(r'"__TSL_TABLE_(\d+)__"')


@dataclass(frozen=True)
class TableRef:
    database: str
    table: str
    line: int | None = None
    col: int | None = None
    # the query reads only rows with time >= now - since_ns, and with time >= after_ns (UTC ns);
    # None where no such bound was found
    since_ns: int | None = None
    after_ns: int | None = None
    # the query reads only rows whose column <name> is one of these strings (``city = 'Beijing'``,
    # ``location IN ('a', 'b')``), per column, sorted by name; empty where no such condition was found
    equals: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def relation(self) -> str:
        """The table as the user named it (the view over both tiers)."""
        return f"{quote(self.database)}.{quote(self.table)}"


@dataclass
class Translation:
    sql: str
    tables: list[TableRef] = field(default_factory=list)


# --------------------------------------------------------------------------------------- rewrite


_KIND = "tsl_kind"  # node.meta key: what Kinds found the node to be
_TYPE = "tsl_type"  # node.meta key: the scalar type Kinds found the text to settle for the node
_USER_LAMBDA = "tsl_user_lambda"  # node.meta key: a lambda the client wrote (transform(a, x -> ...))
# the arguments of these are typed on the original tree (see TrinoSemantics)
_TYPE_USERS = (
    exp.Typeof, exp.Div, exp.Mul, exp.Ceil, exp.Floor, exp.Sign, exp.Cast, exp.TryCast, exp.DPipe, exp.Concat, exp.Add, exp.Sub,
    exp.GenerateSeries, exp.Reverse, exp.TimestampTrunc, exp.DateTrunc, exp.DateAdd,
)  # fmt: skip
MAX_SQL_CHARS = 1_000_000  # the longest DuckDB text a query may translate to
_FIXED_TIME = "tsl_fixed_time_ns"  # node.meta key: the constant instant (UTC ns) a node stands for
_KIND_USERS = {
    "interpolate_linear",
    "interpolate_spline_cubic",
    "interpolate_locf",
    "interpolate_fill",
    "to_milliseconds",
    "to_nanoseconds",
}


class _Rewriter:
    def __init__(self, tree: exp.Expr) -> None:
        self.tree = tree
        self.kinds = Kinds(tree)
        self.unnest_count = 0
        self.tables: list[TableRef] = []
        self.table_nodes: list[exp.Table] = []
        self.trino = TrinoSemantics(self.type_of, self.kind)
        # Kinds and types are read on the original tree; a rewritten node inherits those of the one
        # it replaces.
        for node in list(tree.walk()):
            if isinstance(node, exp.Unnest) or (
                isinstance(node, exp.Anonymous) and node.name.lower() in _KIND_USERS
            ):
                for arg in node.expressions:
                    arg.meta[_KIND] = self.kinds.of(arg)
            elif isinstance(node, _TYPE_USERS):
                for arg in node.iter_expressions():
                    arg.meta[_TYPE] = self.kinds.scalar_type(arg)
                    arg.meta.setdefault(_KIND, self.kinds.of(arg))
            elif isinstance(node, exp.Sum):
                node.meta[SUM_ARGUMENT] = self.kinds.scalar_type(sum_argument(node))
            elif isinstance(node, exp.Lambda):
                node.meta[_USER_LAMBDA] = True
            elif isinstance(node, exp.Bracket):
                _one_based(node)
        intervals.mark_results(tree, self.kinds.scalar_type)

    def kind(self, node: exp.Expr) -> str:
        return node.meta.get(_KIND, UNKNOWN)

    @staticmethod
    def type_of(node: exp.Expr) -> str:
        return node.meta.get(_TYPE, UNKNOWN)

    @staticmethod
    def now_literal(offset_ns: int = 0) -> exp.Expr:
        return exp.cast(exp.Literal.string(f"{NOW_MARK}{offset_ns}"), exp.DType.TIMESTAMP_NS)

    def run(self) -> exp.Expr:
        return self._visit(self.tree)

    def _visit(self, node: exp.Expr) -> exp.Expr:
        for child in list(node.iter_expressions()):
            key, index = child.arg_key, child.index
            new = self._visit(child)
            if new is not child:
                for mark in (_KIND, _TYPE):
                    if mark in child.meta:
                        new.meta[mark] = child.meta[mark]
                # set, not child.replace: the new node may hold the old one (a wrapper)
                node.set(key, new, index)
        return self._rewrite(node)

    def _rewrite(self, node: exp.Expr) -> exp.Expr:  # noqa: PLR0911, PLR0912
        if isinstance(node, exp.Anonymous):
            return self._timestream_function(node)
        if isinstance(node, (exp.CurrentTimestamp, exp.Localtimestamp)):
            return self.now_literal()
        if isinstance(node, exp.CurrentDate):
            return exp.cast(self.now_literal(), exp.DType.DATE)
        if isinstance(node, (exp.CurrentTime, exp.Localtime)):  # UTC is Timestream's only time zone
            return exp.cast(self.now_literal(), exp.DType.TIME)
        if type(node) in numeric.TYPED:
            return numeric.rewrite(node)
        if isinstance(node, exp.Typeof):
            return typeof.rewrite(node, self.type_of)
        if isinstance(node, exp.Rand) and node.this is not None:
            return numeric.random_below(node)
        if isinstance(node, exp.Split | exp.StrPosition):
            rewritten = strings.rewrite(node)
            if rewritten is not node:
                return rewritten
        if isinstance(node, exp.ApproxDistinct):
            node.set("accuracy", None)  # checked by validate; DuckDB's sketch has its own error bound
        if isinstance(node, exp.StrToTime | exp.Shuffle):
            return datetimes.date_parse(node) if isinstance(node, exp.StrToTime) else arrays.shuffle(node)
        if isinstance(node, exp.GenerateSeries):
            return self._sequence(node)
        if isinstance(node, exp.Round):
            return self._round(node)
        if isinstance(node, exp.DateDiff | exp.FromISO8601Timestamp):
            return self._trino_meaning(node)
        if isinstance(node, exp.Cast) and node.to.this == exp.DType.TIMESTAMP:
            return self._timestamp_cast(node)
        if isinstance(node, exp.Cast) and node.to.this in (exp.DType.ARRAY, exp.DType.STRUCT):
            # ROW(t TIMESTAMP), ARRAY(TIMESTAMP): nanoseconds too
            for inner in node.to.find_all(exp.DataType):
                if inner.this == exp.DType.TIMESTAMP:
                    inner.set("this", exp.DType.TIMESTAMP_NS)
        if isinstance(node, exp.Sub):
            folded = self._before_now(node)
            if folded is not node:
                return folded
        if isinstance(node, exp.Unnest):
            return self._unnest(node)
        if isinstance(node, exp.Interval):
            return intervals.span_literal(node) or node
        if isinstance(node, exp.Reduce | exp.CurrentTimezone):
            return self._reduce(node) if isinstance(node, exp.Reduce) else exp.Literal.string("UTC")
        if isinstance(node, exp.Table) and node.args.get("db"):
            line, col = start_of(node.args["db"].meta) or (None, None)
            self.tables.append(TableRef(node.args["db"].name, node.name, line, col))
            self.table_nodes.append(node)
            return node
        return self.trino.rewrite(node)

    @staticmethod
    def _bin(node: exp.Anonymous, args: list[exp.Expr]) -> exp.Expr:
        """bin(t, d): t rounded down to a multiple of the duration d; t may be a timestamp string."""
        ns = duration_ns(args[1])
        if ns is None or ns <= 0:
            raise fail(node, "bin() takes a timestamp and a positive duration such as 30s or 1h")
        when = args[0]
        if isinstance(when, exp.Literal) and when.is_string:  # bin('2023-09-20 17:12:22.958', 1m)
            if _timestamp_text_ns(when.name) is None:
                raise fail(
                    node, f"bin(): '{when.name[:40]}' is not a timestamp (YYYY-MM-DD hh:mm:ss.fffffffff)"
                )
            when = exp.cast(when, exp.DType.TIMESTAMP_NS)
        return Raw(template=fn.BIN_NS, expressions=[when, exp.Literal.number(ns)])

    @staticmethod
    def _reduce(node: exp.Reduce) -> exp.Expr:
        """reduce(array, initial, (s, x) -> ..., s -> ...): Trino's four arguments, all required.
        (current_timezone() is 'UTC': Timestream's session time zone.)"""
        merge, finish = node.args.get("merge"), node.args.get("finish")
        if not isinstance(merge, exp.Lambda) or not isinstance(finish, exp.Lambda):
            raise fail(
                node, "reduce() takes an array, an initial state, a function (s, x) -> ... and s -> ..."
            )
        return Raw(template=fn.REDUCE, expressions=[node.this, node.args["initial"], merge, finish])

    # -- Timestream functions

    def _timestream_function(self, node: exp.Anonymous) -> exp.Expr:  # noqa: PLR0911, PLR0912
        name = node.name.lower()
        args = node.expressions
        if name == DURATION_FUNCTION:
            return node  # consumed by its parent, or turned into an INTERVAL at the end
        if name == "ago":
            ns = duration_ns(args[0])
            if ns is not None:
                return self.now_literal(ns)
            if isinstance(args[0], exp.Interval):
                return Raw(template=fn.MINUS, expressions=[self.now_literal(), args[0]])
            raise fail(node, "ago() takes a duration such as 15m or 2h")
        if name == "bin":
            return self._bin(node, args)
        if name in fn.DIRECT:
            return Raw(template=fn.DIRECT[name], expressions=list(args))
        if name == "format_datetime":
            return datetimes.format_datetime(node)
        if name == "zip":
            return arrays.zip_arrays(list(args))
        if name == "zip_with":
            raw, pair = arrays.zip_with(node, list(args))
            pair.meta[_USER_LAMBDA] = True
            return raw
        if name in timeseries.ARITIES:
            return timeseries.rewrite(node, name, list(args))
        if name.startswith("interpolate_"):
            return self._interpolate(node, name, args)
        if name in ("from_milliseconds", "from_nanoseconds"):
            factor = 1_000_000 if name == "from_milliseconds" else 1
            raw = Raw(template=fn.FROM_EPOCH_UNITS, expressions=[args[0], exp.Literal.number(factor)])
            if isinstance(args[0], exp.Literal) and args[0].is_int:  # Grafana's $__timeFilter sends these
                raw.meta[_FIXED_TIME] = int(args[0].name) * factor
            return raw
        if name in ("to_milliseconds", "to_nanoseconds"):
            return self._to_epoch(node, name, args[0])
        raise fail(node, f"function {name}() is not supported")

    @staticmethod
    def _trino_meaning(node: exp.Expr) -> exp.Expr:
        """date_diff's argument order, and ISO 8601 text with a zone (more in semantics.py)."""
        if isinstance(node, exp.DateDiff):
            unit = exp.Literal.string(date_unit(node, "date_diff"))
            return Raw(template=fn.DATE_DIFF, expressions=[unit, node.expression, node.this])
        return Raw(template=fn.FROM_ISO8601, expressions=[node.this])

    @staticmethod
    def _timestamp_cast(node: exp.Cast) -> exp.Expr:
        """Timestamps have nanoseconds; a literal one (TIMESTAMP '2026-11-28 02:00:00') is a known instant."""
        node.set("to", exp.DataType.build("TIMESTAMP_NS", dialect="duckdb"))
        if isinstance(node.this, exp.Literal) and node.this.is_string:
            instant = _timestamp_text_ns(node.this.name)
            if instant is not None:
                node.meta[_FIXED_TIME] = instant
        return node

    def _before_now(self, node: exp.Sub) -> exp.Expr:
        """now() - 1h (or ago(5m) - 1h, or now() - INTERVAL '1' HOUR) is ago(1h): one now-relative literal."""
        offset = _is_now_literal(node.this)
        ns = duration_ns(node.expression)
        if offset is None or ns is None or ns < 0:
            return node
        return self.now_literal(offset + ns)

    def _interpolate(self, node: exp.Anonymous, name: str, args: list[exp.Expr]) -> exp.Expr:
        ts, points = args[0], args[1]
        fill = args[2] if len(args) > 2 else exp.null()
        if self.kind(ts) in (ARRAY, INTERVAL, SCALAR):
            raise fail(node, f"the first argument of {name}() must be a timeseries (from create_time_series)")
        extra = [] if name == "interpolate_spline_cubic" else [fill]  # the spline has no fill value
        if self.kind(points) in (ARRAY, UNKNOWN):
            return Raw(template=interpolation.INTERPOLATE[name], expressions=[ts, points, *extra])
        # interpolate_xxx(timeseries, timestamp) -> double: the one-point case.
        return Raw(
            template=interpolation.INTERPOLATE_ONE[name],
            expressions=[ts, exp.Array(expressions=[points]), *extra],
        )

    def _to_epoch(self, node: exp.Anonymous, name: str, arg: exp.Expr) -> exp.Expr:
        divisor = 1_000_000 if name == "to_milliseconds" else 1
        ns = duration_ns(arg)
        if ns is not None:  # Trino's to_milliseconds(interval) is a BIGINT
            return exp.cast(exp.Literal.number(ns // divisor), exp.DType.BIGINT)
        if self.kind(arg) == INTERVAL:
            per_second = exp.Literal.number(1_000_000_000 // divisor)
            return Raw(template=fn.INTERVAL_IN_UNITS, expressions=[arg, per_second])
        if divisor == 1:
            return Raw(template=fn.EPOCH_NS, expressions=[arg])
        return Raw(template=fn.EPOCH_IN_UNITS, expressions=[arg, exp.Literal.number(divisor)])

    @staticmethod
    def _round(node: exp.Round) -> exp.Expr:
        """round(x, n) as Trino computes it for doubles: Math.round(x * 10^n) / 10^n, where
        Math.round rounds the double x * 10^n half away from zero. DuckDB's round(x, n) rounds the
        exact decimal value of x instead, so 119.16499999999999 (x 100 = 11916.5) gives 119.16
        there and 119.17 in Timestream. round(y, 0) is exact on y in both, and for integer x the
        divide() keeps the integer type."""
        places = node.args.get("decimals")
        if places is None or not (isinstance(places, exp.Literal) and places.is_int):
            return node
        digits = int(places.name)
        if digits <= 0 or digits > 15:
            return node
        return Raw(template=fn.ROUND_PLACES, expressions=[node.this, exp.Literal.number(10**digits)])

    def _sequence(self, node: exp.GenerateSeries) -> exp.Expr:
        """sequence() as Trino has it: a default step of 1 or -1, at most MAX_SEQUENCE_ENTRIES
        entries, and an error for a zero step or one that leads away from stop."""
        start, stop, step = node.args.get("start"), node.args.get("end"), node.args.get("step")
        trino = self.trino.sequence(start, stop, step, node)
        if trino is not None:
            return trino
        ns = duration_ns(step) if step is not None else None
        if ns is not None:
            if ns <= 0:
                raise fail(node, "the step of sequence() must be positive")
            series = Raw(template=fn.SEQUENCE_NS, expressions=[start, stop, exp.Literal.number(ns)])
            return self.trino.keeps_dates(start, series)
        if step is not None and (is_duration(step) or self.kind(step) == INTERVAL):
            return Raw(template=fn.SEQUENCE_INTERVAL, expressions=[start, stop, step])
        if step is None:
            step = Raw(template=fn.SEQUENCE_INT_DEFAULT_STEP, expressions=[start.copy(), stop.copy()])
        return Raw(template=fn.SEQUENCE_INT, expressions=[start, stop, step])

    def _unnest(self, node: exp.Unnest) -> exp.Expr:
        """UNNEST(a[, b ...]) [WITH ORDINALITY] AS t(c ...) as a DuckDB subquery of unnest() calls."""
        self.unnest_count += 1
        alias = node.args.get("alias")
        alias_name = alias.name if alias is not None and alias.name else f"__tsl_unnest_{self.unnest_count}"
        columns = [exp.to_identifier(c.name, quoted=True) for c in alias.columns] if alias is not None else []
        calls: list[exp.Expr] = [
            Raw(template=fn.UNNEST_ARRAY if self.kind(arg) == ARRAY else fn.UNNEST_ROWS, expressions=[arg])
            for arg in node.expressions
        ]
        offset = node.args.get("offset")
        if offset:
            calls.append(Raw(template=fn.UNNEST_ORDINAL, expressions=[node.expressions[0].copy()]))
            if isinstance(offset, exp.Identifier):
                columns.append(exp.to_identifier(offset.name, quoted=True))
        table_alias = exp.TableAlias(this=exp.to_identifier(alias_name, quoted=True), columns=columns)
        subquery = exp.Subquery(this=exp.Select(expressions=calls), alias=table_alias)
        if isinstance(node.parent, exp.Join):
            return Raw(template=fn.LATERAL, expressions=[subquery])
        return subquery

    # -- leftovers

    def finish(self, tree: exp.Expr) -> exp.Expr:
        for node in list(tree.find_all(exp.Anonymous)):
            if is_duration(node):
                ns = duration_ns(node) or 0
                if ns % 1000:
                    raise fail(
                        node,
                        "durations below one microsecond are only supported in bin(), ago() and sequence()",
                    )
                node.replace(Raw(template=fn.MICROSECONDS, expressions=[exp.Literal.number(ns // 1000)]))
        unaliased = {(ref.database, ref.table) for ref, node in zip(self.tables, self.table_nodes, strict=True)
                     if not node.args.get("alias")}  # fmt: skip
        for column in tree.find_all(exp.Column):
            if column.args.get("db") and (column.text("db"), column.table) in unaliased:
                column.set(
                    "db", None
                )  # "iot"."pm25"."time" -> "pm25"."time": the table keeps its name as alias
                column.set("catalog", None)
        for number, node in enumerate(self.table_nodes):
            since_ns, after_ns = _time_floor(node)
            self.tables[number] = replace(
                self.tables[number], since_ns=since_ns, after_ns=after_ns, equals=_equalities(node)
            )
            alias = node.args.get("alias") or exp.TableAlias(this=exp.to_identifier(node.name, quoted=True))
            node.replace(
                exp.Table(this=exp.to_identifier(f"{TABLE_MARK}{number}__", quoted=True), alias=alias)
            )
        return tree


def _one_based(node: exp.Bracket) -> None:
    """Write a subscript's index as the client's (from 1), with offset 1: sqlglot's parser keeps
    literal indexes from 0 and others as they are, and its generator undoes that."""
    if len(node.expressions) != 1 or node.args.get("json_access"):
        return
    offset = 1 - (node.args.get("offset") or 0)
    node.set("expressions", apply_index_offset(node.this, node.expressions, offset, dialect="duckdb"))
    node.set("offset", 1)


def _is_now_literal(node: exp.Expr) -> int | None:
    """The <ns> of a CAST('__TSL_NOW__<ns>' AS TIMESTAMP_NS) (now() or ago(<ns>)), else None."""
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal) and node.this.is_string:
        match = _NOW_LITERAL.fullmatch(f"'{node.this.name}'")
        if match:
            return int(match.group(1))
    return None


_TIMESTAMP_TEXT = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?: (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?)?")


def _timestamp_text_ns(text: str) -> int | None:
    """UTC nanoseconds of a plain 'YYYY-MM-DD[ HH:MM:SS[.fraction]]' literal; None for any other form."""
    match = _TIMESTAMP_TEXT.fullmatch(text.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction = match.groups()
    try:
        moment = dt.datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0)
        )
    except ValueError:
        return None  # DuckDB reports the bad date itself
    seconds = (moment - dt.datetime(1970, 1, 1)) // dt.timedelta(seconds=1)
    return seconds * 1_000_000_000 + int((fraction or "").ljust(9, "0"))


def _conjuncts(node: exp.Expr) -> list[exp.Expr]:
    """The terms of a condition that are ANDed together at its top level (parentheses looked through)."""
    if isinstance(node, exp.Paren):
        return _conjuncts(node.this)
    if isinstance(node, exp.And):
        return _conjuncts(node.this) + _conjuncts(node.expression)
    return [node]


def _own_where(table: exp.Table) -> tuple[exp.Expr | None, Callable[[exp.Expr], str | None]]:
    """The WHERE condition of the SELECT that reads ``table`` directly (None when there is none), and
    a function naming the column of this table a node is (None for anything else): with joins the
    column must be qualified with this table's name or alias."""
    if not isinstance(table.parent, exp.From) or not isinstance(table.parent.parent, exp.Select):
        return None, lambda node: None
    select = table.parent.parent
    where = select.args.get("where")
    names = {table.alias_or_name}
    joined = bool(select.args.get("joins"))

    def column_of(node: exp.Expr) -> str | None:
        if not isinstance(node, exp.Column) or not isinstance(node.this, exp.Identifier):
            return None
        return node.name if (node.table in names if (joined or node.table) else True) else None

    return (None if where is None else where.this), column_of


def _equalities(table: exp.Table) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The string values a table's own WHERE clause allows a column, where it says so: top-level
    conjuncts ``column = 'text'``, ``'text' = column`` and ``column IN ('text', ...)`` (the column of
    this table, as ``_time_floor`` finds it). Several conjuncts on one column allow what all allow."""
    condition, column_of = _own_where(table)
    if condition is None:
        return ()
    allowed: dict[str, set[str]] = {}
    for conjunct in _conjuncts(condition):
        name, values = None, None
        if isinstance(conjunct, exp.EQ):
            for side, other in ((conjunct.this, conjunct.expression), (conjunct.expression, conjunct.this)):
                if column_of(side) and isinstance(other, exp.Literal) and other.is_string:
                    name, values = column_of(side), {other.this}
                    break
        elif isinstance(conjunct, exp.In) and not conjunct.args.get("query") and column_of(conjunct.this):
            items = conjunct.expressions
            if items and all(isinstance(i, exp.Literal) and i.is_string for i in items):
                name, values = column_of(conjunct.this), {i.this for i in items}
        if name is not None and values is not None:
            allowed[name] = allowed[name] & values if name in allowed else values
    return tuple((name, tuple(sorted(values))) for name, values in sorted(allowed.items()))


def _time_floor(table: exp.Table) -> tuple[int | None, int | None]:
    """Where the rows a table's own WHERE clause keeps can start, when it says so: (how far before
    now, a fixed instant in UTC ns), each None when the clause has no such bound.

    Only a top-level conjunct of the SELECT that reads the table directly counts: ``time >= X``,
    ``time > X``, ``X <= time``, ``X < time`` or ``time BETWEEN X AND ...`` with X = now(), ago(...),
    now() minus a fixed duration, a TIMESTAMP '...' literal, or from_milliseconds/from_nanoseconds
    (<integer>) (what Grafana's ``$__timeFilter`` becomes).
    With joins the column must be qualified with this table's name or alias. Every such conjunct
    holds for each row the query keeps, so the most recent bound of each kind is used.
    """
    condition, column_of = _own_where(table)
    if condition is None:
        return None, None

    def is_time(node: exp.Expr) -> bool:
        return column_of(node) == "time"

    relative, fixed = [], []
    for conjunct in _conjuncts(condition):
        bound = None
        if isinstance(conjunct, exp.GTE | exp.GT) and is_time(conjunct.this):
            bound = conjunct.expression
        elif isinstance(conjunct, exp.LTE | exp.LT) and is_time(conjunct.expression):
            bound = conjunct.this
        elif isinstance(conjunct, exp.Between) and is_time(conjunct.this):
            bound = conjunct.args["low"]
        if bound is None:
            continue
        offset = _is_now_literal(bound)
        if offset is not None:
            relative.append(offset)
        elif _FIXED_TIME in bound.meta:
            fixed.append(bound.meta[_FIXED_TIME])
    return min(relative, default=None), max(fixed, default=None)


def _name_columns(tree: exp.Expr) -> None:
    """Unnamed result columns get Trino's names: _col0, _col1... by position."""
    select = tree
    while isinstance(select, exp.SetOperation):
        select = select.this
    if isinstance(select, exp.Subquery):
        select = select.unnest()
    if not isinstance(select, exp.Select):
        return
    for i, projection in enumerate(list(select.expressions)):
        if isinstance(projection, (exp.Alias, exp.Column, exp.Star)):
            continue
        if isinstance(projection, exp.Dot) and projection.name:  # a row's field keeps the field's name
            if not isinstance(projection.this, exp.Column):
                projection.replace(exp.alias_(projection.copy(), projection.name, quoted=True))
            continue
        projection.replace(exp.alias_(projection.copy(), f"_col{i}", quoted=True))


def _values_rows(tree: exp.Expr) -> None:
    """A VALUES row written in extra parentheses, ``VALUES (('a', 1)), (('b', 2))``, is a row of
    two columns in Trino (AWS's aggregate examples write their rows so), not one column holding a row."""
    for values in tree.find_all(exp.Values):
        for row in list(values.expressions):
            inner = row
            while isinstance(inner, exp.Tuple) and len(inner.expressions) == 1:
                if not isinstance(inner.expressions[0], exp.Tuple):
                    break
                inner = inner.expressions[0]
            if inner is not row:
                row.replace(inner)


# ------------------------------------------------------------------------------------ generation


def _too_long(limit: int) -> ValidationException:
    return ValidationException(
        f"the query is too complex: its DuckDB form would be longer than {limit:,} characters (operations "
        "whose meaning depends on a type repeat their arguments when the type is not known from the query "
        "text; CAST such arguments to the type they have)"
    )


def _raw_sql(self: _Generator, expression: Raw) -> str:
    """A template's text with its holes filled by its arguments' generated SQL. Only the constant
    templates of functions.TEMPLATES are written: no other text can reach DuckDB this way. Templates
    may repeat an argument, so what they write is counted against the generator's budget."""
    template = expression.args["template"]
    if template not in fn.TEMPLATES:
        raise UnsupportedError("a DuckDB template that is not one of functions.TEMPLATES")
    rendered, constants = {}, set()
    for i, arg in enumerate(expression.expressions):
        text = self.sql(arg)
        # templates put arguments next to operators: keep each one whole
        whole = isinstance(arg, (exp.Column, exp.Literal, exp.Null, exp.Subquery, Raw))
        rendered[str(i)] = text if whole else f"({text})"
        # a lambda goes in place, never into a bound struct (DuckDB has no lambda values); its
        # parameters are the client's or the translator's own (__tsl_...), which no template binds
        if isinstance(arg, exp.Lambda) or arg.find(exp.Column, exp.Identifier, exp.Subquery) is None:
            constants.add(str(i))
    sql = fn.bind(template, rendered, frozenset(constants))
    self.tsl_written += len(sql)
    if len(sql) > self.tsl_limit or self.tsl_written > 4 * self.tsl_limit:
        raise _too_long(self.tsl_limit)
    return sql


class _Generator(DuckDBGenerator):
    TRANSFORMS: ClassVar[dict] = {**DuckDBGenerator.TRANSFORMS, Raw: _raw_sql}

    def __init__(self, *args: object, limit: int = MAX_SQL_CHARS, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.tsl_limit = limit
        self.tsl_written = 0

    def lambda_sql(self, expression: exp.Lambda, arrow_sep: str = "->", wrap: bool = True) -> str:
        """Only the client's own lambdas are written. sqlglot writes some functions with lambdas of
        its own, whose parameter (x) would capture a column of that name in their arguments."""
        if not expression.meta.get(_USER_LAMBDA):
            raise UnsupportedError("a function that sqlglot writes with a lambda of its own")
        return super().lambda_sql(expression, arrow_sep=arrow_sep, wrap=wrap)


def _now_text(now_ns: int, offset_ns: int) -> str:
    try:
        return f"'{format_ns(now_ns - offset_ns)}'"
    except (OverflowError, ValueError):
        raise ValidationException("a duration in ago() reaches outside the supported time range") from None


def bind_now(sql: str, now_ns: int) -> str:
    """Fill the query's "now" (UTC nanoseconds) into a translation's time literals."""
    return _NOW_LITERAL.sub(lambda match: _now_text(now_ns, int(match.group(1))), sql)


def now_parameters(sql: str) -> tuple[str, tuple[int, ...]]:
    """A translation with its time literals turned into parameters $1, $2 ..., one for each
    distinct offset from now; returns the text and those offsets (nanoseconds) in parameter order."""
    offsets = tuple(dict.fromkeys(int(offset) for offset in _NOW_LITERAL.findall(sql)))
    position = {offset: n for n, offset in enumerate(offsets, start=1)}
    return _NOW_LITERAL.sub(lambda match: f"${position[int(match.group(1))]}", sql), offsets


def now_values(offsets: tuple[int, ...], now_ns: int) -> list[str]:
    """The SQL literals for ``now_parameters``' parameters when "now" is ``now_ns``."""
    return [_now_text(now_ns, offset) for offset in offsets]


def bind_tables(sql: str, relations: list[str]) -> str:
    """Fill the relation each table placeholder reads (see ``TableRef.relation``)."""
    return _TABLE_PLACEHOLDER.sub(lambda match: relations[int(match.group(1))], sql)


def translate(tree: exp.Expr, max_chars: int = MAX_SQL_CHARS) -> Translation:
    """DuckDB SQL for a parsed query; its now()/ago() literals are filled by ``bind_now``. A query
    whose DuckDB text would be longer than ``max_chars`` is refused."""
    validate(tree)
    _name_columns(tree)
    _values_rows(tree)
    rewriter = _Rewriter(tree)
    tree = rewriter.finish(rewriter.run())
    intervals.wrap_results(tree)
    # comments=False: a comment in the query never reaches DuckDB (its text is the client's)
    generator = _Generator(
        dialect="duckdb", identify=True, unsupported_level=ErrorLevel.RAISE, comments=False, limit=max_chars
    )
    try:
        sql = generator.generate(tree)
    except UnsupportedError as error:
        raise ValidationException(f"unsupported SQL: {error}") from None
    except RecursionError:
        raise ValidationException("the query is nested too deeply") from None
    if len(sql) > max_chars:
        raise _too_long(max_chars)
    return Translation(sql=sql, tables=rewriter.tables)
