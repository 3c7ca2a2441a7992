"""playbooks/aws.yml run for real against local stand-ins: moto's server for CloudFormation, EC2, IAM
and SSM, kinesalite for Kinesis and timestream_local for Timestream. The bastion's configuration
needs a real host, so the play stops after add_host (aws_configure_bastion=false); what it would
write there is checked in test_bastion_files.py. Resources are checked through boto3."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import boto3
import botocore.config
import pytest
import yaml
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from tests.deploy.conftest import BIN, ansible_env, run_playbook
from tests.services import ROOT, start_kinesalite, start_timestream_local

REGION = "eu-west-1"
CIDR = "203.0.113.7/32"
STACK = "pm25-test"
KEY = "pm25-test-key"
AL2023 = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
KINESIS_ACTIONS = {
    "kinesis:PutRecord",
    "kinesis:PutRecords",
    "kinesis:GetRecords",
    "kinesis:GetShardIterator",
    "kinesis:DescribeStream",
    "kinesis:DescribeStreamSummary",
    "kinesis:ListShards",
}
READ_ONLY = {
    "timestream:Select",
    "timestream:DescribeTable",
    "timestream:ListMeasures",
    "timestream:DescribeDatabase",
    "timestream:ListTables",
    "timestream:DescribeEndpoints",
    "timestream:ListDatabases",
    "timestream:SelectValues",
    "timestream:CancelQuery",
}


def public_key(path: Path) -> Path:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    path.write_bytes(
        key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH) + b" test\n"
    )
    return path


def client(service: str, url: str):
    return boto3.client(service, endpoint_url=url, region_name=REGION)


def s3(url: str):
    """S3 on moto's server, path-style (the bucket names are not DNS names of the stand-in)."""
    return boto3.client(
        "s3",
        endpoint_url=url,
        region_name=REGION,
        config=botocore.config.Config(s3={"addressing_style": "path"}),
    )


def statements(document: dict) -> list[dict]:
    found = document["Statement"]
    return found if isinstance(found, list) else [found]


def as_set(value) -> set[str]:
    return {value} if isinstance(value, str) else set(value)


@pytest.fixture(scope="module")
def stand_ins(moto_server, tmp_path_factory):
    """The play's own Kinesis and Timestream stand-ins, so no other test shares their state."""
    base = tmp_path_factory.mktemp("aws-play")
    kinesis = start_kinesalite(base / "kinesis")
    timestream = start_timestream_local(base / "timestream", extra_args=["--region", REGION])
    yield {"moto": moto_server.url, "kinesis": kinesis.url, "timestream": timestream.url, "base": base}
    kinesis.stop()
    timestream.stop()


@pytest.fixture(scope="module")
def settings(stand_ins) -> dict:
    return {
        "aws_region": REGION,
        "aws_endpoint_url": stand_ins["moto"],
        "aws_kinesis_endpoint_url": stand_ins["kinesis"],
        "aws_timestream_endpoint_url": stand_ins["timestream"],
        "allowed_cidr": CIDR,
        "aws_key_name": KEY,
        "aws_public_key_file": str(public_key(stand_ins["base"] / "id_test.pub")),
        "aws_infra_stack_name": STACK,
        "aws_infra_known_hosts_file": str(stand_ins["base"] / "known_hosts"),
        "vault_grafana_admin_password": "a-long-test-password",
        "aws_configure_bastion": False,
        "pm25_shard_count": 2,
        "pm25_memory_store_retention_hours": 12,
        "pm25_magnetic_store_retention_days": 30,
        "pm25_magnetic_store_writes": True,
    }


@pytest.fixture(scope="module")
def deployed(settings, stand_ins):
    first = run_playbook("playbooks/aws.yml", settings)
    assert first.returncode == 0, first.output
    second = run_playbook("playbooks/aws.yml", settings)
    assert second.returncode == 0, second.output
    checked = run_playbook("playbooks/aws.yml", settings, "--check", "--diff")
    assert checked.returncode == 0, checked.output
    return {"first": first, "second": second, "checked": checked, **stand_ins}


