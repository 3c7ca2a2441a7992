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


_KEY_TYPES = ("DIMENSION", "MEASURE")
_ENFORCEMENTS = ("REQUIRED", "OPTIONAL")


def _schema_error(value: Any, where: str, constraint: str) -> ValidationException:
    shown = "null" if value is None else f"'{value}'"
    return ValidationException(
        f"1 validation error detected: Value {shown} at 'schema.compositePartitionKey{where}' failed to "
        f"satisfy constraint: {constraint}"
    )


def _partition_key(key: Any, where: str) -> dict[str, str]:
    """One PartitionKey, with only the fields AWS defines."""
    if not isinstance(key, dict):
        raise ValidationException(f"schema.compositePartitionKey{where} must be an object with a Type.")
    kind = key.get("Type")
    if kind is None:
        raise _schema_error(None, f"{where}.type", "Member must not be null")
    if kind not in _KEY_TYPES:
        raise _schema_error(kind, f"{where}.type", "Member must satisfy enum value set: [DIMENSION, MEASURE]")
    parsed = {"Type": kind}
    name = key.get("Name")
    if name is not None:
        if not isinstance(name, str) or not name:
            raise _schema_error(
                name, f"{where}.name", "Member must be a string of length greater than or equal to 1"
            )
        parsed["Name"] = name
    elif kind == "DIMENSION":
        raise ValidationException(
            f"schema.compositePartitionKey{where}.name is required: a DIMENSION partition key names the "
            "dimension it partitions by."
        )
    enforcement = key.get("EnforcementInRecord")
    if enforcement is not None:
        if enforcement not in _ENFORCEMENTS:
            raise _schema_error(
                enforcement,
                f"{where}.enforcementInRecord",
                "Member must satisfy enum value set: [REQUIRED, OPTIONAL]",
            )
        parsed["EnforcementInRecord"] = enforcement
    return parsed


def parse_schema(value: Any) -> dict[str, Any] | None:
    """CreateTable's and UpdateTable's Schema, or None when it names no partition key (CreateTable then
    keeps the default, the measure-name key; UpdateTable changes nothing). A table has exactly one
    partition key (Timestream offers one per table, though the list could hold more)."""
    if not isinstance(value, dict):
        raise ValidationException("Schema must be an object.")
    keys = value.get("CompositePartitionKey")
    if keys is None:
        return None
    if not isinstance(keys, list):
        raise ValidationException("schema.compositePartitionKey must be a list of partition keys.")
    if not keys:
        raise _schema_error("[]", "", "Member must have length greater than or equal to 1")
    if len(keys) > 1:
        raise ValidationException(
            f"schema.compositePartitionKey has {len(keys)} partition keys; a table has exactly one "
            "(a DIMENSION key naming one dimension, or the MEASURE key). Nothing was changed."
        )
    return {"CompositePartitionKey": [_partition_key(keys[0], ".1.member")]}


def _identity(schema: dict[str, Any]) -> tuple[str | None, str | None]:
    keys = schema.get("CompositePartitionKey") or [{"Type": "MEASURE"}]
    return keys[0].get("Type"), keys[0].get("Name")


def check_schema_update(current: dict[str, Any], new: dict[str, Any]) -> None:
    """UpdateTable may change a partition key's EnforcementInRecord only: its type and name are fixed
    when the table is created (AWS: "cannot be changed after the table is created")."""
    (kind, name), (new_kind, new_name) = _identity(current), _identity(new)
    if (kind, name) != (new_kind, new_name):
        has = kind if name is None else f"{kind} '{name}'"
        asked = new_kind if new_name is None else f"{new_kind} '{new_name}'"
        raise ValidationException(
            f"The partition key of a table cannot be changed after the table is created: it is {has}, the "
            f"update names {asked}. Only its EnforcementInRecord can change. Nothing was changed."
        )
