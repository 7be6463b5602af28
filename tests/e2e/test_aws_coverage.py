"""The three controls the AWS coverage issue found missing, through the API, the worker and the
database on a moto estate that has them: S3 server access logging, an admin inline policy on an
IAM user, and an account without any CloudTrail trail; then the whole AWS library at once."""

from __future__ import annotations

import json

import pytest

from shared.frameworks.library import builtin_frameworks
from shared.policies.policy import builtin_policies
from tests.conftest import scan_body, wait_for_scan
from tests.e2e.test_aws_estate_scan import REGIONS, aws, violations_of

pytestmark = pytest.mark.e2e
HOME, EU = REGIONS
ACCOUNT = "123456789012"  # moto's
THREE = ["pol_s3_bucket_logging", "pol_iam_user_inline_no_admin", "pol_cloudtrail_enabled"]


def _statement(action: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]})


def seed(endpoint: str) -> None:
    s3 = aws("s3", endpoint)
    for name in ("unlogged-data", "logged-data", "access-logs"):
        s3.create_bucket(Bucket=name)
    s3.put_bucket_acl(Bucket="access-logs", ACL="log-delivery-write")
    s3.put_bucket_logging(
        Bucket="logged-data",
        BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": "access-logs", "TargetPrefix": "logged-data/"}},
    )
    iam = aws("iam", endpoint)
    for user, action in (("inline-admin", "*"), ("reader", "s3:GetObject")):
        iam.create_user(UserName=user)
        iam.put_user_policy(UserName=user, PolicyName="inline", PolicyDocument=_statement(action))


def test_logging_inline_admin_and_no_trail_are_found(client, worker, svc, tenant, make_account, moto):
    seed(moto)
    make_account(tenant, endpoint_url=moto, regions=list(REGIONS))
    body = scan_body(scan_type="policy_specific", frameworks=["soc2"], scope={"include_policies": THREE})
    response = client.post("/v1/scans", json=body, headers=tenant.headers)
    assert response.status_code == 202, response.get_json()
    scan = wait_for_scan(client, tenant, response.get_json()["id"], timeout=120)
    assert scan["status"] == "completed" and scan["results"]["errors"] == [], scan

    # The access log bucket does not log itself: it is a finding too, as it would be on AWS.
    assert violations_of(svc, scan["id"]) == {
        ("pol_s3_bucket_logging", "unlogged-data", HOME),
        ("pol_s3_bucket_logging", "access-logs", HOME),
        ("pol_iam_user_inline_no_admin", "inline-admin", "global"),
        ("pol_cloudtrail_enabled", ACCOUNT, HOME),
        ("pol_cloudtrail_enabled", ACCOUNT, EU),
    }


def test_the_whole_aws_library_scans_a_moto_estate_without_errors(client, worker, svc, tenant, make_account, moto):
    """Every AWS policy at once (every framework): every type lists and reads on the local
    endpoint without a collection error, and each policy's verdicts land."""
    seed(moto)
    make_account(tenant, endpoint_url=moto, regions=list(REGIONS))
    body = scan_body(frameworks=list(builtin_frameworks()))
    response = client.post("/v1/scans", json=body, headers=tenant.headers)
    assert response.status_code == 202, response.get_json()
    scan = wait_for_scan(client, tenant, response.get_json()["id"], timeout=300)
    assert scan["status"] == "completed" and scan["results"]["errors"] == [], scan["results"]["errors"]
    found = violations_of(svc, scan["id"])
    assert {policy for policy, _, _ in found} >= set(THREE)
    aws_policies = {p.id for p in builtin_policies().values() if p.provider == "aws"}
    assert {policy for policy, _, _ in found} <= aws_policies