@pytest.fixture(scope="module")
def outputs(deployed) -> dict[str, str]:
    stack = client("cloudformation", deployed["moto"]).describe_stacks(StackName=STACK)["Stacks"][0]
    assert stack["StackStatus"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE")
    return {output["OutputKey"]: output["OutputValue"] for output in stack["Outputs"]}


def role_policies(iam, role_arn: str) -> list[dict]:
    name = role_arn.rsplit("/", 1)[1]
    return [
        iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]
        for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]
    ]


def test_syntax_check_passes():
    completed = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", "inventory.ini", "playbooks/aws.yml", "--syntax-check"],
        cwd=ROOT,
        env=ansible_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_a_second_run_changes_nothing(deployed):
    assert deployed["first"].recap()["changed"] > 0
    assert deployed["second"].recap()["changed"] == 0, deployed["second"].output


def test_check_mode_on_the_built_stack_changes_nothing(deployed):
    assert deployed["checked"].recap()["changed"] == 0, deployed["checked"].output


def test_security_group_admits_only_ssh_from_the_allowed_cidr(deployed, outputs):
    group = client("ec2", deployed["moto"]).describe_security_groups(GroupIds=[outputs["SecurityGroupId"]])
    rules = group["SecurityGroups"][0]["IpPermissions"]
    opened = {
        (rule["IpProtocol"], rule["FromPort"], rule["ToPort"], ip_range["CidrIp"])
        for rule in rules
        for ip_range in rule["IpRanges"]
    }
    assert opened == {("tcp", 22, 22, CIDR)}
    assert all(rule["Ipv6Ranges"] == [] and rule["UserIdGroupPairs"] == [] for rule in rules)


def test_grafana_port_opens_to_the_allowed_cidr_only_when_asked(moto_server):
    ec2 = client("ec2", moto_server.url)
    cloudformation = client("cloudformation", moto_server.url)
    ec2.create_key_pair(KeyName="grafana-port")
    ami = client("ssm", moto_server.url).get_parameter(Name=AL2023)["Parameter"]["Value"]
    cloudformation.create_stack(
        StackName="grafana-port-open",
        TemplateBody=(ROOT / "roles/aws_infra/files/pm25-stack.yaml").read_text(),
        Parameters=[
            {"ParameterKey": key, "ParameterValue": value}
            for key, value in {
                "AllowedCidr": CIDR,
                "KeyName": "grafana-port",
                "ImageId": ami,
                "OpenGrafanaPort": "true",
            }.items()
        ],
        Capabilities=["CAPABILITY_IAM"],
    )
    stack = cloudformation.describe_stacks(StackName="grafana-port-open")["Stacks"][0]
    group = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}["SecurityGroupId"]
    rules = ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"][0]["IpPermissions"]
    opened = {
        (r["IpProtocol"], r["FromPort"], r["ToPort"], ip["CidrIp"]) for r in rules for ip in r["IpRanges"]
    }
    assert opened == {("tcp", 22, 22, CIDR), ("tcp", 3000, 3000, CIDR)}


def test_bastion_requires_imdsv2():
    """moto's CloudFormation ignores an instance's MetadataOptions, so this reads the template;
    cfn-lint checks it against CloudFormation's resource schema."""
    template = yaml.safe_load((ROOT / "roles/aws_infra/files/pm25-stack.yaml").read_text())
    options = template["Resources"]["Bastion"]["Properties"]["MetadataOptions"]
    assert options == {"HttpEndpoint": "enabled", "HttpTokens": "required", "HttpPutResponseHopLimit": 1}


