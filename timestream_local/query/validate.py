"""Refuse what the query language does not support, naming it: statement kinds, clauses,
functions, casts, nesting depth, and table names that are not ``database.table``."""

from __future__ import annotations

import re

from sqlglot import exp

from timestream_local.exceptions import ValidationException
from timestream_local.query import functions as fn
from timestream_local.query.lexer import WRITTEN_NAME
from timestream_local.query.syntax import date_unit, fail, java_only_regex, node_name

MAX_DEPTH = 120


def depth_of(tree: exp.Expr) -> int:
    """How deeply the tree nests (stops counting past MAX_DEPTH), without recursion."""
    deepest = 0
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_DEPTH:
            return depth
        stack.extend((child, depth + 1) for child in node.iter_expressions())
    return deepest


_KEYWORD_HOLDERS = (exp.Interval, exp.IntervalSpan, exp.Extract, exp.TimestampTrunc, exp.DateTrunc, exp.DateAdd, exp.DateDiff,
                    exp.WindowSpec)  # fmt: skip


def validate(tree: exp.Expr) -> None:
    if not isinstance(tree, exp.Query):
        kind = str(tree.this).split()[0].upper() if isinstance(tree, exp.Command) else tree.key.upper()
        raise ValidationException(
            f"{kind[:40]} is not supported: only SELECT queries (and SHOW/DESCRIBE) are; Timestream's "
            "Query API is read-only"
        )
    if depth_of(tree) > MAX_DEPTH:
        raise ValidationException(f"the query is nested too deeply (more than {MAX_DEPTH} levels)")
    cte_names = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for node in tree.walk():
        _validate_node(node, cte_names)


def _validate_node(node: exp.Expr, cte_names: set[str]) -> None:
    if isinstance(node, exp.Anonymous):
        name = node.name.lower()
        if name in fn.REFUSED_WHY:
            raise fail(
                node, f"function {name}() is not supported by timestream_local: {fn.REFUSED_WHY[name]}"
            )
        if name not in fn.TIMESTREAM_FUNCTIONS:
            raise fail(node, f"function {name}() is not supported")
        arities = fn.TIMESTREAM_FUNCTIONS[name]
        if len(node.expressions) not in arities:
            expected = " or ".join(str(a) for a in arities)
            raise fail(node, f"{name}() takes {expected} argument(s), got {len(node.expressions)}")
        if name == "create_time_series" and isinstance(node.parent, exp.Window):
            raise fail(node, "create_time_series() cannot be used as a window function")
        return
    written, names = node.meta.get(WRITTEN_NAME), fn.call_names(type(node))
    if written is not None and names is not None and written not in names:
        raise fail(node, f"function {written[:60]}() is not supported")
    if isinstance(node, exp.Func) and type(node) in fn.FUNCTIONS:
        _validate_function(node)
        return
    if isinstance(node, (*fn.STRUCTURE, exp.Filter)):
        _validate_structure(node, cte_names)
        return
    if isinstance(node, exp.Func):
        name = node_name(node)
        why = f" by timestream_local: {fn.REFUSED_WHY[name]}" if name in fn.REFUSED_WHY else ""
        raise fail(node, f"function {name}() is not supported{why}")
    raise fail(node, f"{node_name(node)} is not supported")


_REGEXPS = (exp.RegexpLike, exp.RegexpExtract, exp.RegexpExtractAll, exp.RegexpReplace, exp.RegexpSplit)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _validate_function(node: exp.Func) -> None:
    if isinstance(node, exp.GenerateSeries) and node.args.get("is_end_exclusive"):
        raise fail(node, "only sequence(start, stop[, step]) is supported")
    if isinstance(node, exp.ApproxQuantile) and node.args.get("weight") is not None:
        raise fail(
            node, "approx_percentile(x, w, percentage) with weights is not supported by timestream_local"
        )
    if isinstance(node, exp.ApproxDistinct) and node.args.get("accuracy") is not None:
        error = node.args["accuracy"]
        if not (
            isinstance(error, exp.Literal) and error.is_number and 0.0040625 <= float(error.name) <= 0.26
        ):
            raise fail(node, "approx_distinct(x, e): e must be a number between 0.0040625 and 0.26000")
    if isinstance(node, exp.DateAdd | exp.DateDiff | exp.TimestampTrunc | exp.DateTrunc):
        date_unit(node, fn.FUNCTIONS[type(node)].split("/")[0])
    elif isinstance(node, exp.Extract):
        field = node.this.name.upper()
        if field not in fn.EXTRACT:
            raise fail(node, f"extract() has no field {field[:40]}; use one of {', '.join(fn.EXTRACT)}")
    elif isinstance(node, _REGEXPS) and isinstance(node.expression, exp.Literal):
        feature = java_only_regex(node.expression.name)
        if feature is not None:
            raise fail(
                node,
                f"{node_name(node)}(): the pattern uses {feature}, which timestream_local does not support (its "
                "regular expression engine, RE2, lacks them or reads them differently from Java, whose "
                "pattern syntax Trino uses)",
            )


