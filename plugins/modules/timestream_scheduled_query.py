#!/usr/bin/python
"""Ansible module: an Amazon Timestream scheduled query, present (enabled or disabled) or absent."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: timestream_scheduled_query
short_description: Create, re-create, enable, disable or delete an Amazon Timestream scheduled query
description:
  - Makes sure a Timestream for LiveAnalytics scheduled query with the given name exists with the given
    definition (query, schedule, target table mapping, execution role, notification topic, error report
    location), or does not exist.
  - A scheduled query is found by its name (ListScheduledQueries) and compared with DescribeScheduledQuery's
    answer. Timestream can only change a scheduled query's state (UpdateScheduledQuery), so a changed
    definition deletes the query and creates it again under the same name; a changed state only updates it.
  - Works against AWS and against any Timestream-compatible endpoint such as the project's
    C(timestream_local), through O(endpoint_url).
  - Idempotent; supports check mode and diff mode.
  - O(tags) and O(purge_tags) work as in the amazon.aws collection. A new query gets its tags in the
    CreateScheduledQuery call; an existing one is reconciled with ListTagsForResource, UntagResource
    and TagResource; a query re-created for a changed definition keeps its tags (with O(tags)
    applied). Timestream allows 50 tags per resource, keys of 1 to 128 characters (not starting
    with C(aws:)) and values of up to 256.
  - Mixed-measure mappings (C(MixedMeasureMappings)) are not supported; use O(target.multi_measure).
options:
  name:
    description: The scheduled query's name (1 to 64 letters, digits, C(_), C(.) or C(-)), unique in the region.
    type: str
    required: true
  state:
    description:
      - V(enabled) or V(disabled) make the query exist in that state.
      - V(present) makes it exist and leaves the state of an existing query as it is (a new one starts enabled).
      - V(absent) deletes it (the rows it already wrote stay in the target table).
    type: str
    choices: [present, enabled, disabled, absent]
    default: enabled
  query_string:
    description:
      - The query, in Timestream's SQL. C(@scheduled_runtime) stands for the run's scheduled time (a timestamp).
      - Required unless O(state=absent).
    type: str
  schedule_expression:
    description:
      - When it runs, in EventBridge's syntax, UTC, for example V(rate(1 hour)) or V(cron(5 * * * ? *)).
      - Required unless O(state=absent).
    type: str
  execution_role_arn:
    description:
      - The IAM role Timestream assumes to run the query, write the target table, publish to the topic and
        write error reports. Required unless O(state=absent).
    type: str
  sns_topic_arn:
    description: The SNS topic told about each run. Required unless O(state=absent).
    type: str
  error_report_bucket:
    description: The S3 bucket that receives the error report of a failed run. Required unless O(state=absent).
    type: str
  error_report_prefix:
    description: Key prefix of the error reports in O(error_report_bucket).
    type: str
  error_report_encryption:
    description: Encryption of the error reports.
    type: str
    choices: [SSE_S3, SSE_KMS]
    default: SSE_S3
  kms_key_id:
    description: KMS key for the scheduled query's resources; empty means Timestream's own key.
    type: str
  target:
    description:
      - Where the query's rows go, and how their columns map to a Timestream record.
        Required unless O(state=absent).
    type: dict
    suboptions:
      database:
        description: Database of the target table.
        type: str
        required: true
      table:
        description: The target table; it must exist.
        type: str
        required: true
      time_column:
        description: The query's column that becomes each record's time.
        type: str
        required: true
      dimensions:
        description: The query's columns that become dimensions.
        type: list
        elements: dict
        required: true
        suboptions:
          name:
            description: Column name (also the dimension's name).
            type: str
            required: true
          type:
            description: Dimension value type.
            type: str
            choices: [VARCHAR]
            default: VARCHAR
      measure_name_column:
        description: The query's column holding each record's measure name (instead of a fixed name).
        type: str
      multi_measure:
        description: One multi-measure record per row.
        type: dict
        required: true
        suboptions:
          name:
            description: The records' measure name (C(TargetMultiMeasureName)).
            type: str
          attributes:
            description: The query's columns that become the record's measures.
            type: list
            elements: dict
            required: true
            suboptions:
              source_column:
                description: Column name.
                type: str
                required: true
              type:
                description: Measure value type.
                type: str
                choices: [BIGINT, BOOLEAN, DOUBLE, VARCHAR, TIMESTAMP]
                required: true
              target_name:
                description: The measure's name in the record; defaults to O(target.multi_measure.attributes[].source_column).
                type: str
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
author: pm25-timestream contributors
"""