def test_cfn_lint_accepts_the_template():
    lint = subprocess.run(
        [str(BIN / "cfn-lint"), "roles/aws_infra/files/pm25-stack.yaml"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_template_limits_outbound_traffic_to_web_ports():
    # moto does not apply egress rules from a template; read them from the template itself.
    template = yaml.safe_load((ROOT / "roles/aws_infra/files/pm25-stack.yaml").read_text())
    egress = template["Resources"]["BastionSecurityGroup"]["Properties"]["SecurityGroupEgress"]
    assert {(rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) for rule in egress} == {
        ("tcp", 443, 443),
        ("tcp", 80, 80),
    }


def test_bastion_runs_the_current_amazon_linux_2023_ami(deployed, outputs):
    ec2 = client("ec2", deployed["moto"])
    expected_ami = client("ssm", deployed["moto"]).get_parameter(Name=AL2023)["Parameter"]["Value"]
    (reservation,) = ec2.describe_instances(InstanceIds=[outputs["BastionInstanceId"]])["Reservations"]
    instance = reservation["Instances"][0]
    assert instance["ImageId"] == expected_ami
    assert instance["InstanceType"] == "t3.small"
    assert instance["KeyName"] == KEY
    assert "/pm25-test-BastionInstanceProfile-" in instance["IamInstanceProfile"]["Arn"]
    assert ec2.describe_key_pairs(KeyNames=[KEY])["KeyPairs"][0]["KeyName"] == KEY


def test_bastion_joins_the_inventory_at_its_public_address(deployed, outputs):
    ec2 = client("ec2", deployed["moto"])
    instance = ec2.describe_instances(InstanceIds=[outputs["BastionInstanceId"]])["Reservations"][0][
        "Instances"
    ][0]
    address = instance["PublicIpAddress"]
    shown = re.search(
        r"Bastion (i-[0-9a-f]+) at ([0-9.]+): ssh ec2-user@([0-9.]+)", deployed["second"].stdout
    )
    assert shown is not None, deployed["second"].stdout
    assert shown.groups() == (outputs["BastionInstanceId"], address, address)
    assert f"Grafana through an SSH tunnel: ssh -L 3000:localhost:3000 ec2-user@{address}" in (
        deployed["second"].stdout.replace("\n", " ")
    )
    assert "PLAY [Configure the bastion]" in deployed["second"].stdout


def test_bastion_role_is_least_privilege(deployed, outputs):
    iam = client("iam", deployed["moto"])
    account = outputs["BastionRoleArn"].split(":")[4]
    stream_arn = f"arn:aws:kinesis:{REGION}:{account}:stream/Timestreampm25Stream"
    table_arn = f"arn:aws:timestream:{REGION}:{account}:database/iot/table/pm25"
    granted: dict[str, set[str]] = {}
    for document in role_policies(iam, outputs["BastionRoleArn"]):
        for statement in statements(document):
            assert statement["Effect"] == "Allow"
            for action in as_set(statement["Action"]):
                granted.setdefault(action, set()).update(as_set(statement["Resource"]))
    assert granted == {
        **{action: {stream_arn} for action in KINESIS_ACTIONS},
        "timestream:WriteRecords": {table_arn},
        "timestream:DescribeTable": {table_arn},
        "timestream:Select": {table_arn},
        "timestream:DescribeEndpoints": {"*"},
        "sts:AssumeRole": {outputs["GrafanaReadRoleArn"]},
    }
    name = outputs["BastionRoleArn"].rsplit("/", 1)[1]
    assert iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"] == []


def test_grafana_role_reads_the_one_table_and_trusts_only_the_bastion_role(deployed, outputs):
    iam = client("iam", deployed["moto"])
    name = outputs["GrafanaReadRoleArn"].rsplit("/", 1)[1]
    trust = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
    assert [(s["Effect"], s["Principal"], s["Action"]) for s in statements(trust)] == [
        ("Allow", {"AWS": outputs["BastionRoleArn"]}, "sts:AssumeRole")
    ]
    actions: set[str] = set()
    readable: set[str] = set()
    for document in role_policies(iam, outputs["GrafanaReadRoleArn"]):
        for statement in statements(document):
            actions |= as_set(statement["Action"])
            resources = as_set(statement["Resource"])
            if resources == {"*"}:
                assert as_set(statement["Action"]) <= {
                    "timestream:DescribeEndpoints",
                    "timestream:ListDatabases",
                    "timestream:SelectValues",
                    "timestream:CancelQuery",
                }
            else:
                assert all(
                    resource.endswith(
                        ("database/iot", "database/iot/table/pm25", "database/iot/table/pm25_hourly")
                    )
                    for resource in resources
                )
                readable |= resources
    assert actions == READ_ONLY
    # The readings for "PM2.5 Analysis 1", the hourly rollup for "PM2.5 Air Quality".
    assert {r.rsplit(":", 1)[1] for r in readable} == {
        "database/iot",
        "database/iot/table/pm25",
        "database/iot/table/pm25_hourly",
    }


def test_the_rollup_role_is_least_privilege_and_trusts_only_timestream_of_this_account(deployed, outputs):
    iam = client("iam", deployed["moto"])
    account = outputs["BastionRoleArn"].split(":")[4]
    name = outputs["RollupRoleArn"].rsplit("/", 1)[1]
    trust = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
    assert [(s["Effect"], s["Principal"], s["Action"], s["Condition"]) for s in statements(trust)] == [
        (
            "Allow",
            {"Service": "timestream.amazonaws.com"},
            "sts:AssumeRole",
            {"StringEquals": {"aws:SourceAccount": account}},
        )
    ]
    granted: dict[str, set[str]] = {}
    for document in role_policies(iam, outputs["RollupRoleArn"]):
        for statement in statements(document):
            assert statement["Effect"] == "Allow"
            for action in as_set(statement["Action"]):
                granted.setdefault(action, set()).update(as_set(statement["Resource"]))
    database = f"arn:aws:timestream:{REGION}:{account}:database/iot"
    assert granted == {
        "timestream:Select": {f"{database}/table/pm25"},
        "timestream:WriteRecords": {f"{database}/table/pm25_hourly"},
        "timestream:DescribeTable": {f"{database}/table/pm25_hourly"},
        "timestream:DescribeEndpoints": {"*"},
        "sns:Publish": {outputs["RollupTopicArn"]},
        "s3:PutObject": {f"arn:aws:s3:::{outputs['RollupErrorBucketName']}/*"},
    }
    assert iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"] == []


def test_the_rollup_error_bucket_is_private_and_encrypted():
    """moto's CloudFormation does not apply every bucket property, so this reads the template."""
    template = yaml.safe_load((ROOT / "roles/aws_infra/files/pm25-stack.yaml").read_text())
    bucket = template["Resources"]["RollupErrorBucket"]["Properties"]
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]


def test_the_hourly_rollup_runs_as_the_stacks_role_into_its_table(deployed, outputs):
    query = client("timestream-query", deployed["timestream"])
    (entry,) = [
        q
        for page in query.get_paginator("list_scheduled_queries").paginate()
        for q in page["ScheduledQueries"]
        if q["Name"] == "pm25-hourly-rollup"
    ]
    described = query.describe_scheduled_query(ScheduledQueryArn=entry["Arn"])["ScheduledQuery"]
    assert described["State"] == "ENABLED"
    assert described["ScheduledQueryExecutionRoleArn"] == outputs["RollupRoleArn"]
    assert described["NotificationConfiguration"]["SnsConfiguration"]["TopicArn"] == outputs["RollupTopicArn"]
    s3 = described["ErrorReportConfiguration"]["S3Configuration"]
    assert s3["BucketName"] == outputs["RollupErrorBucketName"]
    assert s3["ObjectKeyPrefix"] == "pm25-hourly-rollup/"
    assert described["ScheduleConfiguration"]["ScheduleExpression"] == "cron(5 * * * ? *)"
    assert 'FROM "iot"."pm25"' in described["QueryString"]
    target = described["TargetConfiguration"]["TimestreamConfiguration"]
    assert (target["DatabaseName"], target["TableName"]) == ("iot", "pm25_hourly")
    table = client("timestream-write", deployed["timestream"]).describe_table(
        DatabaseName="iot", TableName="pm25_hourly"
    )
    assert table["Table"]["MagneticStoreWriteProperties"]["EnableMagneticStoreWrites"] is True


def test_the_timestream_resources_carry_the_roles_tags(deployed):
    """pipeline_resources_tags' default, read back with ListTagsForResource on each resource."""
    write = client("timestream-write", deployed["timestream"])
    query = client("timestream-query", deployed["timestream"])
    arns = {
        "database": write.describe_database(DatabaseName="iot")["Database"]["Arn"],
        "table": write.describe_table(DatabaseName="iot", TableName="pm25")["Table"]["Arn"],
        "rollup table": write.describe_table(DatabaseName="iot", TableName="pm25_hourly")["Table"]["Arn"],
    }
    found = {
        what: {tag["Key"]: tag["Value"] for tag in write.list_tags_for_resource(ResourceARN=arn)["Tags"]}
        for what, arn in arns.items()
    }
    (entry,) = [
        q
        for page in query.get_paginator("list_scheduled_queries").paginate()
        for q in page["ScheduledQueries"]
        if q["Name"] == "pm25-hourly-rollup"
    ]
    found["scheduled query"] = {
        tag["Key"]: tag["Value"] for tag in query.list_tags_for_resource(ResourceARN=entry["Arn"])["Tags"]
    }
    expected = {"project": "pm25-timestream"}
    assert found == {
        "database": expected,
        "table": expected,
        "rollup table": expected,
        "scheduled query": expected,
    }


def test_stream_has_the_asked_shards(deployed):
    kinesis = client("kinesis", deployed["kinesis"])
    summary = kinesis.describe_stream_summary(StreamName="Timestreampm25Stream")["StreamDescriptionSummary"]
    assert summary["StreamStatus"] == "ACTIVE"
    assert summary["OpenShardCount"] == 2
    assert summary["RetentionPeriodHours"] == 24


def test_table_has_the_asked_retention(deployed):
    timestream = client("timestream-write", deployed["timestream"])
    table = timestream.describe_table(DatabaseName="iot", TableName="pm25")["Table"]
    assert table["RetentionProperties"] == {
        "MemoryStoreRetentionPeriodInHours": 12,
        "MagneticStoreRetentionPeriodInDays": 30,
    }
    assert table["MagneticStoreWriteProperties"]["EnableMagneticStoreWrites"] is True


def test_template_conditions_for_flink_and_for_the_local_backend(moto_server):
    """Timestream permissions exist only for the AWS backend; CreateDatabase/CreateTable only for
    the Flink connector, scoped to the one database and table."""
    ec2 = client("ec2", moto_server.url)
    cloudformation = client("cloudformation", moto_server.url)
    iam = client("iam", moto_server.url)
    ec2.create_key_pair(KeyName="conditions")
    body = (ROOT / "roles/aws_infra/files/pm25-stack.yaml").read_text()
    ami = client("ssm", moto_server.url).get_parameter(Name=AL2023)["Parameter"]["Value"]
    granted = {}
    for backend, bridge in (("aws", "flink"), ("local", "forwarder")):
        name = f"conditions-{backend}-{bridge}"
        parameters = {
            "AllowedCidr": CIDR,
            "KeyName": "conditions",
            "ImageId": ami,
            "TimestreamBackend": backend,
            "IngestVia": bridge,
        }
        cloudformation.create_stack(
            StackName=name,
            TemplateBody=body,
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
            Capabilities=["CAPABILITY_IAM"],
        )
        stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
        out = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
        actions: dict[str, set[str]] = {}
        for document in role_policies(iam, out["BastionRoleArn"]):
            for statement in statements(document):
                for action in as_set(statement["Action"]):
                    actions.setdefault(action, set()).update(as_set(statement["Resource"]))
        granted[backend] = (actions, out)
    flink_actions, flink_outputs = granted["aws"]
    account = flink_outputs["BastionRoleArn"].split(":")[4]
    assert flink_actions["timestream:CreateDatabase"] == {
        f"arn:aws:timestream:{REGION}:{account}:database/iot"
    }
    assert flink_actions["timestream:CreateTable"] == {
        f"arn:aws:timestream:{REGION}:{account}:database/iot/table/pm25"
    }
    local_actions, local_outputs = granted["local"]
    assert set(local_actions) == KINESIS_ACTIONS
    assert "GrafanaReadRoleArn" not in local_outputs


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"allowed_cidr": ""}, "Please specify allowed_cidr (aws_infra_allowed_cidr)"),
        ({"allowed_cidr": "0.0.0.0/0"}, "would open SSH and Grafana to the whole Internet"),
        ({"vault_grafana_admin_password": "admin"}, 'The Grafana admin password must not be "admin"'),
        (
            {"ingest_via": "flink", "timestream_backend": "local"},
            "ingest_via=flink needs timestream_backend=aws",
        ),
    ],
)
def test_bad_settings_stop_before_anything_is_built(settings, moto_server, override, message):
    stack = "refused-" + re.sub("[^a-z0-9]+", "-", message.lower()).strip("-")[:40]
    run = run_playbook("playbooks/aws.yml", {**settings, **override, "aws_infra_stack_name": stack})
    assert run.returncode != 0
    assert message in run.output
    assert "Traceback" not in run.output
    with pytest.raises(ClientError):
        client("cloudformation", moto_server.url).describe_stacks(StackName=stack)


