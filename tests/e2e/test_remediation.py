"""Opt-in automatic remediation against moto: fixes recorded with before/after, dry runs that
change nothing, failures reported rather than hidden."""

from __future__ import annotations

import boto3
import pytest

from devkit.estates import DEMO_CREDENTIALS, seed_demo_estate
from tests.conftest import scan_body, wait_for_scan

pytestmark = pytest.mark.e2e
S3_AND_NETWORK = ["pol_s3_default_encryption", "pol_s3_public_access_block", "pol_s3_versioning", "pol_network"]


def client_for(service, endpoint, region="us-east-1"):
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=endpoint,
        aws_access_key_id=DEMO_CREDENTIALS["access_key_id"],
        aws_secret_access_key=DEMO_CREDENTIALS["secret_access_key"],
    )


def run(client, tenant, **remediation):
    body = scan_body(scan_type="policy_specific", scope={"include_policies": S3_AND_NETWORK}, remediation=remediation)
    response = client.post("/v1/scans", headers=tenant.headers, json=body)
    assert response.status_code == 202, response.get_json()
    return wait_for_scan(client, tenant, response.get_json()["id"])


def world_ssh_rules(endpoint):
    ec2 = client_for("ec2", endpoint)
    groups = ec2.describe_security_groups()["SecurityGroups"]
    return {
        g["GroupName"]
        for g in groups
        for p in g["IpPermissions"]
        if any(r.get("CidrIp") == "0.0.0.0/0" for r in p.get("IpRanges", []))
        and (p["IpProtocol"] == "-1" or p.get("FromPort", 0) <= 22 <= p.get("ToPort", -1))
    }


def test_auto_remediation_fixes_and_records(client, worker, tenant, make_account, moto):
    seed_demo_estate(moto, regions=("us-east-1",))
    make_account(tenant, endpoint_url=moto, regions=("us-east-1",))
    assert world_ssh_rules(moto) == {"ssh-open-us-east-1", "all-open-us-east-1"}

    scan = run(client, tenant, auto_remediate=True)
    assert scan["status"] == "completed"
    attempts = client.get(f"/v1/scans/{scan['id']}/remediations", headers=tenant.headers).get_json()["remediations"]
    fixed = [a for a in attempts if a["status"] == "fixed"]
    assert fixed and len(fixed) == len(attempts)
    assert scan["remediation"]["auto_remediated"] == len(fixed)
    assert scan["remediation"]["manual_required"] == scan["results"]["total_violations"] - len(fixed)
    assert scan["remediation"]["mode"] == "on" and scan["remediation"]["failed_actions"] == 0
    encryption = next(
        a for a in attempts if a["action"] == "s3-enable-default-encryption" and a["resource"]["name"] == "logs-prod"
    )
    assert encryption["before"] == {}
    assert (
        encryption["after"]["ServerSideEncryptionConfiguration"]["Rules"][0]["ApplyServerSideEncryptionByDefault"][
            "SSEAlgorithm"
        ]
        == "AES256"
    )

    s3 = client_for("s3", moto)
    assert s3.get_bucket_versioning(Bucket="logs-prod")["Status"] == "Enabled"
    assert s3.get_public_access_block(Bucket="test-scratch")["PublicAccessBlockConfiguration"]["BlockPublicAcls"]
    assert world_ssh_rules(moto) == set()
    web = client_for("ec2", moto).describe_security_groups(GroupNames=["web-us-east-1"])["SecurityGroups"][0]
    assert web["IpPermissions"][0]["IpRanges"] == [{"CidrIp": "0.0.0.0/0"}]  # port 443 was left alone

    again = run(client, tenant)
    # Only findings without an action remain: the default VPC's group rules, network ACL (all
    # traffic from anywhere) and subnets (public addresses on launch), as AWS makes them.
    assert {
        v["policy_id"]
        for v in client.get(f"/v1/scans/{again['id']}/violations", headers=tenant.headers).get_json()["violations"]
    } == {"pol_ec2_default_sg_closed", "pol_vpc_nacl_admin_ports_open", "pol_vpc_subnet_no_auto_public_ip"}
    # Revoking a group's world-open rule also resolves the other port policies that rule failed.
    resolved = again["results"]["resolved_violations"]
    assert resolved == scan["results"]["total_violations"] - again["results"]["total_violations"] > len(fixed)