def _validate_structure(node: exp.Expr, cte_names: set[str]) -> None:  # noqa: PLR0912
    if isinstance(node, exp.Select):
        for key in ("qualify", "laterals", "into", "prewhere", "connect", "sample", "settings", "format"):
            if node.args.get(key):
                raise fail(node, f"{key.upper()} is not supported")
        if node.args.get("kind"):
            raise fail(node, "SELECT AS STRUCT/VALUE is not supported")
    elif isinstance(node, exp.With) and node.args.get("recursive"):
        raise fail(node, "WITH RECURSIVE is not supported")
    elif isinstance(node, exp.Table):
        _validate_table(node, cte_names)
    elif isinstance(node, exp.Cast):
        to = node.to
        if to.this not in fn.CAST_TYPES:
            raise fail(node, f"CAST to {to.sql(dialect='trino')} is not supported")
    elif isinstance(node, exp.ColumnDef):
        if not isinstance(node.parent, exp.DataType):
            raise fail(node, "a field definition is only supported in a ROW type: ROW(name type, ...)")
        if node.args.get("constraints"):
            raise fail(node, "a ROW type's fields take a name and a type, no constraint (NOT NULL ...)")
    elif isinstance(node, exp.Struct):
        if any(
            not isinstance(field, exp.Expr) or isinstance(field, exp.PropertyEQ) for field in node.expressions
        ):
            raise fail(
                node,
                "ROW(...) takes values: ROW(1, 'a'); name its fields with CAST(... AS ROW(a BIGINT, ...))",
            )
    elif isinstance(node, exp.IntervalSpan) and isinstance(node.parent, exp.Interval):
        return  # INTERVAL '2-7' YEAR TO MONTH (read by intervals.span_literal)
    elif isinstance(node, exp.DataType):
        if node.this not in fn.CAST_TYPES and not isinstance(node.parent, exp.DataType):
            raise fail(node, f"type {node.sql(dialect='trino')} is not supported")
    elif isinstance(node, exp.Unnest):
        if not isinstance(node.parent, (exp.From, exp.Join)):
            raise fail(node, "UNNEST is only supported in FROM / CROSS JOIN")
    elif isinstance(node, exp.Join):
        if node.args.get("method") or node.args.get("global"):
            raise fail(node, f"{node.args.get('method') or 'GLOBAL'} JOIN is not supported")
        kind = (node.args.get("kind") or "").upper()
        if kind in ("SEMI", "ANTI", "ASOF", "POSITIONAL"):
            raise fail(node, f"{kind} JOIN is not supported")
    # a Var is written out as it is: only plain words, and only where keywords belong
    elif isinstance(node, exp.Var) and (
        not isinstance(node.parent, _KEYWORD_HOLDERS) or not _WORD.fullmatch(node.name)
    ):
        raise fail(node, f"unexpected keyword {node.name[:40]}")


def _validate_table(node: exp.Table, cte_names: set[str]) -> None:
    if not isinstance(node.this, exp.Identifier):
        raise fail(node, f"{node_name(node.this)} is not supported in FROM; name a table as database.table")
    if node.args.get("catalog"):
        raise fail(node, f"table names have two parts (database.table); got {node.sql(dialect='trino')}")
    for key in ("joins", "pivots", "laterals", "version", "when", "sample", "hints", "changes"):
        if node.args.get(key):
            raise fail(node, f"{key.upper()} on a table is not supported")
    if not node.args.get("db"):
        if node.name.lower() in cte_names:
            return
        raise fail(
            node,
            f'the table \'{node.name}\' must be qualified with its database, e.g. "iot"."{node.name}"',
        )