def test_an_account_without_timestream_stops_before_the_stack(settings, stand_ins, moto_server):
    """An account Timestream for LiveAnalytics does not admit (a store that checks signatures
    answers AccessDeniedException to other keys, as AWS answers a new account) stops the play
    before the billed bastion or the stream exists."""
    strict = start_timestream_local(
        stand_ins["base"] / "strict", extra_args=["--access-key", "owner", "--secret-key", "owner-secret-key"]
    )
    elsewhere = {
        "aws_infra_stack_name": "no-timestream",
        "pm25_stream_name": "NoTimestreamStream",
        "aws_timestream_endpoint_url": strict.url,
    }
    try:
        run = run_playbook("playbooks/aws.yml", {**settings, **elsewhere})
    finally:
        strict.stop()
    assert run.returncode != 0
    assert "stopped accepting new customers on 2025-06-20" in run.output
    assert "Set timestream_backend: local" in run.output
    assert "Traceback" not in run.output
    with pytest.raises(ClientError):
        client("cloudformation", moto_server.url).describe_stacks(StackName="no-timestream")
    with pytest.raises(ClientError):
        client("kinesis", stand_ins["kinesis"]).describe_stream_summary(StreamName="NoTimestreamStream")


def test_check_mode_on_a_fresh_account_builds_nothing(settings, stand_ins):
    fresh = {
        **settings,
        "aws_infra_stack_name": "pm25-check-mode",
        "pm25_stream_name": "CheckModeStream",
        "pm25_database": "checkmode",
    }
    run = run_playbook("playbooks/aws.yml", fresh, "--check", "--diff")
    assert run.returncode == 0, run.output
    assert "check mode stops before the bastion" in run.stdout
    assert run.recap()["changed"] > 0
    with pytest.raises(ClientError):
        client("cloudformation", stand_ins["moto"]).describe_stacks(StackName="pm25-check-mode")
    with pytest.raises(ClientError):
        client("kinesis", stand_ins["kinesis"]).describe_stream_summary(StreamName="CheckModeStream")
    databases = client("timestream-write", stand_ins["timestream"]).list_databases()["Databases"]
    assert "checkmode" not in [db["DatabaseName"] for db in databases]


