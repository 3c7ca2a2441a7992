"""CreateBatchLoadTask's parameters checked field by field, with AWS's shapes and limits: each refusal
is a ValidationException that names the field (``DataModelConfiguration.DataModel.TimeColumn``).

``parse_request`` checks everything that needs no S3 and no catalogue; ``parse_data_model`` checks a
DataModel, inline or read from the JSON object DataModelS3Configuration names (the API layer reads
it). ``check_sources`` applies AWS's batch load quotas to the objects under the source prefix.
"""

from __future__ import annotations

import re
from typing import Any

from timestream_local.domain.resources import validate_resource_name
from timestream_local.exceptions import ValidationException
from timestream_local.models import SCALAR_TYPES, TIME_UNITS

# AWS's batch load quotas (developer guide, Quotas: Batch load)
MAX_FILES = 100
MAX_FILE_BYTES = 5 * 1024**3
MAX_TASK_BYTES = 100 * 1024**3
MAX_DATA_MODEL_BYTES = 1024 * 1024  # a DataModelS3Configuration object larger than this is refused

_BUCKET = re.compile(r"[a-z0-9][\.\-a-z0-9]{1,61}[a-z0-9]")
_KEY = re.compile(r"[a-zA-Z0-9|!\-_*'\(\)]([a-zA-Z0-9]|[!\-_*'\(\)\/.])+")
SEPARATORS = (",", "|", ";", "\t", " ")
QUOTES = ('"', "'")


def _fail(field: str, problem: str) -> ValidationException:
    return ValidationException(f"{field} {problem}")


def _object(params: dict[str, Any], key: str, field: str, required: bool = True) -> dict[str, Any] | None:
    value = params.get(key)
    if value is None:
        if required:
            raise _fail(field, "is required.")
        return None
    if not isinstance(value, dict):
        raise _fail(field, "must be an object.")
    return value


def _text(
    params: dict[str, Any], key: str, field: str, required: bool = True, low: int = 1, high: int = 256
) -> str | None:
    value = params.get(key)
    if value is None:
        if required:
            raise _fail(field, "is required.")
        return None
    if not isinstance(value, str):
        raise _fail(field, "must be a string.")
    if not low <= len(value) <= high:
        raise _fail(field, f"must have length between {low} and {high} (got {len(value)}).")
    return value


def _choice(
    params: dict[str, Any], key: str, field: str, allowed: tuple[str, ...], required: bool = True
) -> str | None:
    value = params.get(key)
    if value is None and not required:
        return None
    if value not in allowed:
        raise _fail(field, f"must be one of {', '.join(allowed)} (got {value!r}).")
    return value


def _bucket(params: dict[str, Any], key: str, field: str) -> str:
    name = _text(params, key, field, low=3, high=63)
    if not _BUCKET.fullmatch(name or ""):
        raise _fail(field, f"'{name}' is not a valid S3 bucket name.")
    return name  # type: ignore[return-value]


def _key(params: dict[str, Any], key: str, field: str, high: int, required: bool = False) -> str | None:
    value = _text(params, key, field, required=required, high=high)
    if value is not None and not _KEY.fullmatch(value):
        raise _fail(field, f"'{value}' is not a valid S3 object key (AWS's pattern for it).")
    return value


def _list(params: dict[str, Any], key: str, field: str, required: bool = True) -> list[Any] | None:
    value = params.get(key)
    if value is None:
        if required:
            raise _fail(field, "is required.")
        return None
    if not isinstance(value, list) or not value:
        raise _fail(field, "must be a non-empty list.")
    return value


# ------------------------------------------------------------------------------------ the request
def parse_request(params: dict[str, Any]) -> dict[str, Any]:
    """The request's parameters as kept (DescribeBatchLoadTask answers them as given)."""
    kept: dict[str, Any] = {
        "TargetDatabaseName": validate_resource_name(params.get("TargetDatabaseName"), "TargetDatabaseName"),
        "TargetTableName": validate_resource_name(params.get("TargetTableName"), "TargetTableName"),
        "DataSourceConfiguration": _data_source(params),
        "ReportConfiguration": _report(params),
    }
    model = _object(params, "DataModelConfiguration", "DataModelConfiguration", required=False)
    if model is None:
        raise _fail(
            "DataModelConfiguration", "is required here: give a DataModel or a DataModelS3Configuration."
        )
    if ("DataModel" in model) == ("DataModelS3Configuration" in model):
        raise _fail(
            "DataModelConfiguration", "must have exactly one of DataModel and DataModelS3Configuration."
        )
    if "DataModel" in model:
        parse_data_model(model["DataModel"], "DataModelConfiguration.DataModel")
    else:
        s3 = _object(model, "DataModelS3Configuration", "DataModelConfiguration.DataModelS3Configuration")
        field = "DataModelConfiguration.DataModelS3Configuration"
        _bucket(s3, "BucketName", f"{field}.BucketName")  # type: ignore[arg-type]
        _key(s3, "ObjectKey", f"{field}.ObjectKey", 1024, required=True)  # type: ignore[arg-type]
    kept["DataModelConfiguration"] = model
    version = params.get("RecordVersion")
    if version is not None:
        if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version < 2**63:
            raise _fail("RecordVersion", "must be a positive 64-bit integer.")
        kept["RecordVersion"] = version
    return kept


