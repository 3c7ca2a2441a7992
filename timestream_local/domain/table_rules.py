"""The rules that depend on the table a record goes to: its ingestion window (the memory and
magnetic store retention, magnetic writes enabled or not), its columns (SchemaCheck) and its
partition key (a REQUIRED dimension).

Pure logic, no I/O: the writer (writes.py) asks whether a record fits and gets the reason when not.
"""

from __future__ import annotations

from typing import Any

from timestream_local.models import (
    FUTURE_TOLERANCE_NS,
    MAX_DIMENSIONS_PER_TABLE,
    MAX_MEASURE_COLUMNS_PER_TABLE,
    NS_PER_DAY,
    NS_PER_HOUR,
    ParsedRecord,
    Retention,
    format_ns,
)


class SchemaCheck:
    """Whether records fit a table's columns, and which columns accepting them adds.

    A dimension name can never also be a measure column (nor differ from one only in letter case:
    DuckDB column names are case-insensitive); a measure name keeps the MeasureValueType it was first
    written with, and a MULTI attribute keeps its type.
    """

    def __init__(
        self, dimensions: list[str], attributes: dict[str, str], measure_types: dict[str, str]
    ) -> None:
        self.dimensions = dimensions
        self.attributes = attributes
        self.measure_types = measure_types
        self.known_dims = set(dimensions)
        self.new_dims: list[str] = []
        self.new_attrs: dict[str, str] = {}
        self.new_measures: dict[str, str] = {}
        self.lowered = {name.lower(): name for name in (*dimensions, *attributes)}

    def _case_clash(self, name: str) -> str | None:
        existing = self.lowered.get(name.lower(), name)
        return existing if existing != name else None

    def problem(self, record: ParsedRecord) -> str | None:  # noqa: PLR0911, PLR0912 - one reason per rule
        kind = self.measure_types.get(record.measure_name) or self.new_measures.get(record.measure_name)
        if kind is not None and kind != record.kind:
            return (
                f"Measure data type conflict for measure_name '{record.measure_name}': the table has it "
                f"as {kind}, the record has {record.kind}."
            )
        added = 0
        for name, _value in record.dims:
            if name in self.known_dims:
                continue
            if name in self.attributes or name in self.new_attrs:
                return f"'{name}' is a measure column of this table and cannot be used as a dimension."
            if clash := self._case_clash(name):
                return f"Dimension '{name}' differs only in letter case from column '{clash}'."
            added += 1
            if len(self.known_dims) + added > MAX_DIMENSIONS_PER_TABLE:
                return f"The table already has the maximum of {MAX_DIMENSIONS_PER_TABLE} dimensions."
        if record.kind != "MULTI":
            return None
        dims = dict(record.dims)
        added = 0
        for name, value_type in record.value_types.items():
            existing = self.attributes.get(name) or self.new_attrs.get(name)
            if existing is not None:
                if existing != value_type:
                    return (
                        f"Measure data type conflict for '{name}': the table has it as {existing}, "
                        f"the record has {value_type}."
                    )
                continue
            if name in self.known_dims or name in dims:
                return f"'{name}' is a dimension of this table and cannot be used as a measure."
            if clash := self._case_clash(name):
                return f"Measure '{name}' differs only in letter case from column '{clash}'."
            added += 1
            if len(self.attributes) + len(self.new_attrs) + added > MAX_MEASURE_COLUMNS_PER_TABLE:
                return "The table already has the maximum number of measure columns."
        return None

    def accept(self, record: ParsedRecord) -> None:
        for name, _value in record.dims:
            if name not in self.known_dims:
                self.known_dims.add(name)
                self.new_dims.append(name)
                self.lowered[name.lower()] = name
        if record.kind == "MULTI":
            for name, value_type in record.value_types.items():
                if name not in self.attributes and name not in self.new_attrs:
                    self.new_attrs[name] = value_type
                    self.lowered[name.lower()] = name
        if record.measure_name not in self.measure_types:
            self.new_measures.setdefault(record.measure_name, record.kind)

    def change(self) -> dict[str, Any] | None:
        if self.new_dims or self.new_attrs or self.new_measures:
            return {"dimensions": self.new_dims, "attributes": self.new_attrs, "measures": self.new_measures}
        return None


def missing_partition_key_reason(record: ParsedRecord, required: str) -> str | None:
    """Why a record cannot go to a table whose partition key requires the dimension ``required``
    (EnforcementInRecord REQUIRED), or None when it has it (in its own or the common dimensions)."""
    for name, _value in record.dims:
        if name == required:
            return None
    return (
        f"The record has no dimension '{required}', which the table's composite partition key requires "
        f"(Type DIMENSION, Name '{required}', EnforcementInRecord REQUIRED)."
    )


def ingestion_window_reason(
    time_ns: int, now_ns: int, retention: Retention, magnetic_writes: bool
) -> str | None:
    """Why a record's time is outside what the table accepts now, or None when it is accepted."""
    newest = now_ns + FUTURE_TOLERANCE_NS
    memory_oldest = now_ns - retention.memory_hours * NS_PER_HOUR
    magnetic_oldest = now_ns - retention.magnetic_days * NS_PER_DAY
    if time_ns > newest:
        return (
            f"The record timestamp {format_ns(time_ns)} is more than 15 minutes in the future "
            f"(the latest accepted time is {format_ns(newest)})."
        )
    if time_ns >= memory_oldest:
        return None
    if not magnetic_writes:
        return (
            f"The record timestamp {format_ns(time_ns)} is outside the time range "
            f"[{format_ns(memory_oldest)}, {format_ns(newest)}) of the memory store "
            "and magnetic store writes are not enabled on this table."
        )
    if time_ns < magnetic_oldest:
        return (
            f"The record timestamp {format_ns(time_ns)} is older than the magnetic store retention "
            f"({retention.magnetic_days} days; the oldest accepted time is {format_ns(magnetic_oldest)})."
        )
    return None