@pytest.mark.parametrize(
    "tags",
    [[], [{"Key": "pm25-timestream:imported-for-stack", "Value": "another-stack"}]],
    ids=["untagged", "imported-for-another-stack"],
)
def test_teardown_keeps_a_key_pair_the_play_did_not_import(settings, stand_ins, tags):
    """The user's own key pair of that name, or one imported for another stack, survives
    state=absent even with aws_public_key_file set."""
    name = f"users-own-key-{len(tags)}"
    ec2 = client("ec2", stand_ins["moto"])
    material = public_key(stand_ins["base"] / f"{name}.pub").read_bytes()
    tag_specifications = [{"ResourceType": "key-pair", "Tags": tags}] if tags else []
    ec2.import_key_pair(KeyName=name, PublicKeyMaterial=material, TagSpecifications=tag_specifications)
    elsewhere = {
        "aws_key_name": name,
        "aws_infra_stack_name": f"never-built-{len(tags)}",
        "pm25_stream_name": f"NeverBuilt{len(tags)}",
        "pm25_database": f"neverbuilt{len(tags)}",
        "state": "absent",
    }
    torn = run_playbook("playbooks/aws.yml", {**settings, **elsewhere})
    assert torn.returncode == 0, torn.output
    assert [pair["KeyName"] for pair in ec2.describe_key_pairs(KeyNames=[name])["KeyPairs"]] == [name]
    assert f"The EC2 key pair {name} stays" in torn.stdout