def _data_source(params: dict[str, Any]) -> dict[str, Any]:
    field = "DataSourceConfiguration"
    source = _object(params, "DataSourceConfiguration", field)
    _choice(source, "DataFormat", f"{field}.DataFormat", ("CSV",))  # type: ignore[arg-type]
    s3 = _object(source, "DataSourceS3Configuration", f"{field}.DataSourceS3Configuration")  # type: ignore[arg-type]
    _bucket(s3, "BucketName", f"{field}.DataSourceS3Configuration.BucketName")  # type: ignore[arg-type]
    _key(s3, "ObjectKeyPrefix", f"{field}.DataSourceS3Configuration.ObjectKeyPrefix", 1024)  # type: ignore[arg-type]
    csv = _object(source, "CsvConfiguration", f"{field}.CsvConfiguration", required=False)  # type: ignore[arg-type]
    if csv is not None:
        where = f"{field}.CsvConfiguration"
        _choice(csv, "ColumnSeparator", f"{where}.ColumnSeparator", SEPARATORS, required=False)
        _choice(csv, "QuoteChar", f"{where}.QuoteChar", QUOTES, required=False)
        _text(csv, "EscapeChar", f"{where}.EscapeChar", required=False, high=1)
        _text(csv, "NullValue", f"{where}.NullValue", required=False)
        trim = csv.get("TrimWhiteSpace")
        if trim is not None and not isinstance(trim, bool):
            raise _fail(f"{where}.TrimWhiteSpace", "must be true or false.")
        chars = [csv.get(k) for k in ("ColumnSeparator", "QuoteChar", "EscapeChar") if csv.get(k) is not None]
        if len(set(chars)) != len(chars):
            raise _fail(where, "must use different characters for ColumnSeparator, QuoteChar and EscapeChar.")
    return source  # type: ignore[return-value]


def _report(params: dict[str, Any]) -> dict[str, Any]:
    field = "ReportConfiguration"
    report = _object(params, "ReportConfiguration", field)
    s3 = _object(report, "ReportS3Configuration", f"{field}.ReportS3Configuration")  # type: ignore[arg-type]
    where = f"{field}.ReportS3Configuration"
    _bucket(s3, "BucketName", f"{where}.BucketName")  # type: ignore[arg-type]
    _key(s3, "ObjectKeyPrefix", f"{where}.ObjectKeyPrefix", 928)  # type: ignore[arg-type]
    option = _choice(
        s3, "EncryptionOption", f"{where}.EncryptionOption", ("SSE_S3", "SSE_KMS"), required=False
    )  # type: ignore[arg-type]
    kms = _text(s3, "KmsKeyId", f"{where}.KmsKeyId", required=False, high=2048)  # type: ignore[arg-type]
    if option == "SSE_KMS" and kms is None:
        raise _fail(f"{where}.KmsKeyId", "is required when EncryptionOption is SSE_KMS.")
    return report  # type: ignore[return-value]


# ---------------------------------------------------------------------------------- the data model
def _attributes(items: Any, field: str) -> list[dict[str, str]]:
    """MultiMeasureAttributeMappings as (source, attribute name, type) dicts."""
    mappings = []
    for position, item in enumerate(_list({"x": items}, "x", field) or []):
        where = f"{field}[{position}]"
        if not isinstance(item, dict):
            raise _fail(where, "must be an object.")
        source = _text(item, "SourceColumn", f"{where}.SourceColumn")
        name = _text(
            item,
            "TargetMultiMeasureAttributeName",
            f"{where}.TargetMultiMeasureAttributeName",
            required=False,
        )
        kind = _choice(item, "MeasureValueType", f"{where}.MeasureValueType", SCALAR_TYPES)
        mappings.append({"source": source, "name": name or source, "type": kind})  # type: ignore[dict-item]
    return mappings


