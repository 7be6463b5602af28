"""The AWS collector against moto's server: every resource type, paging, pseudo-resources, the
assumed role, retries and errors (through a fault-injecting proxy), and verify()."""

from __future__ import annotations

import io
import json
import threading
import time
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest

from devkit.estates import DEMO_CREDENTIALS
from shared.inventory.collectors.aws.engine import PROBES, AwsCollector
from shared.inventory.collectors.base import GLOBAL_REGION, CollectedResource, CollectionError, Stopped
from shared.inventory.collectors.providers import resource_types
from shared.platform.settings import Settings
from shared.policies.policy import builtin_policies
from tests.aws_faults import FaultyCloud
from tests.conftest import free_port

HOME = "us-east-1"
OTHER = "eu-west-1"
ACCOUNT = "123456789012"  # moto's account
WORLD_READ = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"}


def aws(service: str, endpoint: str, region: str = HOME, **options):
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=endpoint,
        aws_access_key_id=DEMO_CREDENTIALS["access_key_id"],
        aws_secret_access_key=DEMO_CREDENTIALS["secret_access_key"],
        **options,
    )


def make_collector(
    endpoint: str,
    regions=(HOME,),
    *,
    credentials: dict | None = None,
    sleeps: list | None = None,
    now: datetime | None = None,
    **settings,
) -> AwsCollector:
    account = SimpleNamespace(endpoint_url=endpoint, regions=list(regions))
    options = {"page_size": 5, "aws_max_attempts": 3, "detail_concurrency": 4, **settings}
    return AwsCollector(
        account,
        credentials or DEMO_CREDENTIALS,
        Settings(**options),
        sleep=(sleeps.append if sleeps is not None else _no_sleep),
        now=(lambda: now) if now else (lambda: datetime.now(UTC)),
    )


def _no_sleep(seconds: float) -> None:
    raise AssertionError(f"unexpected back-off of {seconds}s")


def collect(collector: AwsCollector, resource_type: str, region: str = HOME) -> dict[str, CollectedResource]:
    return {r.name: r for page in collector.pages(resource_type, region) for r in page}


def failing(policy_id: str, resources: dict[str, CollectedResource]) -> set[str]:
    policy = builtin_policies()[policy_id]
    return {name for name, resource in resources.items() if policy.fails(resource.document)}


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handle(event, context):\n    return event\n")
    return buffer.getvalue()


