"""Rows waiting for DuckDB, kept as columns: one list per column, None where a row has no value.

The flusher sends pending rows to DuckDB as one JSON document of columns (see MemoryTier.insert in memory.py).
Keeping them in that shape from the start means the flusher does no per-row Python work, and a
streaming write can fill the lists directly without building an object per record.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from timestream_local.catalog import VERSION_KEY
from timestream_local.models import ParsedRecord


class Columns:
    """`count` rows as {column name: list of `count` values}; absent values are None."""

    __slots__ = ("count", "data")

    def __init__(self, count: int = 0, data: dict[str, list[Any]] | None = None) -> None:
        self.count = count
        self.data: dict[str, list[Any]] = {} if data is None else data

    @classmethod
    def from_records(cls, records: Iterable[ParsedRecord]) -> Columns:
        """The one conversion of parsed records (full write path, log replay) into column form."""
        rows = list(records)
        count = len(rows)
        data: dict[str, list[Any]] = {
            "measure_name": [r.measure_name for r in rows],
            "time": [r.time_ns for r in rows],
            VERSION_KEY: [r.version for r in rows],
        }
        for position, record in enumerate(rows):
            for name, value in record.dims:
                column = data.get(name)
                if column is None:
                    column = data[name] = [None] * count
                column[position] = value
            for name, value in record.values.items():
                column = data.get(name)
                if column is None:
                    column = data[name] = [None] * count
                column[position] = value
        return cls(count, data)

    def extend(self, other: Columns) -> None:
        """Append other's rows; columns only one side has are padded with None."""
        data = self.data
        for name, values in other.data.items():
            column = data.get(name)
            if column is None:
                data[name] = [None] * self.count + values
            else:
                column.extend(values)
        if len(data) != len(other.data):
            padding = [None] * other.count
            for name, column in data.items():
                if name not in other.data:
                    column.extend(padding)
        self.count += other.count

    def slice(self, start: int, stop: int) -> Columns:
        """Rows start..stop-1 as new Columns, without the columns that hold no value there."""
        data = {}
        for name, values in self.data.items():
            part = values[start:stop]
            if part.count(None) != len(part):
                data[name] = part
        return Columns(stop - start, data)