def test_dry_run_changes_nothing(client, worker, tenant, make_account, moto):
    seed_demo_estate(moto, regions=("us-east-1",))
    make_account(tenant, endpoint_url=moto, regions=("us-east-1",))
    scan = run(client, tenant, auto_remediate=True, dry_run=True, actions=["s3-enable-versioning"])
    attempts = client.get(f"/v1/scans/{scan['id']}/remediations", headers=tenant.headers).get_json()["remediations"]
    assert {a["action"] for a in attempts} == {"s3-enable-versioning"}
    assert all(a["status"] == "dry_run" and a["after"] == {"Status": "Enabled"} for a in attempts)
    assert scan["remediation"]["auto_remediated"] == 0 and scan["remediation"]["mode"] == "dry_run"
    assert "Status" not in client_for("s3", moto).get_bucket_versioning(Bucket="logs-prod")


def test_remediation_is_off_by_default(client, worker, tenant, make_account, moto):
    seed_demo_estate(moto, regions=("us-east-1",))
    make_account(tenant, endpoint_url=moto, regions=("us-east-1",))
    scan = run(client, tenant)
    assert scan["remediation"]["mode"] == "off" and scan["remediation"]["auto_remediated"] == 0
    assert client.get(f"/v1/scans/{scan['id']}/remediations", headers=tenant.headers).get_json()["remediations"] == []
    assert world_ssh_rules(moto) == {"ssh-open-us-east-1", "all-open-us-east-1"}


def test_a_failed_action_is_reported(client, worker, tenant, make_account, moto):
    client.post(
        "/v1/policies",
        headers=tenant.headers,
        json={
            "id": "pol_acme_logs_bucket_key",
            "title": "The logs bucket's key rotates",
            "provider": "aws",
            "resource_type": "aws.s3.bucket",
            "severity": "low",
            "description": "A deliberately mis-targeted action.",
            "fails_when": {"key": "Name", "eq": "logs-prod"},
            "status_extended": {"pass": "{name} ok.", "fail": "{name} needs a rotating key."},
            "remediation": {"text": "Rotate it.", "effort": "10m", "action": "kms-enable-rotation"},
        },
    )
    seed_demo_estate(moto, regions=("us-east-1",))
    make_account(tenant, endpoint_url=moto, regions=("us-east-1",))
    body = scan_body(
        scan_type="policy_specific",
        frameworks=[],
        remediation={"auto_remediate": True},
        scope={"include_policies": ["pol_acme_logs_bucket_key"]},
    )
    scan = wait_for_scan(client, tenant, client.post("/v1/scans", headers=tenant.headers, json=body).json["id"])
    [attempt] = client.get(f"/v1/scans/{scan['id']}/remediations", headers=tenant.headers).get_json()["remediations"]
    assert attempt["status"] == "failed" and "KeyId" in attempt["error"]
    assert scan["remediation"]["failed_actions"] == 1 and scan["remediation"]["auto_remediated"] == 0
    violation = client.get(f"/v1/scans/{scan['id']}/violations", headers=tenant.headers).get_json()["violations"][0]
    assert violation["remediation"]["status"] == "failed"


def test_unknown_action_is_rejected(client, tenant, make_account):
    make_account(tenant, endpoint_url="http://127.0.0.1:9")
    response = client.post(
        "/v1/scans", headers=tenant.headers, json=scan_body(remediation={"auto_remediate": True, "actions": ["rm-rf"]})
    )
    assert response.status_code == 400
    assert response.get_json()["details"][0]["field"] == "remediation.actions[0]"