def seed_estate(endpoint: str) -> None:
    """One of each resource type in us-east-1, some compliant and some not."""
    s3 = aws("s3", endpoint)
    s3.create_bucket(Bucket="public-site")
    s3.put_bucket_policy(
        Bucket="public-site",
        Policy=json.dumps(
            {"Version": "2012-10-17", "Statement": [{**WORLD_READ, "Resource": "arn:aws:s3:::public-site/*"}]}
        ),
    )
    s3.put_bucket_acl(Bucket="public-site", ACL="public-read")
    s3.create_bucket(Bucket="tls-only")
    deny_http = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": ["arn:aws:s3:::tls-only", "arn:aws:s3:::tls-only/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    s3.put_bucket_policy(Bucket="tls-only", Policy=json.dumps({"Version": "2012-10-17", "Statement": [deny_http]}))

    ec2 = aws("ec2", endpoint)
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    ec2.run_instances(
        ImageId="ami-12345678",
        MinCount=1,
        MaxCount=1,
        InstanceType="m4.large",
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "web"}]}],
    )
    ec2.run_instances(
        ImageId="ami-12345678",
        MinCount=1,
        MaxCount=1,
        InstanceType="t3.micro",
        MetadataOptions={"HttpTokens": "required"},
        NetworkInterfaces=[{"DeviceIndex": 0, "SubnetId": subnet, "AssociatePublicIpAddress": False}],
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "api"}]}],
    )
    plain = ec2.create_volume(
        Size=1,
        AvailabilityZone="us-east-1a",
        TagSpecifications=[{"ResourceType": "volume", "Tags": [{"Key": "Name", "Value": "plain"}]}],
    )["VolumeId"]
    ec2.create_volume(
        Size=1,
        AvailabilityZone="us-east-1a",
        Encrypted=True,
        TagSpecifications=[{"ResourceType": "volume", "Tags": [{"Key": "Name", "Value": "sealed"}]}],
    )
    snapshot = ec2.create_snapshot(
        VolumeId=plain, TagSpecifications=[{"ResourceType": "snapshot", "Tags": [{"Key": "Name", "Value": "shared"}]}]
    )["SnapshotId"]
    ec2.modify_snapshot_attribute(
        SnapshotId=snapshot, Attribute="createVolumePermission", OperationType="add", GroupNames=["all"]
    )
    flowed = ec2.create_vpc(
        CidrBlock="10.1.0.0/16",
        TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": "flowed"}]}],
    )["Vpc"]["VpcId"]
    s3.create_bucket(Bucket="flow-logs")
    ec2.create_flow_logs(
        ResourceIds=[flowed],
        ResourceType="VPC",
        TrafficType="ALL",
        LogDestinationType="s3",
        LogDestination="arn:aws:s3:::flow-logs",
    )
    ec2.enable_ebs_encryption_by_default()  # in us-east-1 only

    iam = aws("iam", endpoint)
    trust_account = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": "sts:AssumeRole",
    }
    trust_anyone = {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
    for name, statement in (("ci-role", trust_account), ("open-role", trust_anyone)):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({"Statement": [statement]}))
    admin = iam.create_policy(
        PolicyName="admin-all",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}
        ),
    )["Policy"]["Arn"]
    iam.create_policy(
        PolicyName="s3-read",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
        ),
    )
    for user in ("alice", "bob"):
        iam.create_user(UserName=user)
        iam.create_login_profile(UserName=user, Password="correct-horse-battery")
        iam.create_access_key(UserName=user)
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName="alice")["VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(
        UserName="alice", SerialNumber=device, AuthenticationCode1="123456", AuthenticationCode2="654321"
    )
    iam.create_access_key(UserName="bob")  # a second active key
    iam.attach_user_policy(UserName="bob", PolicyArn=admin)

    rds = aws("rds", endpoint)
    rds.create_db_instance(
        DBInstanceIdentifier="orders",
        Engine="postgres",
        DBInstanceClass="db.t3.micro",
        MasterUsername="admin1",
        MasterUserPassword="not-a-real-password",
        AllocatedStorage=20,
        PubliclyAccessible=True,
        BackupRetentionPeriod=1,
    )
    rds.create_db_snapshot(DBSnapshotIdentifier="orders-manual", DBInstanceIdentifier="orders")
    rds.modify_db_snapshot_attribute(DBSnapshotIdentifier="orders-manual", AttributeName="restore", ValuesToAdd=["all"])

    trails = aws("cloudtrail", endpoint)
    s3.create_bucket(Bucket="trail-logs")
    trails.create_trail(Name="main", S3BucketName="trail-logs", IsMultiRegionTrail=True, EnableLogFileValidation=True)
    trails.start_logging(Name="main")
    trails.put_event_selectors(
        TrailName="main", EventSelectors=[{"ReadWriteType": "All", "IncludeManagementEvents": True}]
    )

    kms = aws("kms", endpoint)
    rotated = kms.create_key(Description="rotated")["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=rotated)
    kms.create_key(Description="static")

    role = iam.create_role(
        RoleName="lambda-exec",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ]
            }
        ),
    )["Role"]["Arn"]
    functions = aws("lambda", endpoint)
    for name, runtime in (("public-fn", "python3.12"), ("legacy-fn", "python3.7")):
        functions.create_function(
            FunctionName=name, Runtime=runtime, Role=role, Handler="handler.handle", Code={"ZipFile": _zip()}
        )
    functions.add_permission(
        FunctionName="public-fn", StatementId="anyone", Action="lambda:InvokeFunction", Principal="*"
    )

    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    elbv2 = aws("elbv2", endpoint)
    balancer = elbv2.create_load_balancer(Name="web-lb", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    group = elbv2.create_target_group(Name="web", Protocol="HTTP", Port=80, VpcId=vpc)["TargetGroups"][0]
    forward = [{"Type": "forward", "TargetGroupArn": group["TargetGroupArn"]}]
    certificate = aws("acm", endpoint).request_certificate(DomainName="shop.example.com")["CertificateArn"]
    elbv2.create_listener(LoadBalancerArn=balancer, Protocol="HTTP", Port=80, DefaultActions=forward)
    elbv2.create_listener(
        LoadBalancerArn=balancer,
        Protocol="HTTPS",
        Port=443,
        SslPolicy="ELBSecurityPolicy-TLS13-1-2-2021-06",
        Certificates=[{"CertificateArn": certificate}],
        DefaultActions=forward,
    )

    logs = aws("logs", endpoint)
    logs.create_log_group(logGroupName="/app/api")
    logs.put_retention_policy(logGroupName="/app/api", retentionInDays=30)
    logs.create_log_group(logGroupName="/app/audit", kmsKeyId=f"arn:aws:kms:{HOME}:{ACCOUNT}:key/{rotated}")
    logs.put_retention_policy(logGroupName="/app/audit", retentionInDays=400)

    config = aws("config", endpoint)
    config.put_configuration_recorder(
        ConfigurationRecorder={
            "name": "default",
            "roleARN": f"arn:aws:iam::{ACCOUNT}:role/config",
            "recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": True},
        }
    )
    config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": "trail-logs"})
    config.start_configuration_recorder(ConfigurationRecorderName="default")


