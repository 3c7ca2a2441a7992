"""The SQL side of timestream_local: Timestream SQL in, Timestream's Query wire format out.

    from timestream_local.query import execute_query, QueryResult
    result = execute_query(cursor, "SELECT ... FROM \"iot\".\"pm25\" WHERE time > ago(5m)", timeout_s=60)
    result.column_info  # [{"Name": ..., "Type": {"ScalarType": "BIGINT"}}, ...]
    result.rows         # [{"Data": [{"ScalarValue": "42"}, {"NullValue": True}, ...]}, ...]

Modules: ``lexer`` (duration literals, measure_value::type, parsing), ``arity`` (argument counts
of every supported function; a call with another count is refused), ``validate`` (what is
refused), ``kinds`` (time series vs arrays, scalar types), ``translate`` (Timestream -> DuckDB SQL),
``functions`` (the supported functions and the registry of every DuckDB text), ``semantics``
(Trino's meaning of built-ins), and by concern ``timeseries``, ``interpolation``, ``intervals``,
``numeric``, ``datetimes``, ``arrays``, ``strings``, ``typeof``; ``syntax`` (shared helpers),
``guard`` (DuckDB's own check of the final SQL), ``results`` (wire format), ``metadata`` (SHOW /
DESCRIBE), ``prepared`` and ``engine`` (execution, caches, timeout, error mapping); ``unload`` (an UNLOAD
statement read: its SELECT text, S3 destination and checked WITH options).
"""

from timestream_local.query.engine import (
    QueryCancelledError,
    QueryResult,
    QueryTimeoutError,
    check_query,
    execute_query,
)

__all__ = ["QueryCancelledError", "QueryResult", "QueryTimeoutError", "check_query", "execute_query"]
