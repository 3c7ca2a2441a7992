"""Turn Timestream Query API results (ColumnInfo + Rows of Datum) into Python values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[list[Any]]


def _scalar(value: str, scalar_type: str) -> Any:
    if scalar_type in ("BIGINT", "INTEGER"):
        return int(value)
    if scalar_type == "DOUBLE":
        return float(value)
    if scalar_type == "BOOLEAN":
        return value == "true"
    return value  # VARCHAR, TIMESTAMP, DATE, TIME, INTERVAL_* stay as Timestream prints them


def datum_value(datum: dict[str, Any], column_type: dict[str, Any]) -> Any:
    """One Datum as a Python value: scalars typed, time series as [(time, value)], arrays as lists."""
    if datum.get("NullValue"):
        return None
    if "ScalarValue" in datum:
        return _scalar(datum["ScalarValue"], column_type.get("ScalarType", "VARCHAR"))
    if "TimeSeriesValue" in datum:
        value_type = column_type["TimeSeriesMeasureValueColumnInfo"]["Type"]
        return [
            (point["Time"], datum_value(point["Value"], value_type)) for point in datum["TimeSeriesValue"]
        ]
    if "ArrayValue" in datum:
        element_type = column_type["ArrayColumnInfo"]["Type"]
        return [datum_value(item, element_type) for item in datum["ArrayValue"]]
    if "RowValue" in datum:
        fields = column_type["RowColumnInfo"]
        return [
            datum_value(item, field["Type"])
            for item, field in zip(datum["RowValue"]["Data"], fields, strict=True)
        ]
    raise ValueError(f"unknown Timestream datum {datum!r}")


def run_query(client: Any, sql: str) -> QueryResult:
    """Run one query through a boto3 ``timestream-query`` client, following NextToken to the end."""
    columns: list[str] = []
    rows: list[list[Any]] = []
    for page in client.get_paginator("query").paginate(QueryString=sql):
        info = page["ColumnInfo"]
        columns = [column["Name"] for column in info]
        for row in page["Rows"]:
            rows.append([datum_value(d, c["Type"]) for d, c in zip(row["Data"], info, strict=True)])
    return QueryResult(columns, rows)