def test_the_imported_key_pair_carries_its_stack(deployed):
    (pair,) = client("ec2", deployed["moto"]).describe_key_pairs(KeyNames=[KEY])["KeyPairs"]
    assert {"Key": "pm25-timestream:imported-for-stack", "Value": STACK} in pair["Tags"]


def help_moto_delete_the_vpc(url: str) -> None:
    """moto's CloudFormation skips deleting internet-gateway attachments and route tables (AWS
    deletes them with the stack), and then refuses to delete the VPC. Do those two steps by hand,
    so that the rest of the teardown runs for real."""
    ec2 = client("ec2", url)
    stack_filter = [{"Name": "tag:aws:cloudformation:stack-name", "Values": [STACK]}]
    for gateway in ec2.describe_internet_gateways(Filters=stack_filter)["InternetGateways"]:
        for attachment in gateway["Attachments"]:
            ec2.detach_internet_gateway(
                InternetGatewayId=gateway["InternetGatewayId"], VpcId=attachment["VpcId"]
            )
    for table in ec2.describe_route_tables(Filters=stack_filter)["RouteTables"]:
        for association in table["Associations"]:
            ec2.disassociate_route_table(AssociationId=association["RouteTableAssociationId"])
        ec2.delete_route_table(RouteTableId=table["RouteTableId"])


