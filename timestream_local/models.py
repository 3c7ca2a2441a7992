"""Timestream's data model, shared by every layer: AWS's limits and types, the shapes of a write
request and a parsed record, retention, and the timestamp text of error messages and query results.

Pure data, no rules that decide anything and no I/O. The rules live in domain/ (resources.py: names
and table properties; records.py: WriteRecords records; table_rules.py: the ingestion window and a
table's columns).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, field
from typing import Any

NAME_PATTERN = re.compile(r"[a-zA-Z0-9_.-]+")

MEMORY_HOURS_RANGE = (1, 8766)
MAGNETIC_DAYS_RANGE = (1, 73000)
DEFAULT_MEMORY_HOURS = 6
DEFAULT_MAGNETIC_DAYS = 73000
MAX_RECORDS_PER_WRITE = 100
MAX_DIMENSIONS_PER_TABLE = 128
MAX_MEASURE_COLUMNS_PER_TABLE = 1024
MAX_MEASURES_PER_RECORD = 256
FUTURE_TOLERANCE_NS = 15 * 60 * 1_000_000_000
NS_PER_HOUR = 3600 * 1_000_000_000
NS_PER_DAY = 24 * NS_PER_HOUR

SCALAR_TYPES = ("BIGINT", "DOUBLE", "VARCHAR", "BOOLEAN", "TIMESTAMP")
MEASURE_VALUE_TYPES = (*SCALAR_TYPES, "MULTI")
DUCKDB_TYPES = {
    "BIGINT": "BIGINT",
    "DOUBLE": "DOUBLE",
    "VARCHAR": "VARCHAR",
    "BOOLEAN": "BOOLEAN",
    "TIMESTAMP": "TIMESTAMP_NS",
}
# The single-measure value column for each MeasureValueType, named as Timestream names them.
VALUE_COLUMNS = {t: f"measure_value::{t.lower()}" for t in SCALAR_TYPES}
TIME_UNITS = {"MILLISECONDS": 1_000_000, "SECONDS": 1_000_000_000, "MICROSECONDS": 1_000, "NANOSECONDS": 1}
# TIMESTAMP_NS covers 1677-09-21 .. 2262-04-11; Timestream times are non-negative epoch values.
MAX_TIME_NS = 9_223_372_036_854_775_000
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_MEASURE_VALUE_BYTES = 2048  # AWS's limit on a MeasureValue (and a dimension value)


@dataclass
class Retention:
    memory_hours: int = DEFAULT_MEMORY_HOURS
    magnetic_days: int = DEFAULT_MAGNETIC_DAYS

    def to_api(self) -> dict[str, int]:
        return {
            "MemoryStoreRetentionPeriodInHours": self.memory_hours,
            "MagneticStoreRetentionPeriodInDays": self.magnetic_days,
        }


DEFAULT_SCHEMA = {"CompositePartitionKey": [{"Type": "MEASURE"}]}


# ---------------------------------------------------------------------------------------------- records
@dataclass(slots=True)
class ParsedRecord:
    """One WriteRecords record after CommonAttributes were merged and every field validated."""

    index: int
    dims: tuple[tuple[str, str], ...]  # sorted by name
    measure_name: str
    time_ns: int
    kind: str  # one of MEASURE_VALUE_TYPES
    values: dict[str, Any]  # column name -> Python value (bool/int/float/str; TIMESTAMP as ns int)
    value_types: dict[str, str]  # column name -> Timestream scalar type
    version: int
    magnetic: bool = False

    @property
    def key(self) -> tuple:
        return (self.dims, self.measure_name, self.time_ns)


@dataclass(slots=True)
class Rejection:
    index: int
    reason: str
    existing_version: int | None = None

    def to_api(self) -> dict[str, Any]:
        body: dict[str, Any] = {"RecordIndex": self.index, "Reason": self.reason}
        if self.existing_version is not None:
            body["ExistingVersion"] = self.existing_version
        return body


class RecordError(Exception):
    """A record-level problem: the record is rejected, the rest of the batch goes on."""


@dataclass
class WriteRequest:
    database: str
    table: str
    common: dict[str, Any] = field(default_factory=dict)
    records: list[dict[str, Any]] = field(default_factory=list)
    raw: bytes | None = None  # the request body as received (logged as is for durability)


@functools.lru_cache(maxsize=4096)
def _date_text(days: int) -> str:
    """The date `days` after 1970-01-01, the year in four digits (raises OverflowError outside
    years 1..9999)."""
    date = dt.date(1970, 1, 1) + dt.timedelta(days=days)
    return f"{date.year:04d}-{date.month:02d}-{date.day:02d}"


def format_ns(time_ns: int) -> str:
    """Timestream's timestamp text: `2026-11-28 02:08:09.000000000` (UTC).

    Query results hold many timestamps of few days, so each day's text is made once."""
    days, rest = divmod(time_ns, 86_400_000_000_000)
    seconds, fraction = divmod(rest, 1_000_000_000)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    return f"{_date_text(days)} {hours:02d}:{minutes:02d}:{seconds:02d}.{fraction:09d}"
