"""CreateScheduledQuery's parameters checked as AWS checks them: required fields, lengths, patterns,
enumerations and the rules of the target mapping. Each fault is a ValidationException that names
the field by its path (``TargetConfiguration.TimestreamConfiguration.DimensionMappings[0].Name``).

``parse_definition`` answers the definition as it is kept and described (AWS's shapes, only the
fields AWS defines); the query text's parameters are checked by ``parameters.bind``.
"""

from __future__ import annotations

import re
from typing import Any

from timestream_local.domain.parameters import bind
from timestream_local.domain.schedules import parse_schedule
from timestream_local.exceptions import ValidationException

NAME_PATTERN = re.compile(r"[a-zA-Z0-9|!\-_*'()]([a-zA-Z0-9]|[!\-_*'()/.])+")
BUCKET_PATTERN = re.compile(r"[a-z0-9][.\-a-z0-9]{1,61}[a-z0-9]")
TOPIC_ARN = re.compile(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?")
ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}")
SCALAR_TYPES = ("BIGINT", "BOOLEAN", "DOUBLE", "VARCHAR", "TIMESTAMP")
MIXED_TYPES = ("BIGINT", "BOOLEAN", "DOUBLE", "VARCHAR", "MULTI")
MAX_QUERY_LENGTH = 262_144


def _fault(path: str, why: str) -> ValidationException:
    return ValidationException(
        f"1 validation error detected: Value at '{path}' failed to satisfy constraint: {why}"
    )


def _missing(path: str) -> ValidationException:
    return ValidationException(
        f"1 validation error detected: Value null at '{path}' failed to satisfy constraint: Member must not be null"
    )


def _struct(params: dict[str, Any], key: str, path: str, required: bool = True) -> dict[str, Any] | None:
    value = params.get(key)
    if value is None:
        if required:
            raise _missing(path)
        return None
    if not isinstance(value, dict):
        raise _fault(path, "Member must be a structure")
    return value


def _text(params: dict[str, Any], key: str, path: str, low: int = 1, high: int = 2048,
          required: bool = True, pattern: re.Pattern[str] | None = None,
          choices: tuple[str, ...] = ()) -> str | None:  # fmt: skip
    value = params.get(key)
    if value is None:
        if required:
            raise _missing(path)
        return None
    if not isinstance(value, str):
        raise _fault(path, "Member must be a string")
    if not low <= len(value) <= high:
        raise _fault(path, f"Member must have length between {low} and {high} (got {len(value)})")
    if pattern is not None and not pattern.fullmatch(value):
        raise _fault(path, f"Member must satisfy regular expression pattern: {pattern.pattern}")
    if choices and value not in choices:
        raise _fault(path, f"Member must satisfy enum value set: [{', '.join(choices)}]")
    return value


def _list(params: dict[str, Any], key: str, path: str, required: bool = True) -> list[Any] | None:
    value = params.get(key)
    if value is None:
        if required:
            raise _missing(path)
        return None
    if not isinstance(value, list):
        raise _fault(path, "Member must be a list")
    if not value:
        raise _fault(path, "Member must have length greater than or equal to 1")
    for position, item in enumerate(value):
        if not isinstance(item, dict):
            raise _fault(f"{path}[{position}]", "Member must be a structure")
    return value


def _attribute_mappings(items: list[dict[str, Any]], path: str) -> list[dict[str, Any]]:
    kept = []
    for position, item in enumerate(items):
        where = f"{path}[{position}]"
        mapping = {
            "SourceColumn": _text(item, "SourceColumn", f"{where}.SourceColumn"),
            "MeasureValueType": _text(
                item, "MeasureValueType", f"{where}.MeasureValueType", choices=SCALAR_TYPES
            ),
        }
        target = _text(
            item,
            "TargetMultiMeasureAttributeName",
            f"{where}.TargetMultiMeasureAttributeName",
            required=False,
        )
        if target is not None:
            mapping["TargetMultiMeasureAttributeName"] = target
        kept.append(mapping)
    return kept


