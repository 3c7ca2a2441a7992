#!/usr/bin/python
"""Ansible module: an Amazon Timestream table with its retention, present or absent."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: timestream_table
short_description: Create, update or delete an Amazon Timestream table
description:
  - Makes sure a Timestream for LiveAnalytics table exists with the given retention
    (memory store hours, magnetic store days) and magnetic-store writes setting, or does not exist.
  - Only the settings you pass are enforced; the others keep whatever the table has.
  - Works against AWS and against any Timestream-compatible endpoint such as the
    project's C(timestream_local), through O(endpoint_url).
  - Idempotent; supports check mode and diff mode.
  - O(tags) and O(purge_tags) work as in the amazon.aws collection. A new table gets its tags in the
    CreateTable call; an existing one is reconciled with ListTagsForResource, UntagResource and
    TagResource. Timestream allows 50 tags per resource, keys of 1 to 128 characters (not starting
    with C(aws:)) and values of up to 256.
  - An account that never used Timestream for LiveAnalytics gets C(AccessDeniedException)
    (the service closed to new customers on 2025-06-20); the module says so and points to
    C(timestream_backend=local).
options:
  database:
    description: The database holding the table; it must exist.
    type: str
    required: true
  name:
    description: The table name.
    type: str
    required: true
    aliases: [table]
  state:
    description: Whether the table should exist. V(absent) deletes the table and its data.
    type: str
    choices: [present, absent]
    default: present
  memory_store_retention_hours:
    description:
      - How long records stay in the memory store (1 to 8766 hours).
      - When a new table is given only O(magnetic_store_retention_days), it gets Timestream's default, 6 hours
        (the API takes both or neither).
    type: int
  magnetic_store_retention_days:
    description:
      - How long records stay in the magnetic store before deletion (1 to 73000 days).
      - When a new table is given only O(memory_store_retention_hours), it gets Timestream's default, 73000 days.
    type: int
  magnetic_store_writes:
    description: Accept late records (older than the memory-store retention) into the magnetic store.
    type: bool
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
author: pm25-timestream contributors
"""

EXAMPLES = r"""
- name: Ensure the pm25 table keeps a day in memory and a year on magnetic storage
  timestream_table:
    database: iot
    name: pm25
    memory_store_retention_hours: 24
    magnetic_store_retention_days: 365
    magnetic_store_writes: true
    tags:
      project: pm25-timestream
    region: us-east-1
"""

RETURN = r"""
table:
  description: The table as Timestream describes it; empty when it is absent.
  returned: always
  type: dict
  sample:
    database: iot
    name: pm25
    arn: arn:aws:timestream:us-east-1:123456789012:database/iot/table/pm25
    status: ACTIVE
    memory_store_retention_hours: 24
    magnetic_store_retention_days: 365
    magnetic_store_writes: true
    tags:
      project: pm25-timestream
  contains:
    tags:
      description: The table's tags (what they will be, in check mode).
      type: dict
      returned: when the table exists
"""

from ansible.module_utils.pm25_timestream import (
    AWS_ERRORS,
    ERRORS,
    TAG_OPTIONS,
    delete,
    fail,
    is_not_found,
    read_tags,
    sync_tags,
    tag_list,
    target_tags,
    wanted_tags,
)
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

MEMORY_HOURS = (1, 8766)
# What Timestream gives a new table for a setting not given (CreateTable's defaults).
NEW_TABLE_DEFAULTS = {
    "memory_store_retention_hours": 6,
    "magnetic_store_retention_days": 73000,
    "magnetic_store_writes": False,
}
MAGNETIC_DAYS = (1, 73000)
SETTINGS = ("memory_store_retention_hours", "magnetic_store_retention_days", "magnetic_store_writes")


class MissingDatabase(Exception):
    """The table's database does not exist."""


def database_exists(client, database: str) -> bool:
    try:
        client.describe_database(DatabaseName=database)
    except AWS_ERRORS as exc:
        if is_not_found(exc):
            return False
        raise
    return True


def describe(client, database: str, name: str) -> dict | None:
    try:
        table = client.describe_table(DatabaseName=database, TableName=name)["Table"]
    except AWS_ERRORS as exc:
        if not is_not_found(exc):
            raise
        if not database_exists(client, database):
            raise MissingDatabase(database) from exc
        return None
    retention = table.get("RetentionProperties", {})
    magnetic = table.get("MagneticStoreWriteProperties", {})
    arn = table.get("Arn", "")
    return {
        "database": table.get("DatabaseName", database),
        "name": table.get("TableName", name),
        "arn": arn,
        "status": table.get("TableStatus", ""),
        "memory_store_retention_hours": int(retention.get("MemoryStoreRetentionPeriodInHours", 0)),
        "magnetic_store_retention_days": int(retention.get("MagneticStoreRetentionPeriodInDays", 0)),
        "magnetic_store_writes": bool(magnetic.get("EnableMagneticStoreWrites", False)),
        "tags": read_tags(client, arn),
    }