def test_registry_declares_sixty_aws_types_and_only_global_services_are_global():
    aws_types = {name: spec for name, spec in resource_types.items() if spec.provider == "aws"}
    assert len(aws_types) >= 60
    # Global services are called once per account (in us-east-1); everything else per region.
    assert {spec.service for spec in aws_types.values() if spec.global_service} == {
        "account",
        "iam",
        "s3",
        "s3control",
        "cloudfront",
        "route53",
        "route53domains",
        "wafv2",  # CloudFront's web ACLs (scope CLOUDFRONT); regional web ACLs are a regional type
    }


def test_every_aws_type_is_collected_by_a_test():
    """Each resource type is read from moto (or, where moto lacks the API, from answers in the
    API reference's shape) by a collector test that names it."""
    tests = Path(__file__).parent
    text = "".join(path.read_text() for path in [*tests.glob("test_aws.py"), *tests.glob("aws/test_*.py")])
    untested = [name for name, spec in resource_types.items() if spec.provider == "aws" and f'"{name}"' not in text]
    assert untested == []


def test_every_type_lists_what_was_created(moto):
    seed_estate(moto)
    collector = make_collector(moto)

    buckets = collect(collector, "aws.s3.bucket", GLOBAL_REGION)
    assert {"public-site", "tls-only"} <= set(buckets)
    assert buckets["public-site"].uid == "arn:aws:s3:::public-site" and buckets["public-site"].region == HOME
    assert buckets["public-site"].document["Policy"]["Statement"][0]["Principals"] == ["*"]
    assert failing("pol_s3_bucket_policy_not_public", buckets) == {"public-site"}
    assert failing("pol_s3_acl_not_public", buckets) == {"public-site"}
    assert "tls-only" not in failing("pol_s3_deny_insecure_transport", buckets)

    instances = collect(collector, "aws.ec2.instance")
    assert set(instances) == {"web", "api"}
    assert instances["web"].uid == f"arn:aws:ec2:{HOME}:{ACCOUNT}:instance/{instances['web'].id}"
    assert failing("pol_ec2_instance_imdsv2", instances) == {"web"}
    assert failing("pol_ec2_instance_no_public_ip", instances) == {"web"}
    assert failing("pol_ec2_instance_ebs_optimized", instances) == {"web"}

    volumes = collect(collector, "aws.ec2.volume")
    assert len(volumes) == 4  # with the instances' root volumes, unencrypted as well
    assert failing("pol_ebs_volume_encrypted", volumes) == set(volumes) - {"sealed"}
    snapshots = collect(collector, "aws.ec2.snapshot")
    # Only the account's own: moto's AMI snapshots belong to other accounts.
    assert set(snapshots) == {"shared"}
    assert snapshots["shared"].document["CreateVolumePermissions"] == [{"Group": "all"}]
    assert failing("pol_ebs_snapshot_not_public", snapshots) == {"shared"}
    assert failing("pol_ebs_snapshot_encrypted", snapshots) == {"shared"}

    (default_encryption,) = collect(collector, "aws.ec2.ebs-encryption-default").values()
    assert default_encryption.name == ACCOUNT and default_encryption.document["EbsEncryptionByDefault"] is True

    vpcs = collect(collector, "aws.ec2.vpc")
    assert len(vpcs) == 2 and "flowed" in vpcs
    assert vpcs["flowed"].document["FlowLogs"][0]["FlowLogStatus"] == "ACTIVE"
    assert failing("pol_vpc_flow_logs", vpcs) == set(vpcs) - {"flowed"}

    users = collect(collector, "aws.iam.user", GLOBAL_REGION)
    assert set(users) == {"alice", "bob"}
    assert users["bob"].region == GLOBAL_REGION and users["bob"].uid == f"arn:aws:iam::{ACCOUNT}:user/bob"
    bob = users["bob"].document
    assert bob["HasConsolePassword"] is True and bob["ActiveAccessKeyCount"] == 2
    assert {key["AgeDays"] for key in bob["AccessKeys"]} == {0}
    assert all("LastUsed" in key for key in bob["AccessKeys"])
    assert failing("pol_iam_user_console_mfa", users) == {"bob"}
    assert failing("pol_iam_user_single_active_key", users) == {"bob"}
    assert failing("pol_iam_user_no_direct_policies", users) == {"bob"}
    assert failing("pol_iam_access_key_rotation", users) == set()

    roles = collect(collector, "aws.iam.role", GLOBAL_REGION)
    assert {"ci-role", "open-role", "lambda-exec"} <= set(roles)
    assert failing("pol_iam_role_trust_not_public", roles) == {"open-role"}
    policies = collect(collector, "aws.iam.policy", GLOBAL_REGION)
    assert set(policies) == {"admin-all", "s3-read"}
    assert policies["admin-all"].document["Document"]["Statement"][0]["Action"] == ["*"]
    assert failing("pol_iam_policy_no_admin_star", policies) == {"admin-all"}

    (summary,) = collect(collector, "aws.iam.account-summary", GLOBAL_REGION).values()
    assert summary.uid == f"arn:aws:iam::{ACCOUNT}:root"
    assert summary.document["SummaryMap"]["AccountMFAEnabled"] == 0

    databases = collect(collector, "aws.rds.instance")
    assert set(databases) == {"orders"}
    assert databases["orders"].uid == f"arn:aws:rds:{HOME}:{ACCOUNT}:db:orders"
    for policy_id in ("pol_rds_instance_encrypted", "pol_rds_instance_not_public", "pol_rds_instance_backups"):
        assert failing(policy_id, databases) == {"orders"}, policy_id
    db_snapshots = collect(collector, "aws.rds.snapshot")
    assert "orders-manual" in db_snapshots  # with moto's automated snapshot of the instance
    assert failing("pol_rds_snapshot_not_public", db_snapshots) == {"orders-manual"}

    trails = collect(collector, "aws.cloudtrail.trail")
    assert set(trails) == {"main"}
    trail = trails["main"].document
    assert trail["Status"]["IsLogging"] is True and trail["Selectors"]["EventSelectors"][0]["ReadWriteType"] == "All"
    for policy_id in ("pol_cloudtrail_logging", "pol_cloudtrail_multi_region", "pol_cloudtrail_management_events"):
        assert failing(policy_id, trails) == set(), policy_id
    assert failing("pol_cloudtrail_kms_encryption", trails) == {"main"}

    # moto also creates a key for the encrypted volume (as a customer key, where AWS would manage it).
    keys = {r.document["KeyMetadata"]["Description"]: r for r in collect(collector, "aws.kms.key").values()}
    assert {"rotated", "static"} <= set(keys)
    assert keys["rotated"].document["KeyRotationEnabled"] is True and keys["rotated"].name == keys["rotated"].id
    assert failing("pol_kms_key_rotation", {d: keys[d] for d in ("rotated", "static")}) == {"static"}

    functions = collect(collector, "aws.lambda.function")
    assert set(functions) == {"public-fn", "legacy-fn"}
    assert "Policy" not in functions["legacy-fn"].document  # no resource policy: nothing stored
    assert failing("pol_lambda_not_public", functions) == {"public-fn"}
    assert failing("pol_lambda_supported_runtime", functions) == {"legacy-fn"}

    balancers = collect(collector, "aws.elbv2.load-balancer")
    assert set(balancers) == {"web-lb"}
    assert balancers["web-lb"].document["Attributes"]["deletion_protection_enabled"] is False
    assert failing("pol_elbv2_deletion_protection", balancers) == {"web-lb"}
    listeners = collect(collector, "aws.elbv2.listener")
    assert set(listeners) == {"web-lb:80", "web-lb:443"}
    assert listeners["web-lb:80"].document["LoadBalancerName"] == "web-lb"
    assert failing("pol_elbv2_listener_https", listeners) == {"web-lb:80"}
    assert failing("pol_elbv2_listener_tls_policy", listeners) == set()

    groups = collect(collector, "aws.logs.log-group")
    assert set(groups) == {"/app/api", "/app/audit"}
    assert groups["/app/api"].uid == f"arn:aws:logs:{HOME}:{ACCOUNT}:log-group:/app/api"
    assert failing("pol_logs_retention_one_year", groups) == {"/app/api"}
    assert failing("pol_logs_kms_encryption", groups) == {"/app/api"}

    (recorder,) = collect(collector, "aws.config.recorder").values()
    assert recorder.document["ConfigurationRecordersStatus"][0]["recording"] is True
    assert failing("pol_config_recorder_enabled", {"r": recorder}) == set()