def fill_the_error_bucket(url: str, bucket: str) -> set[tuple[str, str]]:
    """Error reports in the stack's bucket, with versioning turned on so that old versions and a
    delete marker are there too; returns every (key, version) the bucket holds."""
    bucket_s3 = s3(url)
    bucket_s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for body in (b'{"run": 1}', b'{"run": 2}'):
        bucket_s3.put_object(Bucket=bucket, Key="pm25-hourly-rollup/report-1.json", Body=body)
    bucket_s3.delete_object(Bucket=bucket, Key="pm25-hourly-rollup/report-1.json")
    bucket_s3.put_object(Bucket=bucket, Key="pm25-hourly-rollup/report-2.json", Body=b'{"run": 3}')
    return held(url, bucket)


def held(url: str, bucket: str) -> set[tuple[str, str]]:
    answer = s3(url).list_object_versions(Bucket=bucket)
    return {
        (entry["Key"], entry["VersionId"])
        for entry in answer.get("Versions", []) + answer.get("DeleteMarkers", [])
    }


def test_state_absent_deletes_everything_it_built(deployed, outputs, settings):
    help_moto_delete_the_vpc(deployed["moto"])
    bucket = outputs["RollupErrorBucketName"]
    reports = fill_the_error_bucket(deployed["moto"], bucket)
    assert len(reports) == 4  # two versions and a delete marker of one report, one version of another

    checked = run_playbook("playbooks/aws.yml", {**settings, "state": "absent"}, "--check")
    assert checked.returncode == 0, checked.output
    assert held(deployed["moto"], bucket) == reports
    status = client("cloudformation", deployed["moto"]).describe_stacks(StackName=STACK)["Stacks"][0][
        "StackStatus"
    ]
    assert status in ("CREATE_COMPLETE", "UPDATE_COMPLETE")

    torn = run_playbook("playbooks/aws.yml", {**settings, "state": "absent"})
    assert torn.returncode == 0, torn.output
    buckets = [entry["Name"] for entry in s3(deployed["moto"]).list_buckets()["Buckets"]]
    assert bucket not in buckets
    again = run_playbook("playbooks/aws.yml", {**settings, "state": "absent"})
    assert again.returncode == 0, again.output
    assert again.recap()["changed"] == 0, again.output
    cloudformation = client("cloudformation", deployed["moto"])
    try:
        status = cloudformation.describe_stacks(StackName=STACK)["Stacks"][0]["StackStatus"]
    except ClientError as gone:
        assert "does not exist" in str(gone)
    else:
        assert status == "DELETE_COMPLETE"
    with pytest.raises(ClientError):
        client("kinesis", deployed["kinesis"]).describe_stream_summary(StreamName="Timestreampm25Stream")
    databases = client("timestream-write", deployed["timestream"]).list_databases()["Databases"]
    assert [db["DatabaseName"] for db in databases] == []
    ec2 = client("ec2", deployed["moto"])
    assert KEY not in [pair["KeyName"] for pair in ec2.describe_key_pairs()["KeyPairs"]]
    (reservation,) = ec2.describe_instances(InstanceIds=[outputs["BastionInstanceId"]])["Reservations"]
    assert reservation["Instances"][0]["State"]["Name"] == "terminated"
    iam = client("iam", deployed["moto"])
    assert (
        client("timestream-query", deployed["timestream"]).list_scheduled_queries()["ScheduledQueries"] == []
    )
    for role_arn in (outputs["BastionRoleArn"], outputs["GrafanaReadRoleArn"], outputs["RollupRoleArn"]):
        with pytest.raises(ClientError) as missing:
            iam.get_role(RoleName=role_arn.rsplit("/", 1)[1])
        assert missing.value.response["Error"]["Code"] == "NoSuchEntity"
