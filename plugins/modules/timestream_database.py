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
  - O(tags) and O(purge_tags) work as in the amazon.aws collection. A new database gets its tags in
    the CreateDatabase call; an existing one is reconciled with ListTagsForResource, UntagResource
    and TagResource. Timestream allows 50 tags per resource, keys of 1 to 128 characters (not
    starting with C(aws:)) and values of up to 256.
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
  - amazon.aws.tags
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

- name: Tag the database, keeping the tags others gave it
  timestream_database:
    name: iot
    tags:
      project: pm25-timestream
    purge_tags: false
    region: us-east-1
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
    tags:
      project: pm25-timestream
  contains:
    tags:
      description: The database's tags (what they will be, in check mode).
      type: dict
      returned: when the database exists
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


def describe(client, name: str) -> dict | None:
    try:
        database = client.describe_database(DatabaseName=name)["Database"]
    except AWS_ERRORS as exc:
        if is_not_found(exc):
            return None
        raise
    arn = database.get("Arn", "")
    return {
        "name": database.get("DatabaseName", name),
        "arn": arn,
        "table_count": int(database.get("TableCount", 0)),
        "kms_key_id": database.get("KmsKeyId", ""),
        "tags": read_tags(client, arn),
    }


def state_for_diff(database: dict | None) -> dict:
    if database is None:
        return {"state": "absent"}
    return {
        "state": "present",
        "name": database["name"],
        "kms_key_id": database["kms_key_id"],
        "tags": database["tags"],
    }


def ensure_present(module, client, name: str, current: dict | None) -> tuple[bool, dict | None]:
    kms_key_id = module.params["kms_key_id"]
    tags = target_tags((current or {}).get("tags", {}), wanted_tags(module), module.params["purge_tags"])
    if current is None:
        if module.check_mode:
            return True, {
                "name": name,
                "arn": "",
                "table_count": 0,
                "kms_key_id": kms_key_id or "",
                "tags": tags,
            }
        request = {"DatabaseName": name}
        if kms_key_id:
            request["KmsKeyId"] = kms_key_id
        if tags:
            request["Tags"] = tag_list(tags)
        client.create_database(**request)
        return True, describe(client, name)
    changed = False
    if kms_key_id and kms_key_id != current["kms_key_id"]:
        changed = True
        if not module.check_mode:
            client.update_database(DatabaseName=name, KmsKeyId=kms_key_id)
    changed = sync_tags(client, current["arn"], current["tags"], tags, module.check_mode) or changed
    if not changed:
        return False, current
    if module.check_mode:
        return True, {**current, "kms_key_id": kms_key_id or current["kms_key_id"], "tags": tags}
    return True, describe(client, name)


def ensure_absent(module, client, name: str, current: dict | None) -> tuple[bool, dict | None]:
    if current is None:
        return False, None
    if current["table_count"] > 0 and module.check_mode:
        # In a check run the tables may be ones an earlier task only predicted deleting.
        module.warn(
            f"The Timestream database {name} still holds {current['table_count']} table(s): a real run "
            "deletes it only once they are gone (timestream_table state=absent first)."
        )
    elif current["table_count"] > 0:
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
            **TAG_OPTIONS,
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
    except ERRORS as exc:
        fail(module, exc, action, f"make the Timestream database {name} {state}")

    result = {"changed": changed, "database": after or {}}
    if module._diff:
        result["diff"] = {"before": state_for_diff(current), "after": state_for_diff(after)}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