def test_pseudo_resources_exist_when_nothing_is_configured(moto):
    collector = make_collector(moto, regions=(OTHER,))
    (password,) = collect(collector, "aws.iam.password-policy", GLOBAL_REGION).values()
    assert password.document == {} and password.name == ACCOUNT and password.region == GLOBAL_REGION
    for policy_id in ("pol_iam_password_min_length", "pol_iam_password_reuse", "pol_iam_password_complexity"):
        assert failing(policy_id, {"p": password}) == {"p"}, policy_id

    (recorder,) = collect(collector, "aws.config.recorder", OTHER).values()
    assert recorder.document == {"ConfigurationRecorders": [], "ConfigurationRecordersStatus": []}
    assert recorder.uid == f"arn:aws:config:{OTHER}:{ACCOUNT}:configuration-recorder"
    assert failing("pol_config_recorder_enabled", {"r": recorder}) == {"r"}
    assert failing("pol_config_records_all_resources", {"r": recorder}) == {"r"}

    (default_encryption,) = collect(collector, "aws.ec2.ebs-encryption-default", OTHER).values()
    assert default_encryption.region == OTHER
    assert failing("pol_ebs_default_encryption", {"d": default_encryption}) == {"d"}

    aws("iam", moto).update_account_password_policy(MinimumPasswordLength=16, PasswordReusePrevention=24)
    (password,) = collect(collector, "aws.iam.password-policy", GLOBAL_REGION).values()
    assert password.document["PasswordPolicy"]["MinimumPasswordLength"] == 16
    assert failing("pol_iam_password_min_length", {"p": password}) == set()