def _mixed_mappings(items: list[dict[str, Any]], path: str, by_name: bool) -> list[dict[str, Any]]:
    kept = []
    for position, item in enumerate(items):
        where = f"{path}[{position}]"
        kind = _text(item, "MeasureValueType", f"{where}.MeasureValueType", choices=MIXED_TYPES)
        mapping: dict[str, Any] = {"MeasureValueType": kind}
        for key in ("MeasureName", "SourceColumn", "TargetMeasureName"):
            value = _text(item, key, f"{where}.{key}", required=False)
            if value is not None:
                mapping[key] = value
        if by_name and "MeasureName" not in mapping:
            raise _missing(f"{where}.MeasureName")
        attributes = _list(
            item, "MultiMeasureAttributeMappings", f"{where}.MultiMeasureAttributeMappings", False
        )
        if kind == "MULTI":
            if attributes is None:
                raise _missing(f"{where}.MultiMeasureAttributeMappings")
            mapping["MultiMeasureAttributeMappings"] = _attribute_mappings(
                attributes, f"{where}.MultiMeasureAttributeMappings"
            )
        else:
            if attributes is not None:
                raise _fault(
                    f"{where}.MultiMeasureAttributeMappings",
                    f"Member must be absent when MeasureValueType is {kind}",
                )
            if "SourceColumn" not in mapping:
                raise _missing(f"{where}.SourceColumn")
        if (
            "TargetMeasureName" not in mapping
            and "MeasureName" not in mapping
            and "SourceColumn" not in mapping
        ):
            raise _missing(f"{where}.TargetMeasureName")
        kept.append(mapping)
    return kept


def _target(params: dict[str, Any]) -> dict[str, Any] | None:
    target = _struct(params, "TargetConfiguration", "TargetConfiguration", required=False)
    if target is None:
        return None
    path = "TargetConfiguration.TimestreamConfiguration"
    config = _struct(target, "TimestreamConfiguration", path)
    assert config is not None
    kept: dict[str, Any] = {
        "DatabaseName": _text(config, "DatabaseName", f"{path}.DatabaseName", 3, 256),
        "TableName": _text(config, "TableName", f"{path}.TableName", 3, 256),
        "TimeColumn": _text(config, "TimeColumn", f"{path}.TimeColumn"),
    }
    dimensions = []
    for position, item in enumerate(_list(config, "DimensionMappings", f"{path}.DimensionMappings") or []):
        where = f"{path}.DimensionMappings[{position}]"
        dimensions.append({
            "Name": _text(item, "Name", f"{where}.Name"),
            "DimensionValueType": _text(item, "DimensionValueType", f"{where}.DimensionValueType", choices=("VARCHAR",)),
        })  # fmt: skip
    kept["DimensionMappings"] = dimensions
    measure_name_column = _text(config, "MeasureNameColumn", f"{path}.MeasureNameColumn", required=False)
    multi = _struct(config, "MultiMeasureMappings", f"{path}.MultiMeasureMappings", required=False)
    mixed = _list(config, "MixedMeasureMappings", f"{path}.MixedMeasureMappings", required=False)
    if (multi is None) == (mixed is None):
        raise ValidationException(
            f"{path} must have exactly one of MultiMeasureMappings and MixedMeasureMappings (it has "
            f"{'both' if multi is not None else 'neither'})."
        )
    if measure_name_column is not None:
        kept["MeasureNameColumn"] = measure_name_column
    if multi is not None:
        where = f"{path}.MultiMeasureMappings"
        name = _text(multi, "TargetMultiMeasureName", f"{where}.TargetMultiMeasureName", required=False)
        if name is None and measure_name_column is None:
            raise ValidationException(
                f"{where}.TargetMultiMeasureName is required when {path}.MeasureNameColumn is not given."
            )
        attributes = _list(multi, "MultiMeasureAttributeMappings", f"{where}.MultiMeasureAttributeMappings")
        kept["MultiMeasureMappings"] = {
            **({"TargetMultiMeasureName": name} if name is not None else {}),
            "MultiMeasureAttributeMappings": _attribute_mappings(
                attributes or [], f"{where}.MultiMeasureAttributeMappings"
            ),
        }
    else:
        kept["MixedMeasureMappings"] = _mixed_mappings(
            mixed or [], f"{path}.MixedMeasureMappings", measure_name_column is not None
        )
    columns = [kept["TimeColumn"], *(d["Name"] for d in dimensions)]
    if measure_name_column is not None:
        columns.append(measure_name_column)
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise ValidationException(
            f"{path} maps the column {repeated[0]} more than once (time, dimensions and measure name need distinct columns)."
        )
    return {"TimestreamConfiguration": kept}


