#!/usr/bin/python
"""Ansible module: delete every object of an S3 bucket (every version, if it is versioned), keep the bucket."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: s3_bucket_empty
short_description: Empty an S3 bucket, keeping the bucket
description:
  - Deletes every object of an S3 bucket, so that whoever owns the bucket (for example a CloudFormation
    stack) can then delete it; S3 refuses to delete a bucket that holds objects.
  - In a bucket whose versioning is or was on, every object version and delete marker is deleted.
  - A bucket that does not exist counts as empty (nothing to do).
  - Idempotent; supports check mode (it counts what it would delete and deletes nothing).
options:
  bucket:
    description: The bucket's name.
    type: str
    required: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
author: pm25-timestream contributors
"""

EXAMPLES = r"""
- name: Empty the rollup's error-report bucket before its stack is deleted
  s3_bucket_empty:
    bucket: pm25-stack-rolluperrorbucket-abc123
    region: us-east-1
"""

RETURN = r"""
deleted:
  description: How many objects (object versions and delete markers, in a versioned bucket) were deleted,
    or would be in check mode.
  returned: always
  type: int
  sample: 3
versioned:
  description: Whether the bucket's versioning is or was on (so versions were deleted).
  returned: always
  type: bool
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

try:
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:  # AnsibleAWSModule reports the missing SDK itself
    BotoCoreError = ClientError = Exception

BATCH = 1000  # DeleteObjects takes at most 1,000 keys a call
MISSING = ("NoSuchBucket", "404")


class BucketMissing(Exception):
    """The bucket does not exist."""


def _code(exc: BaseException) -> str:
    return str((getattr(exc, "response", None) or {}).get("Error", {}).get("Code", ""))


def is_versioned(client, bucket: str) -> bool:
    try:
        status = client.get_bucket_versioning(Bucket=bucket).get("Status", "")
    except ClientError as exc:
        if _code(exc) in MISSING:
            raise BucketMissing(bucket) from exc
        raise
    return status in ("Enabled", "Suspended")


def objects(client, bucket: str, versioned: bool) -> list[dict]:
    """Every object (with its VersionId, in a versioned bucket) as DeleteObjects names them."""
    found: list[dict] = []
    if versioned:
        for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket):
            for entry in page.get("Versions", []) + page.get("DeleteMarkers", []):
                found.append({"Key": entry["Key"], "VersionId": entry["VersionId"]})
    else:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            found.extend({"Key": entry["Key"]} for entry in page.get("Contents", []))
    return found


def delete_all(client, bucket: str, found: list[dict]) -> None:
    for start in range(0, len(found), BATCH):
        answer = client.delete_objects(
            Bucket=bucket, Delete={"Objects": found[start : start + BATCH], "Quiet": True}
        )
        errors = answer.get("Errors", [])
        if errors:
            first = errors[0]
            raise RuntimeError(
                f"S3 did not delete {len(errors)} object(s), the first {first.get('Key')} "
                f"({first.get('Code')}: {first.get('Message')})"
            )


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec={"bucket": {"type": "str", "required": True}}, supports_check_mode=True
    )
    bucket = module.params["bucket"]
    client = module.client("s3")
    try:
        versioned = is_versioned(client, bucket)
        found = objects(client, bucket, versioned)
        if found and not module.check_mode:
            delete_all(client, bucket, found)
    except BucketMissing:
        module.exit_json(changed=False, deleted=0, versioned=False)
    except (ClientError, BotoCoreError, RuntimeError) as exc:
        code = _code(exc)
        reason = f"{code}: {exc}" if code and code not in str(exc) else str(exc)
        module.fail_json(
            msg=f"Cannot empty the S3 bucket {bucket}: {reason}", error_code=code or type(exc).__name__
        )
    module.exit_json(changed=bool(found), deleted=len(found), versioned=versioned)


if __name__ == "__main__":
    main()