def test_global_types_are_listed_only_for_the_global_region(moto):
    collector = make_collector(moto)
    for name, spec in resource_types.items():
        if spec.provider != "aws":
            continue
        wrong = HOME if spec.global_service else GLOBAL_REGION
        with pytest.raises(ValueError):
            next(collector.pages(name, wrong))


def test_key_ages_are_counted_from_the_collection_time(moto):
    iam = aws("iam", moto)
    iam.create_user(UserName="ci")
    iam.create_access_key(UserName="ci")
    later = datetime.now(UTC) + timedelta(days=100)
    users = collect(make_collector(moto, now=later), "aws.iam.user", GLOBAL_REGION)
    (key,) = users["ci"].document["AccessKeys"]
    assert key["AgeDays"] in (99, 100) and key["DaysSinceLastUse"] == key["AgeDays"]  # never used
    assert failing("pol_iam_access_key_rotation", users) == {"ci"}
    assert failing("pol_iam_access_key_unused", users) == {"ci"}


def test_listings_page_through_several_answers(moto):
    iam = aws("iam", moto)
    logs = aws("logs", moto)
    ec2 = aws("ec2", moto)
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]
    for index in range(5):
        iam.create_role(RoleName=f"role-{index}", AssumeRolePolicyDocument="{}")
        logs.create_log_group(logGroupName=f"/paged/{index}")
        aws("elbv2", moto).create_load_balancer(Name=f"lb-{index}", Subnets=subnets)
    with FaultyCloud(moto) as cloud:
        collector = make_collector(cloud.url, page_size=2)
        for resource_type, region, operation in (
            ("aws.iam.role", GLOBAL_REGION, "ListRoles"),
            ("aws.logs.log-group", HOME, "DescribeLogGroups"),
            ("aws.elbv2.load-balancer", HOME, "DescribeLoadBalancers"),
        ):
            pages = list(collector.pages(resource_type, region))
            assert [len(page) for page in pages] == [2, 2, 1], resource_type
            assert len({r.uid for page in pages for r in page}) == 5
            assert len(cloud.operations(operation)) == 3
        list(collector.pages("aws.rds.instance", HOME))
    # Page sizes stay within what each API accepts: RDS refuses fewer than 20 records.
    assert cloud.operations("ListRoles")[0].params["MaxItems"] == "2"
    assert cloud.operations("DescribeDBInstances")[0].params["MaxRecords"] == "20"


