"""The last check before a client's query reaches DuckDB: DuckDB's own parser reads the final SQL.

The translator builds DuckDB SQL from syntax trees, so client text should never become SQL text.
This module does not trust that. It asks DuckDB to parse the SQL about to run (``json_serialize_sql``,
which parses without binding or running anything and only accepts SELECT statements) and walks the
resulting tree. The query runs only if it is exactly one SELECT in which

* every table read is one the store bound (a ``"__TSL_TABLE_<n>__"`` placeholder) or a CTE in scope,
  never a schema-qualified name, a catalogue view such as ``duckdb_settings`` or an internal table;
* there is no table function (``read_text``, ``glob``, ``query``, ``duckdb_*`` ...);
* every function called is on the list below, unqualified: the functions the translation can
  produce and nothing that reads files, settings, sequences or the catalogue;
* every expression and query node is of a known, harmless kind.

So a translator bug can give a wrong answer or an error, but not a way out of the query. The
store's DuckDB instance is locked down as well (no file access outside the data directory, no
extensions, configuration locked: see ``timestream_local.storage.lockdown``).
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from timestream_local.exceptions import ValidationException
from timestream_local.lru import LruCache

log = logging.getLogger(__name__)

PLACEHOLDER = re.compile(r"__TSL_TABLE_\d+__")
# A number on its own (not part of a name such as log10 or __TSL_TABLE_0__, nor a $1 parameter).
# Texts that differ only in such numbers parse to the same tree but for those constants, so one
# verdict serves them all: Grafana's $__timeFilter changes only the numbers between refreshes.
_NUMBER = re.compile(r"(?<![\w$.])\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.])")
SHAPES = 512  # verified query shapes kept

_EXPRESSIONS = frozenset(
    {
        "BETWEEN", "CASE", "CAST", "COLUMN_REF", "COMPARISON", "CONJUNCTION", "CONSTANT",
        "FUNCTION", "LAMBDA", "OPERATOR", "PARAMETER", "POSITIONAL_REFERENCE", "STAR",
        "SUBQUERY", "TYPE", "WINDOW",
    }
)  # fmt: skip
_QUERY_NODES = frozenset({"SELECT_NODE", "SET_OPERATION_NODE"})
_TABLE_REFS = frozenset({"BASE_TABLE", "JOIN", "SUBQUERY", "EXPRESSION_LIST", "EMPTY", "TABLE_FUNCTION", "PIVOT",
                         "SHOW_REF", "COLUMN_DATA", "DELIM_GET", "INVALID"})  # fmt: skip

# The DuckDB functions and operators the translation may call (lower case). Anything else is refused,
# so a function added to the query language needs its DuckDB names added here.
FUNCTIONS = frozenset(
    {
        # operators, as DuckDB's parser names them
        "+", "-", "*", "/", "//", "%", "||", "~~", "!~~", "like_escape", "not_like_escape",
        "array_extract", "list_value", "struct_pack", "row", "struct_extract",
        # arithmetic
        "abs", "cbrt", "ceil", "degrees", "divide", "exp", "floor", "greatest", "least", "ln", "log",
        "pi", "power", "radians", "random", "round", "sign", "sqrt", "trunc",
        # aggregates and window functions
        "any_value", "approx_count_distinct", "approx_quantile", "arg_max", "arg_min", "array_agg",
        "avg", "bool_and", "bool_or", "corr", "count", "count_if", "count_star", "covar_pop",
        "covar_samp", "list", "max", "min", "stddev", "stddev_pop", "stddev_samp", "sum", "var_pop",
        "variance", "cume_dist", "dense_rank", "first_value", "lag", "last_value", "lead",
        "nth_value", "ntile", "percent_rank", "rank", "row_number",
        # strings
        "chr", "length", "levenshtein", "lower", "lpad", "ltrim", "regexp_matches", "replace",
        "reverse", "rpad", "rtrim", "split_part", "starts_with", "str_split", "strpos", "substring",
        "trim", "upper", "regexp_full_match", "regexp_extract",
        # conditionals, and telling types apart (typeof and cast_to_type only look at types)
        "error", "nullif", "typeof", "cast_to_type", "isnan",
        # date and time
        "date_part", "datepart", "date_sub", "date_trunc", "day", "dayofyear", "epoch", "epoch_ns",
        "hour", "isodow", "isoyear", "make_timestamp_ns", "minute", "month", "quarter", "second", "strftime",
        "timezone", "weekofyear", "year",
        # INTERVAL literals of each unit, as DuckDB's parser names them
        "to_microseconds", "to_milliseconds", "to_seconds", "to_minutes", "to_hours", "to_days", "to_weeks",
        "to_months", "to_quarters", "to_years",
        # lists
        "array_contains", "array_length", "array_to_string", "flatten", "generate_series", "len",
        "list_concat", "list_distinct", "list_filter", "list_grade_up", "list_max", "list_min",
        "list_select", "list_sort", "list_transform", "range", "unnest", "list_reduce", "list_avg", "list_sum",
        "geomean", "last_day", "epoch_us", "acos", "asin", "atan", "atan2", "cos", "cosh", "sin", "tan", "tanh",
        "isinf", "isfinite", "unicode", "hamming", "millisecond", "regr_slope",
        "regr_intercept", "bit_and", "bit_or", "&", "|", "xor", "~", "list_has_any", "list_position",
        "list_contains", "list_slice", "regexp_extract_all", "regexp_replace", "string_split_regex", "dayofmonth", "list_count", "list_append",
        "list_prepend", "list_reverse", "to_base", "bit_count", "skewness", "kurtosis", "list_zip",
        "struct_extract_at", "strptime", "try_strptime", "repeat",
    }
)  # fmt: skip


class _Walk:
    """One pass over a serialized statement; raises ValidationException at the first refusal."""

    def __init__(self, functions: frozenset[str]) -> None:
        self.functions = functions

    def visit(self, value: Any, ctes: frozenset[str]) -> None:
        stack: list[tuple[Any, frozenset[str]]] = [(value, ctes)]
        while stack:
            item, visible = stack.pop()
            if isinstance(item, list):
                stack.extend((child, visible) for child in item)
                continue
            if not isinstance(item, dict):
                continue
            cte_map = item.get("cte_map")
            entries = cte_map.get("map") if isinstance(cte_map, dict) else None
            if entries:
                names: list[str] = []
                for entry in entries:  # a CTE sees the ones defined before it, not itself
                    stack.append((entry.get("value"), visible | frozenset(names)))
                    names.append(str(entry.get("key", "")).lower())
                visible = visible | frozenset(names)
            self._check(item, visible)
            stack.extend((child, visible) for key, child in item.items() if key != "cte_map" and
                         isinstance(child, dict | list))  # fmt: skip

    def _check(self, item: dict[str, Any], visible: frozenset[str]) -> None:
        klass = item.get("class")
        kind = item.get("type")
        if klass is not None:
            if klass not in _EXPRESSIONS:
                raise _refuse(f"the expression kind {klass}")
            if klass in ("FUNCTION", "WINDOW"):
                self._function(item)
            elif klass == "TYPE" and (item.get("schema") or item.get("catalog")):
                raise _refuse(f"the type {item.get('schema')}.{item.get('type_name')}")
        elif isinstance(kind, str) and kind.endswith("_NODE") and kind != "ORDER_MODIFIER":
            if kind not in _QUERY_NODES:
                raise _refuse(f"the query node {kind}")
        elif kind in _TABLE_REFS:
            self._table(item, visible)

    def _function(self, item: dict[str, Any]) -> None:
        name = str(item.get("function_name", "")).lower()
        if item.get("schema") or item.get("catalog"):
            raise _refuse(f"the qualified function {item.get('schema')}.{name}")
        if name not in self.functions:
            raise _refuse(f"the function {name}")

    @staticmethod
    def _table(item: dict[str, Any], visible: frozenset[str]) -> None:
        kind = item["type"]
        if kind in ("JOIN", "SUBQUERY", "EXPRESSION_LIST", "EMPTY"):
            return
        if kind != "BASE_TABLE":
            raise _refuse(f"the table reference {kind}")
        name = str(item.get("table_name", ""))
        if item.get("schema_name") or item.get("catalog_name") or item.get("at_clause"):
            raise _refuse(f"the table {name} named with its schema")
        if PLACEHOLDER.fullmatch(name) is None and name.lower() not in visible:
            raise _refuse(f"the table {name}")


def _refuse(what: str) -> ValidationException:
    return ValidationException(f"the query was refused: {what} is not allowed in a query")


class Guard:
    """``check`` with the shapes it has let through remembered (parsing a big query costs DuckDB
    a few milliseconds; its verdict does not change). One per server, shared by its connections."""

    def __init__(self, functions: frozenset[str] = FUNCTIONS, size: int = SHAPES) -> None:
        self.functions = functions
        self._passed: LruCache[str, bool] = LruCache(size)

    def check(self, cursor: Any, sql: str) -> None:
        shape = _NUMBER.sub("0", sql)
        if self._passed.get(shape):
            return
        check(cursor, sql, self.functions)
        self._passed.put(shape, True)


def check(cursor: Any, sql: str, functions: frozenset[str] = FUNCTIONS) -> None:
    """Raise ValidationException unless ``sql`` is one SELECT that only reads the store's tables
    through their placeholders and calls only allowed functions. ``cursor`` is any DuckDB
    connection; nothing is bound or run, DuckDB only parses."""
    (document,) = cursor.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()
    tree = json.loads(document)
    if tree.get("error"):
        raise ValidationException(
            f"the query was refused: {tree.get('error_message', 'DuckDB cannot parse it')}"
        )
    statements = tree.get("statements") or []
    if len(statements) != 1:
        raise ValidationException(f"exactly one SQL statement is allowed per query; found {len(statements)}")
    try:
        _Walk(functions).visit(statements[0].get("node"), frozenset())
    except ValidationException as error:
        log.warning("refused a translated query (%s): %.300s", error.message, sql)
        raise
