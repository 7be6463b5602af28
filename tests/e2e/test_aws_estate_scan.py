"""A full scan, through the API and the worker, of a moto estate with a resource of each type the
first AWS policies read: the exact violations, including the pseudo-resources of unconfigured regions."""

from __future__ import annotations

import io
import json
import zipfile

import boto3
import pytest
from sqlalchemy import select

from devkit.estates import DEMO_CREDENTIALS, secure_bucket
from shared.policies.policy import builtin_policies
from shared.scans.models import Violation
from tests.conftest import scan_body, wait_for_scan

pytestmark = pytest.mark.e2e
HOME, EU = "us-east-1", "eu-west-1"
REGIONS = (HOME, EU)
GLOBAL = "global"
ALL_FRAMEWORKS = ["soc2", "hipaa", "iso27001"]
ANYONE = {"AWS": "*"}
POLICIES = builtin_policies()
BUCKET_BASICS = ("pol_s3_default_encryption", "pol_s3_public_access_block", "pol_s3_versioning")


def aws(service: str, endpoint: str, region: str = HOME):
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=endpoint,
        aws_access_key_id=DEMO_CREDENTIALS["access_key_id"],
        aws_secret_access_key=DEMO_CREDENTIALS["secret_access_key"],
    )


def _tags(kind: str, name: str) -> list[dict]:
    return [{"ResourceType": kind, "Tags": [{"Key": "Name", "Value": name}]}]


def _function_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handle(event, context):\n    return event\n")
    return buffer.getvalue()


def locked_bucket(endpoint: str, name: str) -> None:
    """A bucket that passes every S3 policy: encrypted, versioned, private, HTTPS only."""
    s3 = aws("s3", endpoint)
    secure_bucket(s3, name)
    deny_http = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    s3.put_bucket_policy(Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [deny_http]}))


def seed_identity(endpoint: str, account: str) -> set[tuple[str, str, str]]:
    """S3 and IAM (global): returns the violations they must produce."""
    expected = set()
    s3 = aws("s3", endpoint)
    s3.create_bucket(Bucket="estate-public")
    s3.put_bucket_policy(
        Bucket="estate-public",
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "s3:GetObject",
                        "Resource": "arn:aws:s3:::estate-public/*",
                    }
                ],
            }
        ),
    )
    s3.put_bucket_acl(Bucket="estate-public", ACL="public-read")
    expected |= {(p, "estate-public", HOME) for p in BUCKET_BASICS}
    expected |= {
        (p, "estate-public", HOME)
        for p in ("pol_s3_bucket_policy_not_public", "pol_s3_acl_not_public", "pol_s3_deny_insecure_transport")
    }
    locked_bucket(endpoint, "estate-locked")

    iam = aws("iam", endpoint)
    # moto's root user has no MFA and no access keys; the password policy keeps only 5 passwords.
    expected.add(("pol_iam_root_mfa", account, GLOBAL))
    iam.update_account_password_policy(
        MinimumPasswordLength=14,
        PasswordReusePrevention=5,
        RequireUppercaseCharacters=True,
        RequireLowercaseCharacters=True,
        RequireNumbers=True,
        RequireSymbols=True,
    )
    expected.add(("pol_iam_password_reuse", account, GLOBAL))

    everything = iam.create_policy(
        PolicyName="everything",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        ),
    )["Policy"]["Arn"]
    iam.create_policy(
        PolicyName="read-logs",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "logs:Get*", "Resource": "*"}]}
        ),
    )
    expected.add(("pol_iam_policy_no_admin_star", "everything", GLOBAL))

    iam.create_user(UserName="dev-console")
    iam.create_login_profile(UserName="dev-console", Password="correct-horse-battery")
    iam.create_access_key(UserName="dev-console")
    expected.add(("pol_iam_user_console_mfa", "dev-console", GLOBAL))
    iam.create_user(UserName="svc-deploy")
    iam.create_access_key(UserName="svc-deploy")
    iam.create_access_key(UserName="svc-deploy")
    iam.attach_user_policy(UserName="svc-deploy", PolicyArn=everything)
    expected |= {
        ("pol_iam_user_single_active_key", "svc-deploy", GLOBAL),
        ("pol_iam_user_no_direct_policies", "svc-deploy", GLOBAL),
    }
    iam.create_user(UserName="ops-admin")
    iam.create_login_profile(UserName="ops-admin", Password="correct-horse-battery")
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName="ops-admin")["VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(
        UserName="ops-admin", SerialNumber=device, AuthenticationCode1="123456", AuthenticationCode2="654321"
    )

    anyone = {"Effect": "Allow", "Principal": ANYONE, "Action": "sts:AssumeRole"}
    partner = {**anyone, "Condition": {"StringEquals": {"sts:ExternalId": "partner-7"}}}
    lambda_trust = {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    for name, statement in (("open-trust", anyone), ("partner-access", partner), ("lambda-exec", lambda_trust)):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({"Statement": [statement]}))
    expected.add(("pol_iam_role_trust_not_public", "open-trust", GLOBAL))
    return expected


