"""S3 and IAM resource types and policies against moto: bucket logging, lifecycle, Object Lock,
replication, ownership and KMS settings, account-level Block Public Access and access points (S3
Control), IAM groups, inline and attached policies, trust policies, server certificates and the
account-level pseudo-resources. Where moto lacks an API (IAM Access Analyzer) or a field (the
credential report's root line, a root virtual MFA device), botocore's Stubber answers with
documents in the shape of AWS's published examples; the engine still parses and shapes them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import requests
from botocore.stub import Stubber

from shared.inventory.collectors.aws.iam import IamAccountSummary
from shared.inventory.collectors.base import GLOBAL_REGION
from shared.policies.policy import builtin_policies
from tests.shared.inventory.collectors.test_aws import ACCOUNT, HOME, OTHER, aws, collect, failing, make_collector

ROLE_PREFIX = f"arn:aws:iam::{ACCOUNT}:"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
NOW = datetime(2024, 5, 5, 12, 0, tzinfo=UTC)
ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def _policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _without_account_host(request, **kwargs) -> None:
    request.url = request.url.replace(f"//{ACCOUNT}.", "//", 1)


def _s3control(endpoint: str):
    """This test's own S3 Control client: S3 Control puts the account id in the host name
    (ACCOUNT.s3-control...), which a local endpoint is not (the collector does the same)."""
    client = aws("s3control", endpoint)
    client.meta.events.register("before-sign.s3-control", _without_account_host)
    return client


@pytest.fixture()
def managed_policies(moto, monkeypatch):
    """moto without AWS managed policies refuses to attach AdministratorAccess and its kin: load
    them for this test (the server runs in this process and reads the setting on reset)."""
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    requests.post(f"{moto}/moto-api/reset", timeout=10).raise_for_status()
    return moto


def _calls(client, names: list[str]) -> None:
    client.meta.events.register("before-call.*.*", lambda event_name, **kwargs: names.append(event_name))


# --- S3 buckets -----------------------------------------------------------------------------------


def test_bucket_settings_are_read_and_judged(moto):
    s3 = aws("s3", moto)
    s3.create_bucket(Bucket="access-logs", ACL="log-delivery-write")
    # "vault": every protection on. Object Lock is set at creation (which turns versioning on).
    s3.create_bucket(Bucket="vault", ObjectLockEnabledForBucket=True)
    s3.put_bucket_logging(
        Bucket="vault",
        BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": "access-logs", "TargetPrefix": "vault/"}},
    )
    s3.put_bucket_lifecycle_configuration(
        Bucket="vault",
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "old-versions",
                    "Status": "Enabled",
                    "Filter": {"Prefix": ""},
                    "NoncurrentVersionExpiration": {"NoncurrentDays": 90},
                }
            ]
        },
    )
    s3.put_bucket_ownership_controls(
        Bucket="vault", OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    )
    s3.put_bucket_encryption(
        Bucket="vault",
        ServerSideEncryptionConfiguration={
            "Rules": [
                {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/data"}}
            ]
        },
    )
    s3.put_bucket_replication(
        Bucket="vault",
        ReplicationConfiguration={
            "Role": f"{ROLE_PREFIX}role/replication",
            "Rules": [
                {
                    "ID": "to-dr",
                    "Priority": 1,
                    "Status": "Enabled",
                    "Filter": {"Prefix": ""},
                    "DeleteMarkerReplication": {"Status": "Disabled"},
                    "Destination": {"Bucket": "arn:aws:s3:::access-logs"},
                }
            ],
        },
    )
    # "versioned": versioned, SSE-S3, a lifecycle rule that never expires old versions.
    s3.create_bucket(Bucket="versioned")
    s3.put_bucket_versioning(Bucket="versioned", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(
        Bucket="versioned",
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    s3.put_bucket_lifecycle_configuration(
        Bucket="versioned",
        LifecycleConfiguration={
            "Rules": [{"ID": "expire", "Status": "Enabled", "Filter": {"Prefix": "tmp/"}, "Expiration": {"Days": 7}}]
        },
    )
    s3.put_bucket_ownership_controls(
        Bucket="versioned", OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]}
    )
    # "bare": nothing configured at all.
    s3.create_bucket(Bucket="bare")

    collector = make_collector(moto)
    calls: list[str] = []
    _calls(collector.client("s3", GLOBAL_REGION), calls)
    buckets = collect(collector, "aws.s3.bucket", GLOBAL_REGION)
    assert set(buckets) == {"access-logs", "vault", "versioned", "bare"}
    vault, bare = buckets["vault"].document, buckets["bare"].document
    assert vault["LoggingEnabled"] == {"TargetBucket": "access-logs", "TargetPrefix": "vault/"}
    assert vault["ObjectLockConfiguration"] == {"ObjectLockEnabled": "Enabled"}
    assert vault["ReplicationConfiguration"]["Rules"][0]["Status"] == "Enabled"
    assert vault["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert vault["LifecycleConfiguration"]["Rules"][0]["NoncurrentVersionExpiration"] == {"NoncurrentDays": 90}
    # Nothing configured: no LoggingEnabled, and the lock and replication calls were not made.
    assert bare["LoggingEnabled"] is None
    assert not {"LifecycleConfiguration", "OwnershipControls", "ObjectLockConfiguration"} & set(bare)
    versioned_only = ("before-call.s3.GetObjectLockConfiguration", "before-call.s3.GetBucketReplication")
    assert [calls.count(name) for name in versioned_only] == [2, 2]  # vault and versioned, of four buckets
    # ACLs disabled: S3 ignores the ACL, so it is not read.
    assert "Acl" not in vault and calls.count("before-call.s3.GetBucketAcl") == 3

    everything_else = {"access-logs", "versioned", "bare"}
    assert failing("pol_s3_bucket_logging", buckets) == everything_else
    assert failing("pol_s3_object_lock", buckets) == everything_else
    assert failing("pol_s3_replication", buckets) == everything_else
    assert failing("pol_s3_acls_disabled", buckets) == everything_else
    assert failing("pol_s3_kms_encryption", buckets) == everything_else
    assert failing("pol_s3_lifecycle_configured", buckets) == {"access-logs", "bare"}
    assert failing("pol_s3_versioned_noncurrent_expiration", buckets) == {"versioned"}
    # moto keeps no MFADelete: every bucket fails; the answer with it set passes.
    assert failing("pol_s3_mfa_delete", buckets) == set(buckets)
    mfa_delete = {**vault, "Versioning": {"Status": "Enabled", "MFADelete": "Enabled"}}
    assert builtin_policies()["pol_s3_mfa_delete"].fails(mfa_delete) is False


def test_bucket_policies_with_wildcard_actions_or_not_principal(moto):
    s3 = aws("s3", moto)
    statements = {
        "full-control": {"Effect": "Allow", "Principal": {"AWS": f"{ROLE_PREFIX}role/app"}, "Action": "s3:*"},
        "read-only": {"Effect": "Allow", "Principal": {"AWS": f"{ROLE_PREFIX}role/app"}, "Action": "s3:GetObject"},
        "all-but-one": {"Effect": "Allow", "NotPrincipal": {"AWS": f"{ROLE_PREFIX}role/app"}, "Action": "s3:GetObject"},
    }
    for name, statement in statements.items():
        s3.create_bucket(Bucket=name)
        s3.put_bucket_policy(Bucket=name, Policy=_policy({**statement, "Resource": f"arn:aws:s3:::{name}/*"}))
    buckets = collect(make_collector(moto), "aws.s3.bucket", GLOBAL_REGION)
    assert failing("pol_s3_bucket_policy_no_wildcard_actions", buckets) == {"full-control"}
    assert failing("pol_s3_bucket_policy_no_allow_not_principal", buckets) == {"all-but-one"}


# --- S3 Control -------------------------------------------------------------------------------------


def test_account_public_access_block_is_one_pseudo_resource(moto):
    collector = make_collector(moto)
    (account,) = collect(collector, "aws.s3.account-public-access-block", GLOBAL_REGION).values()
    assert account.document == {} and account.name == ACCOUNT  # never configured
    assert account.uid == f"arn:aws:s3::{ACCOUNT}:account-public-access-block"
    assert failing("pol_s3_account_public_access_block", {"a": account}) == {"a"}

    _s3control(moto).put_public_access_block(
        AccountId=ACCOUNT,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    (account,) = collect(collector, "aws.s3.account-public-access-block", GLOBAL_REGION).values()
    assert account.document["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] is True
    assert failing("pol_s3_account_public_access_block", {"a": account}) == set()


def test_access_points_with_their_block_public_access_settings(moto):
    aws("s3", moto).create_bucket(Bucket="orders-data")
    control = _s3control(moto)
    control.create_access_point(
        AccountId=ACCOUNT, Name="analytics-ap", Bucket="orders-data", VpcConfiguration={"VpcId": "vpc-0a1b2c3d"}
    )
    control.create_access_point(
        AccountId=ACCOUNT,
        Name="partner-ap",
        Bucket="orders-data",
        PublicAccessBlockConfiguration={"BlockPublicAcls": False, "IgnorePublicAcls": False},
    )
    collector = make_collector(moto)
    points = collect(collector, "aws.s3.access-point")
    assert set(points) == {"analytics-ap", "partner-ap"}
    assert points["analytics-ap"].uid == f"arn:aws:s3:{HOME}:{ACCOUNT}:accesspoint/analytics-ap"
    assert points["partner-ap"].document["PublicAccessBlockConfiguration"]["BlockPublicAcls"] is False
    assert failing("pol_s3_access_point_public_access_block", points) == {"partner-ap"}
    assert failing("pol_s3_access_point_vpc_only", points) == {"partner-ap"}


# --- IAM users, groups, roles ---------------------------------------------------------------------------


def test_inline_and_attached_admin_policies_are_found(managed_policies):
    iam = aws("iam", managed_policies)
    for user in ("inline-admin", "attached-admin", "reader"):
        iam.create_user(UserName=user)
    iam.put_user_policy(UserName="inline-admin", PolicyName="temp-admin", PolicyDocument=json.dumps(ALLOW_ALL))
    iam.attach_user_policy(UserName="attached-admin", PolicyArn=ADMIN)
    iam.put_user_policy(
        UserName="reader",
        PolicyName="decrypt-all",
        PolicyDocument=_policy({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}),
    )
    iam.create_group(GroupName="admins")
    iam.attach_group_policy(GroupName="admins", PolicyArn=ADMIN)
    iam.add_user_to_group(GroupName="admins", UserName="reader")
    iam.create_group(GroupName="wide-open")
    iam.put_group_policy(GroupName="wide-open", PolicyName="everything", PolicyDocument=json.dumps(ALLOW_ALL))
    trust_lambda = _policy(
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    )
    for role in ("inline-admin-role", "admin-role", "app-role"):
        iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust_lambda)
    iam.put_role_policy(RoleName="inline-admin-role", PolicyName="quick-fix", PolicyDocument=json.dumps(ALLOW_ALL))
    iam.attach_role_policy(RoleName="admin-role", PolicyArn=ADMIN)
    iam.put_role_policy(
        RoleName="app-role",
        PolicyName="decrypt-via-s3",
        PolicyDocument=_policy(
            {
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": "*",
                "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}},
            }
        ),
    )
    collector = make_collector(managed_policies)

    users = collect(collector, "aws.iam.user", GLOBAL_REGION)
    (inline,) = users["inline-admin"].document["InlinePolicies"]
    assert inline["PolicyName"] == "temp-admin" and inline["PolicyDocument"]["Statement"][0]["Action"] == ["*"]
    assert users["inline-admin"].document["InlinePolicyNames"] == ["temp-admin"]
    assert failing("pol_iam_user_inline_no_admin", users) == {"inline-admin"}
    assert failing("pol_iam_user_no_administrator_access", users) == {"attached-admin"}
    # "*" allows kms:Decrypt as well.
    assert failing("pol_iam_user_inline_no_kms_decrypt_all", users) == {"reader", "inline-admin"}
    assert failing("pol_iam_user_no_direct_policies", users) == set(users)

    groups = collect(collector, "aws.iam.group", GLOBAL_REGION)
    assert groups["admins"].uid == f"{ROLE_PREFIX}group/admins"
    assert [u["UserName"] for u in groups["admins"].document["Users"]] == ["reader"]
    assert failing("pol_iam_group_inline_no_admin", groups) == {"wide-open"}
    assert failing("pol_iam_group_no_administrator_access", groups) == {"admins"}
    assert failing("pol_iam_group_has_members", groups) == {"wide-open"}
    assert failing("pol_iam_group_inline_no_kms_decrypt_all", groups) == {"wide-open"}

    roles = collect(collector, "aws.iam.role", GLOBAL_REGION)
    assert failing("pol_iam_role_inline_no_admin", roles) == {"inline-admin-role"}
    assert failing("pol_iam_role_no_administrator_access", roles) == {"admin-role"}
    # app-role's kms:Decrypt on "*" is narrowed by its kms:ViaService condition.
    assert failing("pol_iam_role_inline_no_kms_decrypt_all", roles) == {"inline-admin-role"}


def test_role_trust_policies(managed_policies):
    iam = aws("iam", managed_policies)
    vendor = "arn:aws:iam::999988887777:root"
    github = f"{ROLE_PREFIX}oidc-provider/token.actions.githubusercontent.com"
    assume = {"Effect": "Allow", "Action": "sts:AssumeRole"}
    web_identity = {"Effect": "Allow", "Principal": {"Federated": github}, "Action": "sts:AssumeRoleWithWebIdentity"}
    trusts = {
        "vendor-with-id": {
            **assume,
            "Principal": {"AWS": vendor},
            "Condition": {"StringEquals": {"sts:ExternalId": "a1b2c3"}},
        },
        "vendor-without-id": {**assume, "Principal": {"AWS": [vendor, f"{ROLE_PREFIX}root"]}},
        "own-account": {**assume, "Principal": {"AWS": f"{ROLE_PREFIX}root"}},
        "github-repo": {
            **web_identity,
            "Condition": {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:example-org/shop:*"}},
        },
        "github-any": {
            **web_identity,
            "Condition": {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:*"}},
        },
    }
    for name, statement in trusts.items():
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=_policy(statement))
    iam.attach_role_policy(RoleName="vendor-with-id", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    iam.attach_role_policy(RoleName="own-account", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    iam.create_service_linked_role(AWSServiceName="elasticbeanstalk.amazonaws.com")

    calls: list[str] = []
    collector = make_collector(managed_policies)
    _calls(collector.client("iam", GLOBAL_REGION), calls)
    roles = collect(collector, "aws.iam.role", GLOBAL_REGION)
    statement = roles["vendor-without-id"].document["AssumeRolePolicyDocument"]["Statement"][0]
    assert statement["ExternalAccounts"] == ["999988887777"] and statement["ConditionEntries"] == []
    assert roles["github-any"].document["AssumeRolePolicyDocument"]["Statement"][0]["ConditionEntries"] == [
        {"Operator": "StringLike", "Key": "token.actions.githubusercontent.com:sub", "Values": ["repo:*"]}
    ]
    # The service-linked role's permissions are not read.
    linked = roles["AWSServiceRoleForElasticBeanstalk"].document
    assert "AttachedPolicies" not in linked and "InlinePolicies" not in linked
    assert calls.count("before-call.iam.ListAttachedRolePolicies") == len(trusts)

    assert failing("pol_iam_role_trust_external_id", roles) == {"vendor-without-id"}
    assert failing("pol_iam_role_github_oidc_subject", roles) == {"github-any"}
    assert failing("pol_iam_role_cross_account_readonly", roles) == {"vendor-with-id"}
    assert failing("pol_iam_role_trust_not_public", roles) == set()


def test_user_credentials_passwords_keys_and_mfa(moto):
    iam = aws("iam", moto)
    for user in ("console-idle", "console-key", "api-only"):
        iam.create_user(UserName=user)
    iam.create_login_profile(UserName="console-idle", Password="correct-horse-battery-9")
    iam.create_login_profile(UserName="console-key", Password="correct-horse-battery-9")
    iam.create_access_key(UserName="console-key")
    iam.create_access_key(UserName="api-only")
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName="api-only")["VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(
        UserName="api-only", SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321"
    )

    today = collect(make_collector(moto), "aws.iam.user", GLOBAL_REGION)
    assert today["console-idle"].document["DaysSincePasswordUse"] == 0  # never used: counted from its creation
    assert "DaysSincePasswordUse" not in today["api-only"].document
    assert failing("pol_iam_user_password_unused", today) == set()
    assert failing("pol_iam_user_no_initial_access_key", today) == {"console-key"}
    assert failing("pol_iam_user_mfa", today) == {"console-idle", "console-key"}

    later = collect(make_collector(moto, now=datetime(2099, 1, 1, tzinfo=UTC)), "aws.iam.user", GLOBAL_REGION)
    assert failing("pol_iam_user_password_unused", later) == {"console-idle", "console-key"}


def test_customer_managed_policy_documents(moto):
    iam = aws("iam", moto)
    documents = {
        "s3-everything": {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::data/*"},
        "decrypt-all": {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*"},
        "self-service": {"Effect": "Allow", "Action": "iam:CreatePolicyVersion", "Resource": "*"},
        "pass-any-role": {"Effect": "Allow", "Action": ["iam:PassRole", "ec2:RunInstances"], "Resource": "*"},
        "scoped": {"Effect": "Allow", "Action": "iam:PassRole", "Resource": f"{ROLE_PREFIX}role/app-*"},
    }
    for name, statement in documents.items():
        iam.create_policy(PolicyName=name, PolicyDocument=_policy(statement))
    policies = collect(make_collector(moto), "aws.iam.policy", GLOBAL_REGION)
    assert failing("pol_iam_policy_no_service_wildcard", policies) == {"s3-everything"}
    assert failing("pol_iam_policy_no_kms_decrypt_all", policies) == {"decrypt-all"}
    assert failing("pol_iam_policy_no_privilege_escalation", policies) == {"self-service"}
    assert failing("pol_iam_policy_no_passrole_all", policies) == {"pass-any-role"}
    assert failing("pol_iam_policy_no_admin_star", policies) == set()


def test_password_policy_expiry(moto):
    collector = make_collector(moto)
    (policy,) = collect(collector, "aws.iam.password-policy", GLOBAL_REGION).values()
    assert failing("pol_iam_password_max_age", {"p": policy}) == {"p"}  # no password policy
    aws("iam", moto).update_account_password_policy(MinimumPasswordLength=14, MaxPasswordAge=90)
    (policy,) = collect(collector, "aws.iam.password-policy", GLOBAL_REGION).values()
    assert failing("pol_iam_password_max_age", {"p": policy}) == set()


def test_server_certificates_expiry_is_counted_from_the_collection_time(moto):
    aws("iam", moto).upload_server_certificate(
        ServerCertificateName="shop-2012", CertificateBody="-----BEGIN CERTIFICATE-----", PrivateKey="key"
    )
    # moto's certificates all expire on 2012-05-08.
    for now, days, expired, expiring in (
        (datetime(2012, 1, 1, tzinfo=UTC), 128, set(), set()),
        (datetime(2012, 4, 20, tzinfo=UTC), 18, set(), {"shop-2012"}),
        (datetime(2026, 1, 1, tzinfo=UTC), -4986, {"shop-2012"}, set()),
    ):
        certificates = collect(make_collector(moto, now=now), "aws.iam.server-certificate", GLOBAL_REGION)
        assert certificates["shop-2012"].uid == f"{ROLE_PREFIX}server-certificate/shop-2012"
        assert certificates["shop-2012"].document["DaysToExpiration"] == days
        assert failing("pol_iam_server_certificate_expired", certificates) == expired
        assert failing("pol_iam_server_certificate_expiring", certificates) == expiring


def test_support_and_cloudshell_policy_attachments(managed_policies):
    collector = make_collector(managed_policies)
    (support,) = collect(collector, "aws.iam.support-policy-attachments", GLOBAL_REGION).values()
    (cloudshell,) = collect(collector, "aws.iam.cloudshell-policy-attachments", GLOBAL_REGION).values()
    assert support.uid == f"{ROLE_PREFIX}policy-attachments/AWSSupportAccess" and support.name == ACCOUNT
    assert failing("pol_iam_support_role", {"s": support}) == {"s"}
    assert failing("pol_iam_cloudshell_full_access", {"c": cloudshell}) == set()

    iam = aws("iam", managed_policies)
    iam.create_role(
        RoleName="aws-support",
        AssumeRolePolicyDocument=_policy(
            {"Effect": "Allow", "Principal": {"AWS": f"{ROLE_PREFIX}root"}, "Action": "sts:AssumeRole"}
        ),
    )
    iam.attach_role_policy(RoleName="aws-support", PolicyArn="arn:aws:iam::aws:policy/AWSSupportAccess")
    iam.create_user(UserName="alice")
    iam.attach_user_policy(UserName="alice", PolicyArn="arn:aws:iam::aws:policy/AWSCloudShellFullAccess")
    (support,) = collect(collector, "aws.iam.support-policy-attachments", GLOBAL_REGION).values()
    (cloudshell,) = collect(collector, "aws.iam.cloudshell-policy-attachments", GLOBAL_REGION).values()
    assert [r["RoleName"] for r in support.document["PolicyRoles"]] == ["aws-support"]
    assert failing("pol_iam_support_role", {"s": support}) == set()
    assert [u["UserName"] for u in cloudshell.document["PolicyUsers"]] == ["alice"]
    assert failing("pol_iam_cloudshell_full_access", {"c": cloudshell}) == {"c"}


# --- Credential report and the root user ---------------------------------------------------------------

# The credential report's columns, as the IAM User Guide lists them ("Getting credential reports").
REPORT_HEADER = (
    "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
    "password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,"
    "access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,"
    "access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,"
    "access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,"
    "cert_2_active,cert_2_last_rotated"
)


def _root_line(password_last_used: str, key_last_used: str = "N/A") -> str:
    key_active = "false" if key_last_used == "N/A" else "true"
    return (
        f"<root_account>,arn:aws:iam::{ACCOUNT}:root,2019-03-01T10:00:00+00:00,not_supported,{password_last_used},"
        f"not_supported,not_supported,true,{key_active},N/A,{key_last_used},N/A,N/A,false,N/A,N/A,N/A,N/A,"
        "false,N/A,false,N/A"
    )


def test_credential_report_from_moto_lists_users(moto):
    aws("iam", moto).create_user(UserName="alice")
    (report,) = collect(make_collector(moto), "aws.iam.credential-report", GLOBAL_REGION).values()
    assert report.uid == f"{ROLE_PREFIX}credential-report"
    assert [u["user"] for u in report.document["Users"]] == ["alice"] and "Content" not in report.document
    # moto writes no root line: no root use to report.
    assert "Root" not in report.document
    assert failing("pol_iam_root_recent_use", {"r": report}) == set()


@pytest.mark.parametrize(
    "password_last_used,key_last_used,days,fails",
    [
        ("2024-05-04T09:41:12+00:00", "N/A", 1, True),
        ("2024-02-11T17:20:03+00:00", "2024-05-01T08:00:00+00:00", 4, True),  # its access key
        ("2024-02-11T17:20:03+00:00", "N/A", 83, False),
        ("no_information", "N/A", None, False),  # never used since tracking began
    ],
)
def test_root_use_from_the_credential_report(moto, password_last_used, key_last_used, days, fails):
    collector = make_collector(moto, now=NOW)
    iam = collector.client("iam", GLOBAL_REGION)
    content = "\n".join([REPORT_HEADER, _root_line(password_last_used, key_last_used)]) + "\n"
    with Stubber(iam) as stub:
        stub.add_response("generate_credential_report", {"State": "COMPLETE"}, {})
        stub.add_response(
            "get_credential_report",
            {
                "Content": content.encode(),
                "ReportFormat": "text/csv",
                "GeneratedTime": datetime(2024, 5, 5, tzinfo=UTC),
            },
            {},
        )
        (report,) = collect(collector, "aws.iam.credential-report", GLOBAL_REGION).values()
        stub.assert_no_pending_responses()
    assert report.document["Root"]["mfa_active"] == "true" and report.document["Users"] == []
    assert report.document.get("RootDaysSinceLastUse") == days
    assert failing("pol_iam_root_recent_use", {"r": report}) == ({"r"} if fails else set())


def test_root_hardware_mfa_from_the_virtual_devices(moto):
    collector = make_collector(moto)
    (summary,) = collect(collector, "aws.iam.account-summary", GLOBAL_REGION).values()
    assert summary.document["VirtualMFADevices"] == [] and summary.document["RootVirtualMFA"] is False
    assert failing("pol_iam_root_hardware_mfa", {"s": summary}) == {"s"}  # moto's root has no MFA

    # A root virtual device as the console names it; User is optional in ListVirtualMFADevices.
    root_device = {
        "SerialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/root-account-mfa-device",
        "EnableDate": datetime(2019, 3, 1, tzinfo=UTC),
    }
    iam = collector.client("iam", GLOBAL_REGION)
    for devices, fails in (([root_device], True), ([], False)):
        with Stubber(iam) as stub:
            stub.add_response(
                "get_account_summary", {"SummaryMap": {"AccountMFAEnabled": 1, "AccountAccessKeysPresent": 0}}, {}
            )
            stub.add_response(
                "list_virtual_mfa_devices",
                {"VirtualMFADevices": devices, "IsTruncated": False},
                {"AssignmentStatus": "Assigned", "MaxItems": 1000},
            )
            (summary,) = collect(collector, "aws.iam.account-summary", GLOBAL_REGION).values()
        assert summary.document["RootVirtualMFA"] is fails
        assert failing("pol_iam_root_hardware_mfa", {"s": summary}) == ({"s"} if fails else set())
        assert failing("pol_iam_root_mfa", {"s": summary}) == set()


def test_a_virtual_device_assigned_to_the_root_user_is_the_root_one():
    # Whatever the device's name: IAM shows the root user as User, with the root ARN.
    device = {
        "SerialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/my-phone",
        "User": {"UserId": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:root"},
        "EnableDate": "2019-03-01T00:00:00+00:00",
    }
    summary = IamAccountSummary.normalise({"SummaryMap": {"AccountMFAEnabled": 1}, "VirtualMFADevices": [device]}, NOW)
    assert summary["RootVirtualMFA"] is True
    assert builtin_policies()["pol_iam_root_hardware_mfa"].fails(summary) is True


# --- IAM Access Analyzer (moto has no Access Analyzer) ---------------------------------------------------

# The AWS CLI's published example answers (aws-cli awscli/examples/accessanalyzer/list-analyzers.rst
# and list-findings-v2.rst), with timestamps as botocore returns them.
ANALYZERS = [
    {
        "arn": "arn:aws:access-analyzer:us-west-2:111122223333:analyzer/UnusedAccess-ConsoleAnalyzer-organization",
        "createdAt": datetime(2024, 2, 15, 0, 46, 40, tzinfo=UTC),
        "name": "UnusedAccess-ConsoleAnalyzer-organization",
        "status": "ACTIVE",
        "tags": {"auto-delete": "no"},
        "type": "ORGANIZATION_UNUSED_ACCESS",
    },
    {
        "arn": "arn:aws:access-analyzer:us-west-2:111122223333:analyzer/ConsoleAnalyzer-organization",
        "createdAt": datetime(2020, 4, 25, 7, 43, 28, tzinfo=UTC),
        "lastResourceAnalyzed": "arn:aws:s3:::DOC-EXAMPLE-BUCKET",
        "lastResourceAnalyzedAt": datetime(2024, 2, 15, 21, 51, 56, tzinfo=UTC),
        "name": "ConsoleAnalyzer-organization",
        "status": "ACTIVE",
        "tags": {"auto-delete": "no"},
        "type": "ORGANIZATION",
    },
    {
        "arn": "arn:aws:access-analyzer:us-west-2:111122223333:analyzer/ConsoleAnalyzer-account",
        "createdAt": datetime(2019, 12, 3, 7, 28, 17, tzinfo=UTC),
        "lastResourceAnalyzed": "arn:aws:sns:us-west-2:111122223333:config-topic",
        "lastResourceAnalyzedAt": datetime(2024, 2, 15, 18, 1, 53, tzinfo=UTC),
        "name": "ConsoleAnalyzer-account",
        "status": "ACTIVE",
        "tags": {"auto-delete": "no"},
        "type": "ACCOUNT",
    },
]
FINDINGS = [
    {
        "analyzedAt": datetime(2024, 2, 16, 18, 17, 47, tzinfo=UTC),
        "createdAt": datetime(2021, 2, 26, 21, 17, 24, tzinfo=UTC),
        "id": "597f3bc2-3adc-4c18-9879-5c4b23485e46",
        "resource": "arn:aws:iam::111122223333:role/Cognito_testpoolUnauth_Role",
        "resourceType": "AWS::IAM::Role",
        "resourceOwnerAccount": "111122223333",
        "status": "ACTIVE",
        "updatedAt": datetime(2021, 2, 26, 21, 17, 24, tzinfo=UTC),
        "findingType": "ExternalAccess",
    }
]


def test_access_analyzer_status_per_region(moto):
    collector = make_collector(moto, regions=(HOME, OTHER))  # moto answers STS; Access Analyzer is stubbed
    statuses = {}
    for region, analyzers in ((HOME, ANALYZERS), (OTHER, ANALYZERS[:1])):
        with Stubber(collector.client("accessanalyzer", region)) as stub:
            stub.add_response("list_analyzers", {"analyzers": analyzers}, {})
            (statuses[region],) = collect(collector, "aws.accessanalyzer.status", region).values()
    assert statuses[OTHER].uid == f"arn:aws:access-analyzer:{OTHER}:{ACCOUNT}:analyzer-status"
    assert statuses[HOME].document["analyzers"][2]["createdAt"] == "2019-12-03T07:28:17+00:00"
    # eu-west-1 has only an unused-access analyzer: nothing watches external access there.
    assert failing("pol_accessanalyzer_enabled", statuses) == {OTHER}
    with Stubber(collector.client("accessanalyzer", OTHER)) as stub:
        stub.add_response("list_analyzers", {"analyzers": []}, {})
        (empty,) = collect(collector, "aws.accessanalyzer.status", OTHER).values()
    assert failing("pol_accessanalyzer_enabled", {"e": empty}) == {"e"}


def test_access_analyzer_findings_per_analyzer(moto):
    collector = make_collector(moto, detail_concurrency=1)  # stubbed answers are given in order
    with Stubber(collector.client("accessanalyzer", HOME)) as stub:
        stub.add_response("list_analyzers", {"analyzers": ANALYZERS}, {})
        for analyzer, findings in zip(ANALYZERS, ([], [], FINDINGS), strict=True):
            active = {"analyzerArn": analyzer["arn"], "filter": {"status": {"eq": ["ACTIVE"]}}}
            stub.add_response("list_findings_v2", {"findings": findings}, active)
        analyzers = collect(collector, "aws.accessanalyzer.analyzer")
        stub.assert_no_pending_responses()
    assert analyzers["ConsoleAnalyzer-account"].uid == ANALYZERS[2]["arn"]
    assert analyzers["ConsoleAnalyzer-account"].document["ActiveFindings"][0]["findingType"] == "ExternalAccess"
    assert failing("pol_accessanalyzer_no_active_findings", analyzers) == {"ConsoleAnalyzer-account"}


def test_access_analyzer_on_the_local_endpoint(moto):
    """The local endpoint (moto plus devkit's Access Analyzer, which moto lacks) answers the
    collector as AWS does: the demo and end-to-end scans find a region without an analyzer."""
    analyzer = aws("accessanalyzer", moto).create_analyzer(analyzerName="account", type="ACCOUNT")["arn"]
    collector = make_collector(moto, regions=(HOME, OTHER))
    statuses = {
        region: only
        for region in (HOME, OTHER)
        for only in collect(collector, "aws.accessanalyzer.status", region).values()
    }
    assert statuses[HOME].document["analyzers"][0]["arn"] == analyzer
    assert failing("pol_accessanalyzer_enabled", statuses) == {OTHER}
    analyzers = collect(collector, "aws.accessanalyzer.analyzer")
    assert analyzers["account"].document["ActiveFindings"] == []
    assert failing("pol_accessanalyzer_no_active_findings", analyzers) == set()