def test_assumed_role_with_external_id(moto):
    aws("s3", moto).create_bucket(Bucket="audit")
    credentials = {
        **DEMO_CREDENTIALS,
        "role_arn": f"arn:aws:iam::{ACCOUNT}:role/policycortex-scanner",
        "external_id": "tenant-7f3a",
    }
    with FaultyCloud(moto) as cloud:
        collector = make_collector(cloud.url, credentials=credentials)
        assert set(collect(collector, "aws.s3.bucket", GLOBAL_REGION)) == {"audit"}
    (assume,) = cloud.operations("AssumeRole")
    assert assume.params["RoleArn"] == credentials["role_arn"] and assume.params["ExternalId"] == "tenant-7f3a"
    assert assume.access_key == DEMO_CREDENTIALS["access_key_id"]
    later = [call for call in cloud.calls if call.operation != "AssumeRole"]
    assert later and all(call.access_key.startswith("ASIA") for call in later)  # the role's session keys


def test_assume_role_denied_is_a_collection_error(moto):
    with FaultyCloud(moto) as cloud:
        cloud.deny("AssumeRole")
        with pytest.raises(CollectionError) as error:
            make_collector(cloud.url, credentials={**DEMO_CREDENTIALS, "role_arn": f"arn:aws:iam::{ACCOUNT}:role/x"})
    assert error.value.code == "AccessDenied"


@pytest.mark.parametrize(
    "resource_type,region,operation,code",
    [
        ("aws.ec2.volume", HOME, "DescribeVolumes", "RequestLimitExceeded"),  # EC2 protocol
        ("aws.iam.user", GLOBAL_REGION, "ListUsers", "Throttling"),  # query protocol
        ("aws.kms.key", HOME, "ListKeys", "ThrottlingException"),  # JSON protocol
    ],
)
def test_throttled_call_is_retried_with_back_off(moto, resource_type, region, operation, code):
    aws("ec2", moto).create_volume(Size=1, AvailabilityZone="us-east-1a")
    aws("iam", moto).create_user(UserName="carol")
    aws("kms", moto).create_key()
    sleeps: list[float] = []
    with FaultyCloud(moto) as cloud:
        collector = make_collector(cloud.url, sleeps=sleeps, aws_max_attempts=4)
        cloud.throttle(operation, times=2)
        resources = collect(collector, resource_type, region)
    assert len(resources) == 1
    assert sleeps == [0.5, 1.0]  # exponential back-off
    # botocore did not retry on its own: every attempt is one the engine made.
    assert [call.faulted for call in cloud.operations(operation)] == [code, code, None]


