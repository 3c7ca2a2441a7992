#!/usr/bin/python
"""Ansible module: an Amazon Timestream database, present or absent."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: timestream_database
short_description: Create or delete an Amazon Timestream database
description:
  - Makes sure a Timestream for LiveAnalytics database exists (or does not).
  - Works against AWS and against any Timestream-compatible endpoint such as the
    project's C(timestream_local), through O(endpoint_url).
  - Idempotent; supports check mode and diff mode.
  - An account that never used Timestream for LiveAnalytics gets C(AccessDeniedException)
    (the service closed to new customers on 2025-06-20); the module says so and points to
    C(timestream_backend=local).
options:
  name:
    description: The database name.
    type: str
    required: true
    aliases: [database]
  state:
    description: Whether the database should exist.
    type: str
    choices: [present, absent]
    default: present
  kms_key_id:
    description:
      - The KMS key that encrypts the database. Omit for the AWS-owned key.
      - Changing it on an existing database calls UpdateDatabase.
    type: str
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
author: pm25-timestream contributors
"""

EXAMPLES = r"""
- name: Ensure the iot database exists in AWS
  timestream_database:
    name: iot
    region: us-east-1

- name: Ensure the iot database exists in the local store
  timestream_database:
    name: iot
    region: us-east-1
    endpoint_url: http://127.0.0.1:8600
"""

RETURN = r"""
database:
  description: The database as Timestream describes it; empty when it is absent.
  returned: always
  type: dict
  sample:
    name: iot
    arn: arn:aws:timestream:us-east-1:123456789012:database/iot
    table_count: 1
    kms_key_id: arn:aws:kms:us-east-1:123456789012:key/abcd
"""

from ansible.module_utils.pm25_timestream import AWS_ERRORS, delete, fail, is_not_found
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule


def describe(client, name: str) -> dict | None:
    try:
        database = client.describe_database(DatabaseName=name)["Database"]
    except AWS_ERRORS as exc:
        if is_not_found(exc):
            return None
        raise
    return {
        "name": database.get("DatabaseName", name),
        "arn": database.get("Arn", ""),
        "table_count": int(database.get("TableCount", 0)),
        "kms_key_id": database.get("KmsKeyId", ""),
    }


def state_for_diff(database: dict | None) -> dict:
    if database is None:
        return {"state": "absent"}
    return {"state": "present", "name": database["name"], "kms_key_id": database["kms_key_id"]}


def ensure_present(module, client, name: str, current: dict | None) -> tuple[bool, dict | None]:
    kms_key_id = module.params["kms_key_id"]
    if current is None:
        if module.check_mode:
            return True, {"name": name, "arn": "", "table_count": 0, "kms_key_id": kms_key_id or ""}
        request = {"DatabaseName": name}
        if kms_key_id:
            request["KmsKeyId"] = kms_key_id
        client.create_database(**request)
        return True, describe(client, name)
    if kms_key_id and kms_key_id != current["kms_key_id"]:
        if module.check_mode:
            return True, {**current, "kms_key_id": kms_key_id}
        client.update_database(DatabaseName=name, KmsKeyId=kms_key_id)
        return True, describe(client, name)
    return False, current


def ensure_absent(module, client, name: str, current: dict | None) -> tuple[bool, dict | None]:
    if current is None:
        return False, None
    if current["table_count"] > 0:
        module.fail_json(
            msg=(
                f"Cannot delete the Timestream database {name}: it still holds {current['table_count']} "
                "table(s); delete them first with timestream_table state=absent."
            )
        )
    if not module.check_mode:
        delete(client.delete_database, DatabaseName=name)
    return True, None


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec={
            "name": {"type": "str", "required": True, "aliases": ["database"]},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "kms_key_id": {"type": "str"},
        },
        supports_check_mode=True,
    )
    name = module.params["name"]
    state = module.params["state"]
    client = module.client("timestream-write")

    action = "DescribeDatabase"
    try:
        current = describe(client, name)
        if state == "present":
            action = "CreateDatabase" if current is None else "UpdateDatabase"
            changed, after = ensure_present(module, client, name, current)
        else:
            action = "DeleteDatabase"
            changed, after = ensure_absent(module, client, name, current)
    except AWS_ERRORS as exc:
        fail(module, exc, action, f"make the Timestream database {name} {state}")

    result = {"changed": changed, "database": after or {}}
    if module._diff:
        result["diff"] = {"before": state_for_diff(current), "after": state_for_diff(after)}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
