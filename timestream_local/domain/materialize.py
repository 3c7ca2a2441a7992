"""A scheduled query's result turned into WriteRecords records by its TargetConfiguration.

``check_columns`` refuses a result whose columns do not fit the mapping (a missing column, a time
column that is not a TIMESTAMP, a dimension that is not a VARCHAR, a measure of another type):
the whole run fails with that reason. ``to_records`` maps each row: the time column becomes the
record's time (nanoseconds), each mapped dimension a dimension (a NULL one is left out), and the
measures as the mapping says (MultiMeasureMappings: one multi-measure record per row, named
TargetMultiMeasureName or the row's MeasureNameColumn; MixedMeasureMappings: one record per mapping
that applies to the row). NULL measure values are left out and a row left without any measure
writes nothing; a row whose time or measure name is NULL is a row error with the row as received.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

# What a mapping's type accepts from a result column (Timestream widens integers to DOUBLE).
_ACCEPTS = {
    "BIGINT": {"BIGINT", "INTEGER"},
    "DOUBLE": {"DOUBLE", "BIGINT", "INTEGER"},
    "VARCHAR": {"VARCHAR"},
    "BOOLEAN": {"BOOLEAN"},
    "TIMESTAMP": {"TIMESTAMP"},
}
_EPOCH = dt.datetime(1970, 1, 1)


class MappingError(Exception):
    """The result does not fit the TargetConfiguration: the run fails with this reason."""


def timestamp_ns(text: str) -> int:
    """A TIMESTAMP as the query API writes it ('2021-12-01 00:00:00.000000000') in nanoseconds."""
    whole, _, fraction = text.partition(".")
    moment = dt.datetime.strptime(whole, "%Y-%m-%d %H:%M:%S")
    seconds = (moment - _EPOCH) // dt.timedelta(seconds=1)
    return seconds * 1_000_000_000 + int((fraction or "0").ljust(9, "0")[:9])


def _types(column_info: list[dict[str, Any]]) -> dict[str, str]:
    return {column["Name"]: column.get("Type", {}).get("ScalarType", "COMPLEX") for column in column_info}


def _need(types: dict[str, str], column: str, accepted: set[str], role: str) -> None:
    if column not in types:
        raise MappingError(
            f"The query result has no column '{column}', which TargetConfiguration maps as {role}."
        )
    if types[column] not in accepted:
        raise MappingError(
            f"The column '{column}' ({role}) is {types[column]} in the query result; the mapping needs "
            f"{' or '.join(sorted(accepted))}."
        )


def _attribute_columns(mappings: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(source column, attribute name, type) of each multi-measure attribute mapping."""
    return [
        (
            m["SourceColumn"],
            m.get("TargetMultiMeasureAttributeName", m["SourceColumn"]),
            m["MeasureValueType"],
        )
        for m in mappings
    ]


def check_columns(column_info: list[dict[str, Any]], config: dict[str, Any]) -> None:
    """MappingError when the result's columns do not fit the mapping."""
    types = _types(column_info)
    _need(types, config["TimeColumn"], {"TIMESTAMP"}, "TimeColumn")
    for dimension in config["DimensionMappings"]:
        _need(types, dimension["Name"], {"VARCHAR"}, "a dimension")
    if "MeasureNameColumn" in config:
        _need(types, config["MeasureNameColumn"], {"VARCHAR"}, "MeasureNameColumn")
    multi = config.get("MultiMeasureMappings")
    mappings = [{"MeasureValueType": "MULTI", **multi}] if multi else config["MixedMeasureMappings"]
    for mapping in mappings:
        if mapping["MeasureValueType"] == "MULTI":
            for source, _name, kind in _attribute_columns(mapping["MultiMeasureAttributeMappings"]):
                _need(types, source, _ACCEPTS[kind], f"a {kind} measure")
        else:
            _need(types, mapping["SourceColumn"], _ACCEPTS[mapping["MeasureValueType"]], "a measure")


def _value(text: str, kind: str) -> str:
    return str(timestamp_ns(text)) if kind == "TIMESTAMP" else text


def _multi_values(row: dict[str, str | None], mappings: list[dict[str, Any]]) -> list[dict[str, str]]:
    values = []
    for source, name, kind in _attribute_columns(mappings):
        if row[source] is not None:
            values.append({"Name": name, "Value": _value(row[source], kind), "Type": kind})  # type: ignore[arg-type]
    return values


def _measures(
    row: dict[str, str | None], config: dict[str, Any], measure_name: str | None
) -> list[dict[str, Any]]:
    """The measure part of each record a row makes."""
    multi = config.get("MultiMeasureMappings")
    if multi:
        values = _multi_values(row, multi["MultiMeasureAttributeMappings"])
        name = measure_name if measure_name is not None else multi["TargetMultiMeasureName"]
        return [{"MeasureName": name, "MeasureValueType": "MULTI", "MeasureValues": values}] if values else []
    made = []
    for mapping in config["MixedMeasureMappings"]:
        if measure_name is not None and mapping["MeasureName"] != measure_name:
            continue
        name = mapping.get("TargetMeasureName") or mapping.get("MeasureName") or mapping["SourceColumn"]
        kind = mapping["MeasureValueType"]
        if kind == "MULTI":
            values = _multi_values(row, mapping["MultiMeasureAttributeMappings"])
            if values:
                made.append({"MeasureName": name, "MeasureValueType": "MULTI", "MeasureValues": values})
        elif row[mapping["SourceColumn"]] is not None:
            value = _value(row[mapping["SourceColumn"]], kind)  # type: ignore[arg-type]
            made.append({"MeasureName": name, "MeasureValueType": kind, "MeasureValue": value})
    return made


def to_records(
    column_info: list[dict[str, Any]], rows: list[dict[str, Any]], config: dict[str, Any]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The records the rows make, and the rows that make none for a fault ({"reason", "rawLine"})."""
    names = [column["Name"] for column in column_info]
    records: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for raw in rows:
        row = {
            name: (None if datum.get("NullValue") else datum.get("ScalarValue"))
            for name, datum in zip(names, raw["Data"], strict=True)
        }
        time_text = row[config["TimeColumn"]]
        measure_name = row[config["MeasureNameColumn"]] if "MeasureNameColumn" in config else None
        if time_text is None or ("MeasureNameColumn" in config and measure_name is None):
            column = config["TimeColumn"] if time_text is None else config["MeasureNameColumn"]
            errors.append(
                {"reason": f"The column '{column}' is NULL in this row.", "rawLine": json.dumps(row)}
            )
            continue
        dimensions = [
            {"Name": d["Name"], "Value": row[d["Name"]], "DimensionValueType": "VARCHAR"}
            for d in config["DimensionMappings"]
            if row[d["Name"]] is not None
        ]
        time = str(timestamp_ns(time_text))
        for measure in _measures(row, config, measure_name):
            records.append({"Dimensions": dimensions, "Time": time, "TimeUnit": "NANOSECONDS", **measure})
    return records, errors


def record_bytes(record: dict[str, Any]) -> int:
    """A record's size as Timestream meters writes: its names and values in UTF-8 and 8 bytes of time."""
    size = 8 + len(record["MeasureName"].encode())
    for dimension in record["Dimensions"]:
        size += len(dimension["Name"].encode()) + len(dimension["Value"].encode())
    for value in record.get("MeasureValues", [{"Name": "", "Value": record.get("MeasureValue", "")}]):
        size += len(value["Name"].encode()) + len(value["Value"].encode())
    return size