def test_persistent_throttling_becomes_a_collection_error(moto):
    sleeps: list[float] = []
    with FaultyCloud(moto) as cloud:
        collector = make_collector(cloud.url, sleeps=sleeps, aws_max_attempts=3)
        cloud.throttle("DescribeVolumes", times=100)
        with pytest.raises(CollectionError) as error:
            list(collector.pages("aws.ec2.volume", HOME))
    assert (error.value.code, error.value.resource_type, error.value.region) == (
        "RequestLimitExceeded",
        "aws.ec2.volume",
        HOME,
    )
    assert sleeps == [0.5, 1.0] and len(cloud.operations("DescribeVolumes")) == 3


def test_access_denied_in_one_region_is_a_collection_error(moto):
    aws("ec2", moto, OTHER).create_volume(Size=1, AvailabilityZone="eu-west-1a")
    with FaultyCloud(moto) as cloud:
        cloud.deny("DescribeVolumes", region=OTHER)
        collector = make_collector(cloud.url, regions=(HOME, OTHER))
        assert collect(collector, "aws.ec2.volume", HOME) == {}
        with pytest.raises(CollectionError) as error:
            list(collector.pages("aws.ec2.volume", OTHER))
    assert error.value.as_dict() == {
        "code": "UnauthorizedOperation",
        # Our sentence, not the endpoint's: its answer never reaches a tenant.
        "message": "DescribeVolumes failed: HTTP 403 UnauthorizedOperation; "
        "the credentials do not have permission for it",
        "resource_type": "aws.ec2.volume",
        "region": OTHER,
    }
    assert len(cloud.operations("DescribeVolumes")) == 2  # denied is final: no retries


def test_denied_detail_and_parent_calls_fail_the_type(moto):
    aws("kms", moto).create_key()
    ec2 = aws("ec2", moto)
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]
    aws("elbv2", moto).create_load_balancer(Name="web-lb", Subnets=subnets)
    with FaultyCloud(moto) as cloud:
        collector = make_collector(cloud.url)
        cloud.deny("GetKeyRotationStatus")
        cloud.deny("DescribeLoadBalancers")
        # A detail that cannot be read is never "not configured": the listing fails.
        with pytest.raises(CollectionError) as error:
            list(collector.pages("aws.kms.key", HOME))
        assert (error.value.code, error.value.resource_type) == ("AccessDeniedException", "aws.kms.key")
        # Listeners are listed per load balancer: the parent's failure is the child type's.
        with pytest.raises(CollectionError) as error:
            list(collector.pages("aws.elbv2.listener", HOME))
        assert (error.value.code, error.value.resource_type) == ("AccessDenied", "aws.elbv2.listener")


def test_verify_reports_every_check(moto):
    checks = make_collector(moto).verify()
    assert [c["check"] for c in checks] == ["credentials"] + [probe.permission for probe in PROBES]
    assert all(c["ok"] for c in checks), checks
    assert checks[0]["message"] == f"Authenticated as arn:aws:sts::{ACCOUNT}:user/moto"


def test_verify_names_the_missing_permission(moto):
    with FaultyCloud(moto) as cloud:
        cloud.deny("DescribeTrails")
        cloud.deny(service="s3")
        checks = {c["check"]: c for c in make_collector(cloud.url).verify()}
    assert checks["credentials"]["ok"] is True
    assert checks["cloudtrail:DescribeTrails"] == {
        "check": "cloudtrail:DescribeTrails",
        "ok": False,
        "message": "Missing permission cloudtrail:DescribeTrails (AccessDeniedException)",
    }
    assert checks["s3:ListAllMyBuckets"]["ok"] is False
    assert checks["s3:ListAllMyBuckets"]["message"].startswith("Missing permission s3:ListAllMyBuckets (AccessDenied")
    assert {name for name, c in checks.items() if not c["ok"]} == {"s3:ListAllMyBuckets", "cloudtrail:DescribeTrails"}