def settings(table: dict | None) -> dict:
    if table is None:
        return {"state": "absent"}
    return {
        "state": "present",
        **{key: table[key] for key in SETTINGS if key in table},
        "tags": table["tags"],
    }


def check_ranges(module) -> None:
    for key, (low, high) in (
        ("memory_store_retention_hours", MEMORY_HOURS),
        ("magnetic_store_retention_days", MAGNETIC_DAYS),
    ):
        value = module.params[key]
        if value is not None and not low <= value <= high:
            module.fail_json(msg=f"{key} must be between {low} and {high}, not {value}.")


def wanted(module) -> dict:
    """The settings the caller asked for (None = leave as it is)."""
    return {key: module.params[key] for key in SETTINGS if module.params[key] is not None}


def retention_request(target: dict) -> dict:
    return {
        "MemoryStoreRetentionPeriodInHours": target["memory_store_retention_hours"],
        "MagneticStoreRetentionPeriodInDays": target["magnetic_store_retention_days"],
    }


def ensure_present(
    module, client, database: str, name: str, current: dict | None
) -> tuple[bool, dict | None]:
    asked = wanted(module)
    tags = target_tags((current or {}).get("tags", {}), wanted_tags(module), module.params["purge_tags"])
    if current is None:
        request = {"DatabaseName": database, "TableName": name}
        if "memory_store_retention_hours" in asked or "magnetic_store_retention_days" in asked:
            # the API takes both or neither: the one not given gets Timestream's default
            request["RetentionProperties"] = retention_request({**NEW_TABLE_DEFAULTS, **asked})
        if "magnetic_store_writes" in asked:
            request["MagneticStoreWriteProperties"] = {
                "EnableMagneticStoreWrites": asked["magnetic_store_writes"]
            }
        if tags:
            request["Tags"] = tag_list(tags)
        if module.check_mode:
            return True, planned(module, database, name)
        client.create_table(**request)
        return True, describe(client, database, name)

    target = {**current, **asked, "tags": tags}
    settings_changed = any(target[key] != current[key] for key in SETTINGS)
    if settings_changed and not module.check_mode:
        update_settings(client, database, name, current, target)
    tags_changed = sync_tags(client, current["arn"], current["tags"], tags, module.check_mode)
    if not (settings_changed or tags_changed):
        return False, current
    if module.check_mode:
        return True, target
    return True, describe(client, database, name)


def planned(module, database: str, name: str) -> dict:
    """What check mode reports for a table it would create (Timestream's defaults where none is asked)."""
    tags = target_tags({}, wanted_tags(module), module.params["purge_tags"])
    settings = {**NEW_TABLE_DEFAULTS, **wanted(module)}
    return {"database": database, "name": name, "arn": "", "status": "", **settings, "tags": tags}


def update_settings(client, database: str, name: str, current: dict, target: dict) -> None:
    request = {"DatabaseName": database, "TableName": name}
    if any(target[key] != current[key] for key in SETTINGS[:2]):
        request["RetentionProperties"] = retention_request(target)
    if target["magnetic_store_writes"] != current["magnetic_store_writes"]:
        request["MagneticStoreWriteProperties"] = {
            "EnableMagneticStoreWrites": target["magnetic_store_writes"]
        }
    client.update_table(**request)


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec={
            "database": {"type": "str", "required": True},
            "name": {"type": "str", "required": True, "aliases": ["table"]},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "memory_store_retention_hours": {"type": "int"},
            "magnetic_store_retention_days": {"type": "int"},
            "magnetic_store_writes": {"type": "bool"},
            **TAG_OPTIONS,
        },
        supports_check_mode=True,
    )
    check_ranges(module)
    database = module.params["database"]
    name = module.params["name"]
    state = module.params["state"]
    client = module.client("timestream-write")

    action = "DescribeTable"
    what = f"make the Timestream table {database}.{name} {state}"
    try:
        current = describe(client, database, name)
        if state == "present":
            action = "CreateTable" if current is None else "UpdateTable"
            changed, after = ensure_present(module, client, database, name, current)
        else:
            action = "DeleteTable"
            changed, after = current is not None, None
            if changed and not module.check_mode:
                delete(client.delete_table, DatabaseName=database, TableName=name)
    except MissingDatabase:
        current = None
        if state == "absent":
            after, changed = None, False
        elif module.check_mode:
            # In a check run the database may be one an earlier task only predicted.
            after, changed = planned(module, database, name), True
        else:
            module.fail_json(
                msg=(
                    f"Cannot {what}: the database {database} does not exist; create it first "
                    "with timestream_database."
                )
            )
    except ERRORS as exc:
        fail(module, exc, action, what)

    result = {"changed": changed, "table": after or {}}
    if module._diff:
        result["diff"] = {"before": settings(current), "after": settings(after)}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
