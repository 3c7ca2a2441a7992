"""Tell time series from arrays, intervals and scalars, following columns through CTEs and
sub-queries (sqlglot's scopes): UNNEST and the interpolation functions need to know."""

from __future__ import annotations

from sqlglot import exp
from sqlglot.errors import OptimizeError
from sqlglot.optimizer.scope import Scope, traverse_scope

from timestream_local.query.syntax import is_duration

TIMESERIES = "timeseries"
ARRAY = "array"
INTERVAL = "interval"
SCALAR = "scalar"
UNKNOWN = "unknown"


class Kinds:
    """Tells time series from arrays, intervals and scalars, following columns through CTEs."""

    def __init__(self, tree: exp.Expr) -> None:
        self._scopes: dict[int, Scope] = {}
        try:
            for scope in traverse_scope(tree):
                self._scopes[id(scope.expression)] = scope
        except (OptimizeError, RecursionError, KeyError, ValueError):
            self._scopes = {}

    def _scope_of(self, node: exp.Expr) -> Scope | None:
        current: exp.Expr | None = node
        while current is not None:
            scope = self._scopes.get(id(current))
            if scope is not None:
                return scope
            current = current.parent
        return None

    def of(self, node: exp.Expr | None, depth: int = 0) -> str:  # noqa: PLR0911
        if node is None or depth > 40:
            return UNKNOWN
        if isinstance(node, (exp.Paren, exp.Alias)):
            return self.of(node.this, depth + 1)
        if is_duration(node) or isinstance(node, exp.Interval):
            return INTERVAL
        if isinstance(node, exp.Anonymous):
            name = node.name.lower()
            if name == "create_time_series":
                return TIMESERIES
            if name.startswith("interpolate_"):
                second = node.expressions[1] if len(node.expressions) > 1 else None
                return TIMESERIES if self.of(second, depth + 1) in (ARRAY, UNKNOWN) else SCALAR
            return SCALAR
        if isinstance(node, (exp.GenerateSeries, exp.Array, exp.ArrayAgg, exp.Split, exp.ArrayDistinct,
                             exp.Transform, exp.Flatten)):  # fmt: skip
            return ARRAY
        if isinstance(node, (exp.ArrayFilter, exp.ArraySort)):
            inner = self.of(node.this, depth + 1)
            return inner if inner in (TIMESERIES, ARRAY) else ARRAY
        if isinstance(node, (exp.Case, exp.If, exp.Coalesce)):
            branches = [node.args.get("true"), node.args.get("default"), node.this]
            branches += [w.args.get("true") for w in node.args.get("ifs") or []]
            for branch in branches:
                kind = self.of(branch, depth + 1) if branch is not None else UNKNOWN
                if kind not in (UNKNOWN, SCALAR):
                    return kind
            return SCALAR
        if isinstance(node, exp.Column):
            return self._column(node, depth)
        return SCALAR

    def _column(self, column: exp.Column, depth: int) -> str:
        scope = self._scope_of(column)
        if scope is None:
            return UNKNOWN
        wanted = column.name.lower()
        qualifier = column.table.lower()
        for source_name, source in scope.sources.items():
            if qualifier and source_name.lower() != qualifier:
                continue
            if isinstance(source, exp.Table):
                if qualifier:
                    return SCALAR
                continue
            if not isinstance(source, Scope) or not isinstance(source.expression, exp.Query):
                continue
            for projection in source.expression.selects:
                if projection.alias_or_name.lower() == wanted:
                    return self.of(projection, depth + 1)
        return UNKNOWN
