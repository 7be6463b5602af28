"""Incremental scans re-evaluate only what changed since the previous scan of the same scope and
carry the other verdicts forward, so the score and violations equal a full scan's."""

from __future__ import annotations

import boto3
import pytest
from sqlalchemy import select

from devkit.estates import DEMO_CREDENTIALS, WORLD, seed_demo_estate
from shared.scans.models import Violation
from tests.conftest import scan_body, wait_for_scan

pytestmark = pytest.mark.e2e
POLICIES = ["pol_s3_default_encryption", "pol_s3_public_access_block", "pol_s3_versioning", "pol_network"]


def fingerprints(svc, scan_id):
    with svc.db.session() as session:
        return set(session.scalars(select(Violation.fingerprint).where(Violation.scan_id == scan_id)))


def run(client, tenant, scan_type):
    body = scan_body(scan_type=scan_type, scope={"include_policies": POLICIES})
    return wait_for_scan(client, tenant, client.post("/v1/scans", headers=tenant.headers, json=body).json["id"])


def test_incremental_scan_equals_a_full_scan(client, worker, svc, tenant, make_account, moto):
    seed_demo_estate(moto, regions=("us-east-1",))
    make_account(tenant, endpoint_url=moto, regions=("us-east-1",))
    first = run(client, tenant, "full")
    scanned = first["progress"]["scanned_resources"]

    aws = {
        "region_name": "us-east-1",
        "endpoint_url": moto,
        "aws_access_key_id": DEMO_CREDENTIALS["access_key_id"],
        "aws_secret_access_key": DEMO_CREDENTIALS["secret_access_key"],
    }
    boto3.client("s3", **aws).put_bucket_versioning(Bucket="logs-prod", VersioningConfiguration={"Status": "Enabled"})
    ec2 = boto3.client("ec2", **aws)
    group = ec2.create_security_group(GroupName="new-ssh", Description="x")["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=group, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": WORLD}]
    )

    incremental = run(client, tenant, "incremental")
    assert incremental["status"] == "completed"
    # Everything but the changed bucket and the new group kept its verdicts.
    assert incremental["results"]["carried_forward"] == scanned - 1
    assert incremental["progress"]["scanned_resources"] == scanned + 1
    # The new group fails two network policies: SSH from the world, and a port other than 80/443.
    assert incremental["results"]["resolved_violations"] == 1 and incremental["results"]["new_violations"] == 2

    full = run(client, tenant, "full")
    assert fingerprints(svc, incremental["id"]) == fingerprints(svc, full["id"])
    assert incremental["results"]["compliance_score"] == full["results"]["compliance_score"]
    assert incremental["results"]["violation_breakdown"] == full["results"]["violation_breakdown"]
    assert full["results"]["carried_forward"] == 0