def seed_home_region(endpoint: str, account: str) -> set[tuple[str, str, str]]:
    """us-east-1: configured mostly well, with one insecure resource of each kind."""
    expected = set()
    kms = aws("kms", endpoint)
    key_id = kms.create_key(Description="estate-data")["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=key_id)
    key_arn = f"arn:aws:kms:{HOME}:{account}:key/{key_id}"
    doomed = kms.create_key(Description="estate-retired")["KeyMetadata"]["KeyId"]
    kms.schedule_key_deletion(KeyId=doomed, PendingWindowInDays=7)
    expected.add(("pol_kms_key_pending_deletion", doomed, HOME))

    ec2 = aws("ec2", endpoint)
    ec2.enable_ebs_encryption_by_default()
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    legacy = ec2.run_instances(
        ImageId="ami-12345678",
        MinCount=1,
        MaxCount=1,
        InstanceType="m4.large",
        TagSpecifications=_tags("instance", "legacy-web"),
    )["Instances"][0]["InstanceId"]
    expected |= {
        (p, "legacy-web", HOME)
        for p in ("pol_ec2_instance_imdsv2", "pol_ec2_instance_no_public_ip", "pol_ec2_instance_ebs_optimized")
    }
    hardened = ec2.run_instances(
        ImageId="ami-12345678",
        MinCount=1,
        MaxCount=1,
        InstanceType="t3.micro",
        MetadataOptions={"HttpTokens": "required"},
        NetworkInterfaces=[{"DeviceIndex": 0, "SubnetId": subnet, "AssociatePublicIpAddress": False}],
        TagSpecifications=_tags("instance", "hardened-api"),
    )["Instances"][0]["InstanceId"]
    # moto does not apply default encryption to the root volumes it creates: both are unencrypted.
    roots = ec2.describe_volumes(Filters=[{"Name": "attachment.instance-id", "Values": [legacy, hardened]}])["Volumes"]
    assert len(roots) == 2
    expected |= {("pol_ebs_volume_encrypted", volume["VolumeId"], HOME) for volume in roots}

    plain = ec2.create_volume(Size=1, AvailabilityZone="us-east-1a", TagSpecifications=_tags("volume", "data-plain"))
    expected.add(("pol_ebs_volume_encrypted", "data-plain", HOME))
    ec2.create_volume(
        Size=1,
        AvailabilityZone="us-east-1a",
        Encrypted=True,
        KmsKeyId=key_arn,
        TagSpecifications=_tags("volume", "data-sealed"),
    )
    shared = ec2.create_snapshot(VolumeId=plain["VolumeId"], TagSpecifications=_tags("snapshot", "backup-public"))
    ec2.modify_snapshot_attribute(
        SnapshotId=shared["SnapshotId"], Attribute="createVolumePermission", OperationType="add", GroupNames=["all"]
    )
    expected |= {(p, "backup-public", HOME) for p in ("pol_ebs_snapshot_not_public", "pol_ebs_snapshot_encrypted")}

    default_vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    expected.add(("pol_vpc_flow_logs", default_vpc, HOME))
    prod_vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16", TagSpecifications=_tags("vpc", "prod-vpc"))["Vpc"]["VpcId"]
    locked_bucket(endpoint, "estate-flow-logs")
    ec2.create_flow_logs(
        ResourceIds=[prod_vpc],
        ResourceType="VPC",
        TrafficType="ALL",
        LogDestinationType="s3",
        LogDestination="arn:aws:s3:::estate-flow-logs",
    )
    # Each VPC's default security group allows all egress (CIS 5.4), the new one's too.
    expected.add(("pol_ec2_default_sg_closed", "default", HOME))

    rds = aws("rds", endpoint)
    rds.create_db_instance(
        DBInstanceIdentifier="orders-db",
        Engine="postgres",
        DBInstanceClass="db.t3.micro",
        MasterUsername="orders",
        MasterUserPassword="not-a-real-password",
        AllocatedStorage=20,
        PubliclyAccessible=True,
        BackupRetentionPeriod=1,
        AutoMinorVersionUpgrade=False,
    )
    expected |= {
        (p, "orders-db", HOME)
        for p in (
            "pol_rds_instance_encrypted",
            "pol_rds_instance_not_public",
            "pol_rds_instance_backups",
            "pol_rds_instance_multi_az",
            "pol_rds_instance_minor_upgrades",
            "pol_rds_instance_deletion_protection",
        )
    }
    rds.create_db_instance(
        DBInstanceIdentifier="ledger-db",
        Engine="postgres",
        DBInstanceClass="db.t3.micro",
        MasterUsername="ledger",
        MasterUserPassword="not-a-real-password",
        AllocatedStorage=20,
        StorageEncrypted=True,
        KmsKeyId=key_arn,
        PubliclyAccessible=False,
        BackupRetentionPeriod=14,
        MultiAZ=True,
        AutoMinorVersionUpgrade=True,
        DeletionProtection=True,
    )
    rds.create_db_snapshot(DBSnapshotIdentifier="orders-export", DBInstanceIdentifier="orders-db")
    rds.modify_db_snapshot_attribute(DBSnapshotIdentifier="orders-export", AttributeName="restore", ValuesToAdd=["all"])
    expected |= {(p, "orders-export", HOME) for p in ("pol_rds_snapshot_not_public", "pol_rds_snapshot_encrypted")}
    # moto takes an automated snapshot of each new instance, named after the time: the unencrypted one fails.
    automated = rds.describe_db_snapshots(DBInstanceIdentifier="orders-db", SnapshotType="automated")["DBSnapshots"]
    expected |= {("pol_rds_snapshot_encrypted", s["DBSnapshotIdentifier"], HOME) for s in automated}

    trails = aws("cloudtrail", endpoint)
    locked_bucket(endpoint, "estate-trail")
    trails.create_trail(
        Name="org-trail",
        S3BucketName="estate-trail",
        IsMultiRegionTrail=True,
        EnableLogFileValidation=True,
        KmsKeyId=key_arn,
    )
    trails.start_logging(Name="org-trail")
    trails.put_event_selectors(
        TrailName="org-trail", EventSelectors=[{"ReadWriteType": "All", "IncludeManagementEvents": True}]
    )

    elbv2 = aws("elbv2", endpoint)
    subnets = [
        s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [default_vpc]}])["Subnets"]
    ][:2]
    target = elbv2.create_target_group(Name="estate-web", Protocol="HTTP", Port=80, VpcId=default_vpc)["TargetGroups"][
        0
    ]
    forward = [{"Type": "forward", "TargetGroupArn": target["TargetGroupArn"]}]
    redirect = [{"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}]
    certificate = aws("acm", endpoint).request_certificate(DomainName="shop.example.com")["CertificateArn"]
    for name, http_action, tls_policy in (
        ("shop-alb", forward, "ELBSecurityPolicy-2016-08"),
        ("secure-alb", redirect, "ELBSecurityPolicy-TLS13-1-2-2021-06"),
    ):
        arn = elbv2.create_load_balancer(Name=name, Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
        elbv2.create_listener(LoadBalancerArn=arn, Protocol="HTTP", Port=80, DefaultActions=http_action)
        elbv2.create_listener(
            LoadBalancerArn=arn,
            Protocol="HTTPS",
            Port=443,
            SslPolicy=tls_policy,
            Certificates=[{"CertificateArn": certificate}],
            DefaultActions=forward,
        )
        if name == "secure-alb":
            elbv2.modify_load_balancer_attributes(
                LoadBalancerArn=arn,
                Attributes=[
                    {"Key": "deletion_protection.enabled", "Value": "true"},
                    {"Key": "access_logs.s3.enabled", "Value": "true"},
                    {"Key": "access_logs.s3.bucket", "Value": "estate-flow-logs"},
                    {"Key": "routing.http.drop_invalid_header_fields.enabled", "Value": "true"},
                ],
            )
    expected |= {
        ("pol_elbv2_listener_https", "shop-alb:80", HOME),
        ("pol_elbv2_listener_tls_policy", "shop-alb:443", HOME),
        ("pol_elbv2_deletion_protection", "shop-alb", HOME),
        ("pol_elbv2_access_logs", "shop-alb", HOME),
        ("pol_elbv2_drop_invalid_headers", "shop-alb", HOME),
    }

    logs = aws("logs", endpoint)
    logs.create_log_group(logGroupName="/estate/app")
    logs.put_retention_policy(logGroupName="/estate/app", retentionInDays=30)
    logs.create_log_group(logGroupName="/estate/forever", kmsKeyId=key_arn)
    logs.create_log_group(logGroupName="/estate/audit", kmsKeyId=key_arn)
    logs.put_retention_policy(logGroupName="/estate/audit", retentionInDays=400)
    expected |= {
        ("pol_logs_retention_one_year", "/estate/app", HOME),
        ("pol_logs_kms_encryption", "/estate/app", HOME),
        ("pol_logs_retention_defined", "/estate/forever", HOME),
    }

    config = aws("config", endpoint)
    config.put_configuration_recorder(
        ConfigurationRecorder={
            "name": "default",
            "roleARN": f"arn:aws:iam::{account}:role/config",
            "recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": True},
        }
    )
    config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": "estate-trail"})
    config.start_configuration_recorder(ConfigurationRecorderName="default")
    return expected


def seed_neglected_region(endpoint: str, account: str) -> set[tuple[str, str, str]]:
    """eu-west-1: nobody set it up; the pseudo-resources fail instead of finding nothing."""
    expected = {
        ("pol_ebs_default_encryption", account, EU),
        ("pol_config_recorder_enabled", account, EU),
        ("pol_config_records_all_resources", account, EU),
        ("pol_ec2_default_sg_closed", "default", EU),
    }
    ec2 = aws("ec2", endpoint, EU)
    default_vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    expected.add(("pol_vpc_flow_logs", default_vpc, EU))

    aws("s3", endpoint).create_bucket(Bucket="estate-eu-trail", CreateBucketConfiguration={"LocationConstraint": EU})
    trails = aws("cloudtrail", endpoint, EU)
    trails.create_trail(Name="eu-local", S3BucketName="estate-eu-trail")
    expected |= {(p, "estate-eu-trail", EU) for p in BUCKET_BASICS} | {
        ("pol_s3_deny_insecure_transport", "estate-eu-trail", EU)
    }
    expected |= {
        (p, "eu-local", EU)
        for p in (
            "pol_cloudtrail_multi_region",
            "pol_cloudtrail_log_validation",
            "pol_cloudtrail_kms_encryption",
            "pol_cloudtrail_logging",
            "pol_cloudtrail_management_events",
        )
    }

    static = aws("kms", endpoint, EU).create_key(Description="estate-static")["KeyMetadata"]["KeyId"]
    expected.add(("pol_kms_key_rotation", static, EU))

    role = f"arn:aws:iam::{account}:role/lambda-exec"
    functions = aws("lambda", endpoint, EU)
    for name, runtime in (("public-hook", "python3.12"), ("legacy-cron", "python3.7")):
        functions.create_function(
            FunctionName=name, Runtime=runtime, Role=role, Handler="handler.handle", Code={"ZipFile": _function_zip()}
        )
    functions.add_permission(
        FunctionName="public-hook", StatementId="anyone", Action="lambda:InvokeFunction", Principal="*"
    )
    expected |= {("pol_lambda_not_public", "public-hook", EU), ("pol_lambda_supported_runtime", "legacy-cron", EU)}
    return expected


def seed_estate(endpoint: str) -> set[tuple[str, str, str]]:
    account = aws("sts", endpoint).get_caller_identity()["Account"]
    expected = seed_identity(endpoint, account)
    expected |= seed_home_region(endpoint, account)
    expected |= seed_neglected_region(endpoint, account)
    return expected


def violations_of(svc, scan_id: str) -> set[tuple[str, str, str]]:
    with svc.db.session() as session:
        rows = session.scalars(select(Violation).where(Violation.scan_id == scan_id))
        return {(v.policy_id, v.resource_name, v.region) for v in rows}


def test_full_scan_of_an_estate_with_every_aws_type(client, worker, svc, tenant, make_account, moto):
    expected = seed_estate(moto)
    make_account(tenant, endpoint_url=moto, regions=REGIONS)

    # The estate was built for these policies (one violation of each at least); the library has more.
    policies = sorted({policy for policy, _, _ in expected})
    body = scan_body(frameworks=ALL_FRAMEWORKS, scan_type="policy_specific", scope={"include_policies": policies})
    response = client.post("/v1/scans", json=body, headers=tenant.headers)
    assert response.status_code == 202, response.get_json()
    scan = wait_for_scan(client, tenant, response.get_json()["id"], timeout=180)

    assert scan["status"] == "completed", scan
    assert scan["results"]["errors"] == []
    found = violations_of(svc, scan["id"])
    assert found - expected == set(), "unexpected violations"
    assert expected - found == set(), "missed violations"
    # Every resource type those policies read was listed, and the estate has a violation of each.
    with svc.db.session() as session:
        types = set(session.scalars(select(Violation.resource_type).where(Violation.scan_id == scan["id"])))
    assert types == {POLICIES[policy].resource_type for policy in policies}
    # One more violation than names: both us-east-1 VPCs have a security group named "default".
    assert scan["results"]["total_violations"] == len(expected) + 1