EXAMPLES = r"""
- name: Roll the readings up every hour into pm25_hourly
  timestream_scheduled_query:
    name: pm25-hourly-rollup
    state: enabled
    query_string: >-
      SELECT city, location, bin(time, 1h) AS hour, AVG(measure_value::bigint) AS avg_pm25,
      COUNT(*) AS readings FROM "iot"."pm25"
      WHERE measure_name = 'pm2.5' AND time >= bin(@scheduled_runtime, 1h) - 1h
      AND time < bin(@scheduled_runtime, 1h) GROUP BY city, location, bin(time, 1h)
    schedule_expression: cron(5 * * * ? *)
    execution_role_arn: arn:aws:iam::123456789012:role/pm25-rollup
    sns_topic_arn: arn:aws:sns:us-east-1:123456789012:pm25-rollup
    error_report_bucket: pm25-rollup-errors
    target:
      database: iot
      table: pm25_hourly
      time_column: hour
      dimensions: [{name: city}, {name: location}]
      multi_measure:
        name: pm25_hourly
        attributes:
          - {source_column: avg_pm25, type: DOUBLE}
          - {source_column: readings, type: BIGINT}
    tags:
      project: pm25-timestream
    region: us-east-1

- name: Pause it
  timestream_scheduled_query:
    name: pm25-hourly-rollup
    state: disabled
    # ... the same definition as above
"""

RETURN = r"""
scheduled_query:
  description: The scheduled query as Timestream describes it (snake_case keys); empty when it is absent.
  returned: always
  type: dict
  sample:
    arn: arn:aws:timestream:us-east-1:123456789012:scheduled-query/pm25-hourly-rollup-0123456789abcdef
    name: pm25-hourly-rollup
    state: ENABLED
    schedule_expression: cron(5 * * * ? *)
    next_invocation_time: "2026-12-04T15:05:00+00:00"
    last_run_status: AUTO_TRIGGER_SUCCESS
    tags:
      project: pm25-timestream
  contains:
    tags:
      description: The scheduled query's tags (what they will be, in check mode).
      type: dict
      returned: when the scheduled query exists
recreated:
  description: Whether the definition changed, so the query was (or in check mode would be) deleted and created again.
  returned: always
  type: bool
"""

import uuid

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

DEFINITION_OPTIONS = (
    "query_string",
    "schedule_expression",
    "execution_role_arn",
    "sns_topic_arn",
    "error_report_bucket",
    "target",
)
ATTRIBUTE_SPEC = {
    "source_column": {"type": "str", "required": True},
    "type": {
        "type": "str",
        "required": True,
        "choices": ["BIGINT", "BOOLEAN", "DOUBLE", "VARCHAR", "TIMESTAMP"],
    },
    "target_name": {"type": "str"},
}
TARGET_SPEC = {
    "database": {"type": "str", "required": True},
    "table": {"type": "str", "required": True},
    "time_column": {"type": "str", "required": True},
    "dimensions": {
        "type": "list",
        "elements": "dict",
        "required": True,
        "options": {
            "name": {"type": "str", "required": True},
            "type": {"type": "str", "choices": ["VARCHAR"], "default": "VARCHAR"},
        },
    },
    "measure_name_column": {"type": "str"},
    "multi_measure": {
        "type": "dict",
        "required": True,
        "options": {
            "name": {"type": "str"},
            "attributes": {"type": "list", "elements": "dict", "required": True, "options": ATTRIBUTE_SPEC},
        },
    },
}
ARGUMENT_SPEC = {
    "name": {"type": "str", "required": True},
    "state": {"type": "str", "choices": ["present", "enabled", "disabled", "absent"], "default": "enabled"},
    "query_string": {"type": "str"},
    "schedule_expression": {"type": "str"},
    "execution_role_arn": {"type": "str"},
    "sns_topic_arn": {"type": "str"},
    "error_report_bucket": {"type": "str"},
    "error_report_prefix": {"type": "str"},
    "error_report_encryption": {"type": "str", "choices": ["SSE_S3", "SSE_KMS"], "default": "SSE_S3"},
    "kms_key_id": {"type": "str"},
    "target": {"type": "dict", "options": TARGET_SPEC},
    **TAG_OPTIONS,
}


def target_configuration(target: dict) -> dict:
    """The module's target option in AWS's TargetConfiguration shape."""
    multi = target["multi_measure"]
    mappings = {
        "MultiMeasureAttributeMappings": [
            {
                "SourceColumn": attribute["source_column"],
                "TargetMultiMeasureAttributeName": attribute["target_name"] or attribute["source_column"],
                "MeasureValueType": attribute["type"],
            }
            for attribute in multi["attributes"]
        ]
    }
    if multi.get("name"):
        mappings["TargetMultiMeasureName"] = multi["name"]
    configuration = {
        "DatabaseName": target["database"],
        "TableName": target["table"],
        "TimeColumn": target["time_column"],
        "DimensionMappings": [
            {"Name": dimension["name"], "DimensionValueType": dimension["type"]}
            for dimension in target["dimensions"]
        ],
        "MultiMeasureMappings": mappings,
    }
    if target.get("measure_name_column"):
        configuration["MeasureNameColumn"] = target["measure_name_column"]
    return {"TimestreamConfiguration": configuration}