def parse_definition(params: dict[str, Any]) -> dict[str, Any]:
    """The scheduled query's definition from CreateScheduledQuery's parameters, in AWS's shapes."""
    name = _text(params, "Name", "Name", 1, 64, pattern=NAME_PATTERN)
    query = _text(params, "QueryString", "QueryString", 1, MAX_QUERY_LENGTH)
    assert query is not None
    bind(query, 0)  # its parameters: only @scheduled_runtime
    schedule = _struct(params, "ScheduleConfiguration", "ScheduleConfiguration")
    assert schedule is not None
    expression = _text(schedule, "ScheduleExpression", "ScheduleConfiguration.ScheduleExpression", 1, 256)
    assert expression is not None
    parse_schedule(expression)
    notification = _struct(params, "NotificationConfiguration", "NotificationConfiguration")
    assert notification is not None
    sns = _struct(notification, "SnsConfiguration", "NotificationConfiguration.SnsConfiguration")
    assert sns is not None
    topic = _text(sns, "TopicArn", "NotificationConfiguration.SnsConfiguration.TopicArn", pattern=TOPIC_ARN)
    role = _text(params, "ScheduledQueryExecutionRoleArn", "ScheduledQueryExecutionRoleArn", pattern=ROLE_ARN)
    report = _struct(params, "ErrorReportConfiguration", "ErrorReportConfiguration")
    assert report is not None
    path = "ErrorReportConfiguration.S3Configuration"
    s3 = _struct(report, "S3Configuration", path)
    assert s3 is not None
    s3_kept: dict[str, Any] = {
        "BucketName": _text(s3, "BucketName", f"{path}.BucketName", 3, 63, pattern=BUCKET_PATTERN)
    }
    prefix = _text(
        s3, "ObjectKeyPrefix", f"{path}.ObjectKeyPrefix", 1, 896, required=False, pattern=NAME_PATTERN
    )
    if prefix is not None:
        if any(part in (".", "..") for part in prefix.split("/")):
            raise ValidationException(
                f"{path}.ObjectKeyPrefix '{prefix}' has a '.' or '..' segment; timestream_local keeps error "
                "reports as files under its data directory, where such a key would lead elsewhere."
            )
        s3_kept["ObjectKeyPrefix"] = prefix
    encryption = _text(
        s3, "EncryptionOption", f"{path}.EncryptionOption", required=False, choices=("SSE_S3", "SSE_KMS")
    )
    if encryption is not None:
        s3_kept["EncryptionOption"] = encryption
    definition: dict[str, Any] = {
        "Name": name,
        "QueryString": query,
        "ScheduleConfiguration": {"ScheduleExpression": expression},
        "NotificationConfiguration": {"SnsConfiguration": {"TopicArn": topic}},
        "ScheduledQueryExecutionRoleArn": role,
        "ErrorReportConfiguration": {"S3Configuration": s3_kept},
    }
    target = _target(params)
    if target is not None:
        definition["TargetConfiguration"] = target
    kms = _text(params, "KmsKeyId", "KmsKeyId", required=False)
    if kms is not None:
        definition["KmsKeyId"] = kms
    return definition