def parse_data_model(model: Any, field: str) -> dict[str, Any]:
    """A DataModel checked, in the form the loader uses: time column and unit, dimensions (source,
    destination), measure name column, and either ``multi`` (name, attributes) or ``mixed`` mappings."""
    if not isinstance(model, dict):
        raise _fail(field, "must be an object.")
    time_column = _text(model, "TimeColumn", f"{field}.TimeColumn")
    unit = (
        _choice(model, "TimeUnit", f"{field}.TimeUnit", tuple(TIME_UNITS), required=False) or "MILLISECONDS"
    )
    dimensions = []
    for position, item in enumerate(_list(model, "DimensionMappings", f"{field}.DimensionMappings") or []):
        where = f"{field}.DimensionMappings[{position}]"
        if not isinstance(item, dict):
            raise _fail(where, "must be an object.")
        source = _text(item, "SourceColumn", f"{where}.SourceColumn")
        destination = _text(item, "DestinationColumn", f"{where}.DestinationColumn", required=False)
        dimensions.append({"source": source, "name": destination or source})
    name_column = _text(model, "MeasureNameColumn", f"{field}.MeasureNameColumn", required=False)
    multi, mixed = model.get("MultiMeasureMappings"), model.get("MixedMeasureMappings")
    if (multi is None) == (mixed is None):
        raise _fail(field, "must have exactly one of MultiMeasureMappings and MixedMeasureMappings.")
    parsed: dict[str, Any] = {
        "time": time_column,
        "unit": unit,
        "dimensions": dimensions,
        "name_column": name_column,
    }
    targets = [d["name"] for d in dimensions]
    if multi is not None:
        where = f"{field}.MultiMeasureMappings"
        if not isinstance(multi, dict):
            raise _fail(where, "must be an object.")
        name = _text(multi, "TargetMultiMeasureName", f"{where}.TargetMultiMeasureName", required=False)
        if name is None and name_column is None:
            raise _fail(f"{where}.TargetMultiMeasureName", "is required when MeasureNameColumn is not given.")
        attributes = _attributes(
            multi.get("MultiMeasureAttributeMappings"), f"{where}.MultiMeasureAttributeMappings"
        )
        parsed["multi"] = {"name": name, "attributes": attributes}
        targets += [a["name"] for a in attributes]
    else:
        parsed["mixed"] = _mixed(mixed, f"{field}.MixedMeasureMappings", name_column)
        targets += [a["name"] for m in parsed["mixed"] for a in m.get("attributes", [])]
    duplicated = sorted({t for t in targets if targets.count(t) > 1})
    if duplicated:
        raise _fail(
            field, f"maps more than one column to {', '.join(duplicated)}; column names must be unique."
        )
    return parsed


def _mixed(items: Any, field: str, name_column: str | None) -> list[dict[str, Any]]:
    mappings = []
    for position, item in enumerate(_list({"x": items}, "x", field) or []):
        where = f"{field}[{position}]"
        if not isinstance(item, dict):
            raise _fail(where, "must be an object.")
        kind = _choice(item, "MeasureValueType", f"{where}.MeasureValueType", (*SCALAR_TYPES, "MULTI"))
        measure = _text(item, "MeasureName", f"{where}.MeasureName", required=False)
        source = _text(item, "SourceColumn", f"{where}.SourceColumn", required=kind != "MULTI")
        target = _text(item, "TargetMeasureName", f"{where}.TargetMeasureName", required=False)
        if name_column is not None and measure is None:
            raise _fail(
                f"{where}.MeasureName", "is required when MeasureNameColumn is given (rows match it)."
            )
        mapping: dict[str, Any] = {"type": kind, "match": measure, "source": source,
                                   "name": target or measure or source}  # fmt: skip
        if mapping["name"] is None:
            raise _fail(f"{where}.TargetMeasureName", "is required for a MULTI mapping without MeasureName.")
        if kind == "MULTI":
            mapping["attributes"] = _attributes(
                item.get("MultiMeasureAttributeMappings"), f"{where}.MultiMeasureAttributeMappings"
            )
        mappings.append(mapping)
    return mappings


def source_columns(model: dict[str, Any]) -> list[str]:
    """Every CSV column the parsed data model reads (each file's header must have them all)."""
    columns = [model["time"], *(d["source"] for d in model["dimensions"])]
    if model["name_column"] is not None:
        columns.append(model["name_column"])
    if "multi" in model:
        columns += [a["source"] for a in model["multi"]["attributes"]]
    else:
        for mapping in model["mixed"]:
            columns += [a["source"] for a in mapping.get("attributes", [])]
            if mapping["source"] is not None:
                columns.append(mapping["source"])
    return list(dict.fromkeys(columns))


# ------------------------------------------------------------------------------------ the sources
def check_sources(objects: list[tuple[str, int]], where: str) -> list[tuple[str, int]]:
    """The files of a task (keys ending in '/' are folders, not files) within AWS's quotas."""
    field = "DataSourceConfiguration.DataSourceS3Configuration.ObjectKeyPrefix"
    files = [(key, size) for key, size in objects if not key.endswith("/")]
    if not files:
        raise _fail(field, f"names no objects: there is nothing under {where}.")
    if len(files) > MAX_FILES:
        raise _fail(
            field,
            f"names {len(files)} objects under {where}; a batch load task can have at most {MAX_FILES} files.",
        )
    for key, size in files:
        if size > MAX_FILE_BYTES:
            raise _fail(
                field,
                f"names {key}, which is {size} bytes; a batch load file can be at most {MAX_FILE_BYTES} bytes (5 GB).",
            )
    total = sum(size for _key, size in files)
    if total > MAX_TASK_BYTES:
        raise _fail(
            field,
            f"names {total} bytes of files under {where}; a batch load task can be at most {MAX_TASK_BYTES} bytes (100 GB).",
        )
    return files