def test_verify_tells_a_service_not_set_up_from_a_missing_permission(moto):
    """Security Hub off answers InvalidAccessException: the role may call it, there is just no hub."""
    with FaultyCloud(moto) as cloud:
        cloud.deny("DescribeHub", code="InvalidAccessException")
        checks = {c["check"]: c for c in make_collector(cloud.url).verify()}
    assert checks["securityhub:DescribeHub"]["ok"] is True
    assert "not set up in us-east-1: InvalidAccessException" in checks["securityhub:DescribeHub"]["message"]


def test_verify_with_unreachable_endpoint():
    checks = make_collector(f"http://127.0.0.1:{free_port()}").verify()
    assert checks[0]["check"] == "credentials" and checks[0]["ok"] is False
    assert checks[0]["message"].startswith("EndpointConnectionError")
    assert all(not c["ok"] and c["message"].startswith("Not checked") for c in checks[1:])


def test_regions_are_the_configured_ones_or_every_enabled_region(moto):
    assert make_collector(moto, regions=(OTHER,)).regions() == [OTHER]
    enabled = make_collector(moto, regions=()).regions()
    assert {HOME, OTHER} <= set(enabled) and enabled == sorted(enabled)


def test_a_stop_is_heard_between_detail_calls_not_only_between_pages(moto):
    """One page of 30 buckets is 150 or so detail calls: a cancelled scan must not wait for them."""
    from tests.fakes import SlowCloud

    s3 = aws("s3", moto)
    for index in range(30):
        s3.create_bucket(Bucket=f"stop-{index:02d}")
    stop: list[str] = []
    with SlowCloud(moto, delay=0.05) as cloud:
        collector = make_collector(cloud.url, page_size=1000, detail_concurrency=2)
        collector.stop_reason = lambda: stop[0] if stop else None
        listing = collector.pages("aws.s3.bucket", GLOBAL_REGION)

        def cancel_soon():
            time.sleep(0.5)
            stop.append("cancelled")
            cancel_soon.calls = cloud.calls

        timer = threading.Thread(target=cancel_soon)
        timer.start()
        with pytest.raises(Stopped) as stopped:
            next(listing)
        timer.join()
        after_stop = cloud.calls - cancel_soon.calls
    assert stopped.value.reason == "cancelled"
    assert after_stop <= 2  # the calls already in flight on the two detail threads, no more


def test_a_service_absent_from_a_region_is_not_called_there(moto):
    """DAX is not offered in me-south-1 (botocore's endpoint data): listing it there would fail
    to connect; the region simply has none."""
    with FaultyCloud(moto) as cloud:
        collector = make_collector(cloud.url, regions=("me-south-1",))
        assert collect(collector, "aws.dax.cluster", "me-south-1") == {}
        assert collect(collector, "aws.ec2.instance", "me-south-1") == {}
    assert {call.region for call in cloud.calls if call.operation == "DescribeClusters"} == set()
    assert any(call.operation == "DescribeInstances" for call in cloud.calls)


def test_documents_never_hold_nul_or_mfa_seeds(moto):
    """PostgreSQL's jsonb refuses NUL; a virtual MFA device's seed and QR code are secrets."""
    from shared.inventory.collectors.base import jsonable

    assert jsonable({"a\x00": ["x\x00y", b"\x00"]}) == {"a\ufffd": ["x\ufffdy", "\ufffd"]}
    aws("iam", moto).create_virtual_mfa_device(VirtualMFADeviceName="root-account-mfa-device")
    serial = aws("iam", moto).list_virtual_mfa_devices()["VirtualMFADevices"][0]["SerialNumber"]
    aws("iam", moto).create_user(UserName="alice")
    aws("iam", moto).enable_mfa_device(
        UserName="alice", SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321"
    )
    (summary,) = collect(make_collector(moto), "aws.iam.account-summary", GLOBAL_REGION).values()
    (device,) = summary.document["VirtualMFADevices"]
    assert set(device) <= {"SerialNumber", "User", "EnableDate"} and device["SerialNumber"] == serial
