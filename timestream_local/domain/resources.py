"""Timestream's rules for resources: database and table names, and a table's properties
(retention, magnetic store writes, schema) as CreateTable and UpdateTable take them.

Pure logic, no I/O: each function answers the normalised value or raises an AWS-worded
ValidationException.
"""

from __future__ import annotations

from typing import Any

from timestream_local.exceptions import ValidationException
from timestream_local.models import MAGNETIC_DAYS_RANGE, MEMORY_HOURS_RANGE, NAME_PATTERN, Retention


def validate_resource_name(value: Any, what: str, creating: bool = False) -> str:
    """A database or table name; creating one also checks AWS's length and pattern rules."""
    if not isinstance(value, str) or not value:
        raise ValidationException(f"{what} must be a non-empty string.")
    if creating:
        if not 3 <= len(value) <= 256:
            raise ValidationException(
                f"1 validation error detected: Value '{value}' at '{_camel(what)}' failed to satisfy "
                "constraint: Member must have length between 3 and 256"
            )
        if not NAME_PATTERN.fullmatch(value):
            raise ValidationException(
                f"1 validation error detected: Value '{value}' at '{_camel(what)}' failed to satisfy "
                "constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
            )
    return value


def _camel(what: str) -> str:
    return what[0].lower() + what[1:]


def parse_retention(value: Any) -> Retention:
    if not isinstance(value, dict):
        raise ValidationException("RetentionProperties must be an object.")
    hours = value.get("MemoryStoreRetentionPeriodInHours")
    days = value.get("MagneticStoreRetentionPeriodInDays")
    for name, number, (low, high) in (
        ("MemoryStoreRetentionPeriodInHours", hours, MEMORY_HOURS_RANGE),
        ("MagneticStoreRetentionPeriodInDays", days, MAGNETIC_DAYS_RANGE),
    ):
        if number is None:
            raise ValidationException(f"RetentionProperties.{name} is required.")
        if isinstance(number, bool) or not isinstance(number, int):
            raise ValidationException(f"RetentionProperties.{name} must be an integer.")
        if not low <= number <= high:
            raise ValidationException(
                f"1 validation error detected: Value '{number}' at 'retentionProperties.{_camel(name)}' "
                f"failed to satisfy constraint: Member must have value between {low} and {high}"
            )
    return Retention(int(hours), int(days))


def parse_magnetic_write_properties(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValidationException("MagneticStoreWriteProperties must be an object.")
    enabled = value.get("EnableMagneticStoreWrites")
    if not isinstance(enabled, bool):
        raise ValidationException(
            "MagneticStoreWriteProperties.EnableMagneticStoreWrites must be true or false."
        )
    result: dict[str, Any] = {"EnableMagneticStoreWrites": enabled}
    location = value.get("MagneticStoreRejectedDataLocation")
    if location is not None:
        if not isinstance(location, dict):
            raise ValidationException("MagneticStoreRejectedDataLocation must be an object.")
        result["MagneticStoreRejectedDataLocation"] = location
    return result


def parse_schema(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValidationException("Schema must be an object.")
    keys = value.get("CompositePartitionKey", [])
    if not isinstance(keys, list) or len(keys) > 1:
        raise ValidationException("Schema.CompositePartitionKey must be a list of at most one partition key.")
    for key in keys:
        if not isinstance(key, dict) or key.get("Type") not in ("DIMENSION", "MEASURE"):
            raise ValidationException("Each partition key needs a Type of DIMENSION or MEASURE.")
        if key["Type"] == "DIMENSION" and not isinstance(key.get("Name"), str):
            raise ValidationException("A DIMENSION partition key needs a Name.")
    return {"CompositePartitionKey": keys}