def desired_definition(params: dict) -> dict:
    """Everything of a CreateScheduledQuery request that defines the query (no name, token or tags)."""
    s3 = {"BucketName": params["error_report_bucket"], "EncryptionOption": params["error_report_encryption"]}
    if params.get("error_report_prefix"):
        s3["ObjectKeyPrefix"] = params["error_report_prefix"]
    definition = {
        "QueryString": params["query_string"],
        "ScheduleConfiguration": {"ScheduleExpression": params["schedule_expression"]},
        "NotificationConfiguration": {"SnsConfiguration": {"TopicArn": params["sns_topic_arn"]}},
        "TargetConfiguration": target_configuration(params["target"]),
        "ScheduledQueryExecutionRoleArn": params["execution_role_arn"],
        "ErrorReportConfiguration": {"S3Configuration": s3},
    }
    if params.get("kms_key_id"):
        definition["KmsKeyId"] = params["kms_key_id"]
    return definition


def comparable(definition: dict) -> dict:
    """A definition with what Timestream fills in by default made explicit, and empty parts dropped,
    so that a described query and a requested one compare equal when they mean the same."""
    target = definition.get("TargetConfiguration", {}).get("TimestreamConfiguration", {})
    multi = target.get("MultiMeasureMappings") or {}
    s3 = definition.get("ErrorReportConfiguration", {}).get("S3Configuration", {})
    return {
        "QueryString": definition.get("QueryString", ""),
        "ScheduleExpression": definition.get("ScheduleConfiguration", {}).get("ScheduleExpression", ""),
        "TopicArn": definition.get("NotificationConfiguration", {})
        .get("SnsConfiguration", {})
        .get("TopicArn", ""),
        "ExecutionRoleArn": definition.get("ScheduledQueryExecutionRoleArn", ""),
        "ErrorReportBucket": s3.get("BucketName", ""),
        "ErrorReportPrefix": s3.get("ObjectKeyPrefix", ""),
        "ErrorReportEncryption": s3.get("EncryptionOption") or "SSE_S3",
        "KmsKeyId": definition.get("KmsKeyId", ""),
        "Database": target.get("DatabaseName", ""),
        "Table": target.get("TableName", ""),
        "TimeColumn": target.get("TimeColumn", ""),
        "MeasureNameColumn": target.get("MeasureNameColumn", ""),
        "Dimensions": [
            [mapping.get("Name", ""), mapping.get("DimensionValueType", "VARCHAR")]
            for mapping in target.get("DimensionMappings", [])
        ],
        "MultiMeasureName": multi.get("TargetMultiMeasureName", ""),
        "MultiMeasureAttributes": [
            [
                mapping.get("SourceColumn", ""),
                mapping.get("TargetMultiMeasureAttributeName") or mapping.get("SourceColumn", ""),
                mapping.get("MeasureValueType", ""),
            ]
            for mapping in multi.get("MultiMeasureAttributeMappings", [])
        ],
        "MixedMeasureMappings": bool(target.get("MixedMeasureMappings")),
    }


def find_arn(client, name: str) -> str | None:
    """The ARN of the scheduled query called ``name`` (ListScheduledQueries, every page)."""
    request: dict = {"MaxResults": 1000}
    while True:
        page = client.list_scheduled_queries(**request)
        for entry in page.get("ScheduledQueries", []):
            if entry.get("Name") == name:
                return entry["Arn"]
        token = page.get("NextToken")
        if not token:
            return None
        request["NextToken"] = token


def describe(client, name: str) -> dict | None:
    arn = find_arn(client, name)
    if arn is None:
        return None
    try:
        return describe_arn(client, arn)
    except AWS_ERRORS as exc:
        if is_not_found(exc):  # deleted between the list and the describe
            return None
        raise


def describe_arn(client, arn: str) -> dict:
    """DescribeScheduledQuery's answer with the query's tags (ListTagsForResource) as Tags, a dict."""
    described = client.describe_scheduled_query(ScheduledQueryArn=arn)["ScheduledQuery"]
    return {**described, "Tags": read_tags(client, arn)}


def _time(value) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value or "")


