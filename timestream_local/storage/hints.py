"""Dimension conditions a query implies without saying them, so that DuckDB's zone maps can skip.

The store keeps each block of rows sorted by its dimensions, fewest distinct values first (the
city before its stations: memory.series_order), so every row group's minimum and maximum of the
leading dimension are tight, and those of a later dimension are tight only within one value of the
ones before it. A query that names a later dimension alone (``location = 'huaqiao city'``) would
therefore find every row group's range of stations too wide to skip. The store knows which
dimension values occur together (the series it holds, domain/versions.py), so it adds what the
query implies: here ``city = 'Shenzhen'``, the city of every stored series of that station; and a
query on a city gets nothing: its stations sort after it, so their zone maps would skip nothing
more, and checking them would cost time on every row read. The answer cannot change: every stored row
belongs to a known series (a series is known before its first row is acknowledged), so a row the
query keeps satisfies the added conditions too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from timestream_local.catalog import TableInfo, literal, quote

MAX_VALUES = 64  # an implied condition with more values than this is left out (it would prune little)
_CACHE_SIZE = 256

# a series key as domain/versions.py keeps it: ((dimension, value), ...) sorted, and the measure name
SeriesKey = tuple[tuple[tuple[str, str], ...], str]


class SeriesHints:
    """Turns a query's equality conditions on dimensions into the conditions they imply on the others.

    ``series_of(table)`` returns the table's known series (a mapping keyed by SeriesKey that only ever
    gains keys, changed and read under the store lock; every method here runs under it).
    """

    def __init__(self, series_of: Callable[[TableInfo], Mapping[SeriesKey, Any]]) -> None:
        self._series_of = series_of
        self._cache: dict[tuple, tuple[int, int, dict[str, tuple[str, ...]]]] = {}

    def implied(
        self, table: TableInfo, equals: Iterable[tuple[str, tuple[str, ...]]]
    ) -> dict[str, tuple[str, ...]]:
        """For each other dimension that sorts before the asked ones (the table's DIMENSION partition
        key, or one with no more distinct values in the stored series than the asked dimension with
        the fewest: memory.series_order's rule), the values it takes in the stored series whose
        dimensions match ``equals`` (column -> allowed values). A dimension that some matching series
        lacks, or with more than MAX_VALUES values there, is left out, and nothing is implied when
        no series matches."""
        dimensions = table.dimensions
        asked = {name: frozenset(values) for name, values in equals if name in dimensions}
        if not asked:
            return {}
        series = self._series_of(table)
        key = (table.id, tuple(sorted(asked.items(), key=lambda item: item[0])))
        cached = self._cache.get(key)
        if cached is not None and cached[0] == id(series) and cached[1] == len(series):
            return cached[2]
        distinct: dict[str, set[str]] = {d: set() for d in dimensions}
        for dims, _measure in series:
            for name, value in dims:
                if name in distinct:
                    distinct[name].add(value)
        key_names = [
            k.get("Name")
            for k in table.schema.get("CompositePartitionKey") or ()
            if k.get("Type") == "DIMENSION"
        ]
        fewest = min(len(distinct[name]) for name in asked)
        found: dict[str, set[str | None]] = {
            d: set()
            for d in dimensions
            if d not in asked
            and not any(name in key_names for name in asked)
            and (d in key_names or len(distinct[d]) <= fewest)
        }
        matched = False
        for dims, _measure in series if found else ():
            values = dict(dims)
            if all(values.get(name) in allowed for name, allowed in asked.items()):
                matched = True
                for name, seen in found.items():
                    seen.add(values.get(name))
        result: dict[str, tuple[str, ...]] = {}
        if matched:
            for name, seen in found.items():
                if None not in seen and len(seen) <= MAX_VALUES:
                    result[name] = tuple(sorted(v for v in seen if v is not None))
        if len(self._cache) >= _CACHE_SIZE:
            self._cache.clear()
        self._cache[key] = (id(series), len(series), result)
        return result

    def narrow(self, table: TableInfo, relation: str, equals: Iterable[tuple[str, tuple[str, ...]]]) -> str:
        """``relation`` with the conditions ``equals`` implies on the table's other dimensions (a
        subquery), or ``relation`` itself when it implies none."""
        implied = self.implied(table, equals)
        if not implied:
            return relation
        terms = [
            f"{quote(name)} = {literal(values[0])}"
            if len(values) == 1
            else f"{quote(name)} IN ({', '.join(literal(v) for v in values)})"
            for name, values in implied.items()
        ]
        return f"(SELECT * FROM {relation} WHERE {' AND '.join(terms)})"