def summary(described: dict | None) -> dict:
    """What the module returns about a scheduled query."""
    if described is None:
        return {}
    last_run = described.get("LastRunSummary") or {}
    target = described.get("TargetConfiguration", {}).get("TimestreamConfiguration", {})
    return {
        "arn": described.get("Arn", ""),
        "name": described.get("Name", ""),
        "state": described.get("State", ""),
        "query_string": described.get("QueryString", ""),
        "schedule_expression": described.get("ScheduleConfiguration", {}).get("ScheduleExpression", ""),
        "target_table": "{}.{}".format(target.get("DatabaseName", ""), target.get("TableName", "")),
        "creation_time": _time(described.get("CreationTime")),
        "next_invocation_time": _time(described.get("NextInvocationTime")),
        "previous_invocation_time": _time(described.get("PreviousInvocationTime")),
        "last_run_status": last_run.get("RunStatus", ""),
        "recently_failed_runs": len(described.get("RecentlyFailedRuns") or []),
        "tags": described.get("Tags", {}),
    }


def for_diff(described: dict | None) -> dict:
    if described is None:
        return {"state": "absent"}
    return {"state": described.get("State", ""), **comparable(described), "tags": described.get("Tags", {})}


def client_token() -> str:
    """A new token for each CreateScheduledQuery call: the SDK's retries of that call resend it, so a retry
    does not create a second query. (A token derived from the definition would be wrong: within 8 hours
    Timestream answers a reused token with the earlier query, even one deleted since, as when a
    definition is changed and then changed back.)"""
    return uuid.uuid4().hex


def check_definition(module) -> None:
    missing = [option for option in DEFINITION_OPTIONS if not module.params[option]]
    if missing:
        module.fail_json(
            msg=f"state={module.params['state']} needs {', '.join(missing)}: a scheduled query cannot be "
            "created (or compared) without its whole definition."
        )


def create(client, name: str, definition: dict, state: str, tags: dict) -> dict:
    request = {"Name": name, "ClientToken": client_token(), **definition}
    if tag_list(tags):
        request["Tags"] = tag_list(tags)
    arn = client.create_scheduled_query(**request)["Arn"]
    if state == "DISABLED":
        client.update_scheduled_query(ScheduledQueryArn=arn, State="DISABLED")
    return describe_arn(client, arn)


def planned(name: str, definition: dict, state: str, current: dict | None) -> dict:
    """What check mode reports for a query it would create or change."""
    return {**(current or {}), "Name": name, "State": state, **definition}


def plan(module, current: dict | None) -> tuple[str, str]:
    """(what to do: 'create', 'recreate', 'update' or 'none'; the state the query should end in)."""
    wanted_state = {"enabled": "ENABLED", "disabled": "DISABLED"}.get(module.params["state"])
    if current is None:
        return "create", wanted_state or "ENABLED"
    state = wanted_state or current.get("State", "ENABLED")
    if comparable(current) != comparable(desired_definition(module.params)):
        return "recreate", state
    return ("update" if state != current.get("State") else "none"), state


def ensure_present(module, client, name: str, current: dict | None) -> tuple[bool, bool, dict]:
    """(changed, recreated, the query after)."""
    step, state = plan(module, current)
    definition = desired_definition(module.params)
    # A re-created query keeps the tags the old one had (with the tags option applied).
    tags = target_tags((current or {}).get("Tags", {}), wanted_tags(module), module.params["purge_tags"])
    recreated = step == "recreate"
    if step in ("create", "recreate"):
        if module.check_mode:
            return True, recreated, {**planned(name, definition, state, current), "Tags": tags}
        if recreated:
            delete(client.delete_scheduled_query, ScheduledQueryArn=current["Arn"])
        return True, recreated, create(client, name, definition, state, tags)

    # The same definition: only the state and the tags may change.
    if step == "update" and not module.check_mode:
        client.update_scheduled_query(ScheduledQueryArn=current["Arn"], State=state)
    tags_changed = sync_tags(client, current["Arn"], current["Tags"], tags, module.check_mode)
    if step == "none" and not tags_changed:
        return False, False, current
    if module.check_mode:
        return True, False, {**current, "State": state, "Tags": tags}
    return True, False, describe_arn(client, current["Arn"])


def main() -> None:
    module = AnsibleAWSModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    name = module.params["name"]
    state = module.params["state"]
    if state != "absent":
        check_definition(module)
    client = module.client("timestream-query")

    action = "ListScheduledQueries"
    what = f"make the Timestream scheduled query {name} {state}"
    recreated = False
    try:
        current = describe(client, name)
        if state == "absent":
            action = "DeleteScheduledQuery"
            changed, after = current is not None, None
            if changed and not module.check_mode:
                delete(client.delete_scheduled_query, ScheduledQueryArn=current["Arn"])
        else:
            action = "CreateScheduledQuery" if current is None else "UpdateScheduledQuery"
            changed, recreated, after = ensure_present(module, client, name, current)
    except ERRORS as exc:
        fail(module, exc, action, what)

    result = {"changed": changed, "recreated": recreated, "scheduled_query": summary(after)}
    if module._diff:
        result["diff"] = {"before": for_diff(current), "after": for_diff(after)}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
