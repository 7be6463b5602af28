"""API -> Celery chord -> moto -> PostgreSQL -> results, for estates whose violations we know."""

from __future__ import annotations

import boto3
import pytest
from sqlalchemy import select, update

from devkit.estates import DEMO_CREDENTIALS, DEMO_POLICIES, WORLD, seed_demo_estate
from shared.platform.db import utcnow
from shared.scans.models import Scan, ScanShard, Violation
from tests.conftest import free_port, scan_body, wait_for_scan
from tests.fakes import SlowCloud

pytestmark = pytest.mark.e2e
REGIONS = ("us-east-1", "eu-west-1")
KNOWN = {"scope": {"include_policies": list(DEMO_POLICIES)}}  # the policies the estate's answers cover


def violations_of(svc, scan_id: str) -> set[tuple[str, str, str]]:
    with svc.db.session() as session:
        rows = session.scalars(select(Violation).where(Violation.scan_id == scan_id))
        return {(v.policy_id, v.resource_name, v.region) for v in rows}


def shards_of(svc, scan_id: str) -> list[ScanShard]:
    with svc.db.session() as session:
        return list(session.scalars(select(ScanShard).where(ScanShard.scan_id == scan_id).order_by(ScanShard.id)))


def aws(service: str, endpoint: str, region: str = "us-east-1"):
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=endpoint,
        aws_access_key_id=DEMO_CREDENTIALS["access_key_id"],
        aws_secret_access_key=DEMO_CREDENTIALS["secret_access_key"],
    )


def test_full_scan_finds_exactly_the_known_violations(client, worker, svc, tenant, make_account, moto):
    expected = seed_demo_estate(moto, regions=REGIONS)
    make_account(tenant, endpoint_url=moto, regions=REGIONS)

    response = client.post("/v1/scans", json=scan_body(**KNOWN), headers=tenant.headers)
    assert response.status_code == 202, response.get_json()
    created = response.get_json()
    assert created["status"] == "running" and created["queue_position"] == 0
    # No history and no inventory yet: the per-region heuristic, said as such.
    assert (created["estimated_resources"], created["estimate_basis"]) == (len(REGIONS) * 50, "heuristic")

    scan = wait_for_scan(client, tenant, created["id"])
    assert scan["status"] == "completed", scan
    assert violations_of(svc, scan["id"]) == expected
    # One shard per region plus one for the account's global services.
    assert sorted(s.region for s in shards_of(svc, scan["id"])) == ["eu-west-1", "global", "us-east-1"]
    results = scan["results"]
    assert results["total_violations"] == len(expected)
    assert results["violation_breakdown"] == {
        "critical": sum(1 for p, _, _ in expected if p in ("pol_s3_public_access_block", "pol_ec2_sg_all_ports_open")),
        "high": sum(
            1
            for p, _, _ in expected
            if p in ("pol_s3_default_encryption", "pol_ec2_sg_ssh_open", "pol_ec2_sg_rdp_open")
        ),
        "medium": sum(1 for p, _, _ in expected if p in ("pol_s3_versioning", "pol_ec2_default_sg_closed")),
        "low": 0,
    }
    assert scan["progress"]["percentage"] == 100
    assert scan["progress"]["scanned_resources"] == scan["progress"]["total_resources"] > 0
    assert 0 < results["compliance_score"] < 100
    assert results["new_violations"] == len(expected) and results["resolved_violations"] == 0
    assert results["previous_score"] is None and results["errors"] == []
    assert scan["remediation"]["auto_remediated"] == 0
    assert scan["remediation"]["manual_required"] == len(expected)
    assert scan["duration"].endswith("s") and scan["completed_at"].endswith("Z")


def test_second_scan_diffs_against_the_previous_one(client, worker, svc, tenant, make_account, moto):
    seed_demo_estate(moto, regions=REGIONS)
    make_account(tenant, endpoint_url=moto, regions=REGIONS)
    first = wait_for_scan(
        client, tenant, client.post("/v1/scans", json=scan_body(**KNOWN), headers=tenant.headers).json["id"]
    )

    # Fix one finding, add two new ones.
    aws("s3", moto).put_bucket_versioning(Bucket="logs-prod", VersioningConfiguration={"Status": "Enabled"})
    ec2 = aws("ec2", moto, "eu-west-1")
    group = ec2.create_security_group(GroupName="late-ssh", Description="late")["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=group, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": WORLD}]
    )
    aws("s3", moto).create_bucket(Bucket="new-bucket")

    created = client.post("/v1/scans", json=scan_body(**KNOWN), headers=tenant.headers).json
    assert created["estimated_resources"] == first["progress"]["scanned_resources"]
    assert created["estimated_duration"].endswith("m")
    second = wait_for_scan(client, tenant, created["id"])
    results = second["results"]
    assert results["previous_score"] == first["results"]["compliance_score"]
    assert results["resolved_violations"] == 1
    assert results["new_violations"] == 1 + 3  # late-ssh, and new-bucket fails all three bucket policies
    assert results["total_violations"] == first["results"]["total_violations"] - 1 + 4
    with svc.db.session() as session:
        new = session.scalars(
            select(Violation.resource_name).where(Violation.scan_id == second["id"], Violation.is_new.is_(True))
        ).all()
    assert sorted(new) == ["late-ssh", "new-bucket", "new-bucket", "new-bucket"]


def test_scope_globs_and_policy_specific_scan(client, worker, svc, tenant, make_account, moto):
    seed_demo_estate(moto, regions=REGIONS)
    make_account(tenant, endpoint_url=moto, regions=REGIONS)
    body = scan_body(
        name="Emergency Security Audit",
        scan_type="policy_specific",
        scope={
            "include_policies": ["pol_encryption", "pol_access_control"],
            "include_resources": ["arn:aws:s3:::*"],
            "exclude_resources": ["arn:aws:s3:::test-*"],
        },
    )
    scan = wait_for_scan(client, tenant, client.post("/v1/scans", json=body, headers=tenant.headers).json["id"])
    assert scan["status"] == "completed"
    assert violations_of(svc, scan["id"]) == {
        ("pol_s3_default_encryption", "logs-prod", "us-east-1"),
        ("pol_s3_public_access_block", "logs-prod", "us-east-1"),
        ("pol_s3_default_encryption", "payroll-exports", "us-east-1"),
        ("pol_s3_public_access_block", "payroll-exports", "us-east-1"),
        # No bucket policy denies plain-HTTP requests, not even on the otherwise secure bucket.
        ("pol_s3_deny_insecure_transport", "logs-prod", "us-east-1"),
        ("pol_s3_deny_insecure_transport", "payroll-exports", "us-east-1"),
        ("pol_s3_deny_insecure_transport", "secure-data", "us-east-1"),
        # Default encryption without a KMS key, and ACLs not disabled (no BucketOwnerEnforced).
        ("pol_s3_kms_encryption", "logs-prod", "us-east-1"),
        ("pol_s3_kms_encryption", "payroll-exports", "us-east-1"),
        ("pol_s3_acls_disabled", "logs-prod", "us-east-1"),
        ("pol_s3_acls_disabled", "payroll-exports", "us-east-1"),
        ("pol_s3_acls_disabled", "secure-data", "us-east-1"),
    }
    # Only types whose uids may start like an S3 ARN are listed (buckets; the account's Block Public
    # Access and access points, "arn:aws:s3:..." too); security groups never are.
    listed = {t for shard in shards_of(svc, scan["id"]) for t in shard.resource_types}
    assert listed == {"aws.s3.bucket", "aws.s3.account-public-access-block", "aws.s3.access-point"}
    assert scan["progress"]["scanned_resources"] == 3  # test-scratch is excluded


def test_sequential_execution_runs_shards_one_after_another(client, worker, svc, tenant, make_account, moto):
    seed_demo_estate(moto, regions=REGIONS)
    make_account(tenant, endpoint_url=moto, regions=REGIONS)
    body = scan_body(execution={"parallel_execution": False}, **KNOWN)
    scan = wait_for_scan(client, tenant, client.post("/v1/scans", json=body, headers=tenant.headers).json["id"])
    assert scan["status"] == "completed"
    shards = shards_of(svc, scan["id"])
    assert len(shards) == 3
    for earlier, later in zip(shards, shards[1:], strict=False):
        assert earlier.completed_at <= later.started_at


def test_unreachable_cloud_fails_the_scan_visibly(client, worker, svc, tenant, make_account):
    dead_endpoint = f"http://127.0.0.1:{free_port()}"
    make_account(tenant, endpoint_url=dead_endpoint, regions=("us-east-1",))
    scan = wait_for_scan(
        client, tenant, client.post("/v1/scans", json=scan_body(**KNOWN), headers=tenant.headers).json["id"]
    )
    # A failed listing is never "no resources, all compliant".
    assert scan["status"] == "failed"
    assert scan["results"]["compliance_score"] is None
    assert scan["status_reason"].startswith("All 2 shards failed")
    codes = {(e["resource_type"], e["code"]) for e in scan["results"]["errors"]}
    assert codes == {
        ("aws.s3.bucket", "EndpointConnectionError"),
        ("aws.ec2.security-group", "EndpointConnectionError"),
    }


def test_one_failing_account_does_not_stop_the_others(client, worker, svc, tenant, make_account, moto):
    expected = seed_demo_estate(moto, regions=("us-east-1",))
    make_account(tenant, endpoint_url=moto, regions=("us-east-1",))
    make_account(tenant, endpoint_url=f"http://127.0.0.1:{free_port()}", regions=("us-east-1",))
    scan = wait_for_scan(
        client, tenant, client.post("/v1/scans", json=scan_body(**KNOWN), headers=tenant.headers).json["id"]
    )
    assert scan["status"] == "completed"
    assert "Completed with errors in 2 of 4 shards" in scan["status_reason"]
    assert len(scan["results"]["errors"]) == 2
    assert violations_of(svc, scan["id"]) == expected


SLOW_REGIONS = ("us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-central-1")


SECURITY_GROUP_POLICIES = [
    "pol_ec2_sg_ssh_open",
    "pol_ec2_sg_rdp_open",
    "pol_ec2_sg_all_ports_open",
    "pol_ec2_default_sg_closed",
]


def slow_sequential_scan(client, tenant, make_account, slow: SlowCloud, **execution) -> str:
    """A scan of six regions, one shard after another, through a slow cloud endpoint: security
    groups only, one (the default VPC's) per region."""
    make_account(tenant, endpoint_url=slow.url, regions=SLOW_REGIONS)
    body = scan_body(
        scan_type="policy_specific",
        scope={"include_policies": SECURITY_GROUP_POLICIES},
        execution={"parallel_execution": False, **execution},
    )
    return client.post("/v1/scans", json=body, headers=tenant.headers).json["id"]


def test_cancel_running_scan_keeps_partial_results(client, worker, svc, tenant, make_account, moto):
    with SlowCloud(moto, delay=0.3) as slow:
        scan_id = slow_sequential_scan(client, tenant, make_account, slow)
        wait_for_progress(client, tenant, scan_id)
        response = client.delete(f"/v1/scans/{scan_id}", headers=tenant.headers)
        assert response.status_code == 200
        cancelled = response.get_json()
        assert cancelled["status"] == "cancelled" and cancelled["cancelled_at"].endswith("Z")
        partial = cancelled["partial_results"]
        assert partial["resources_scanned"] >= 1 and partial["data_available"] is True
        final = wait_until_finalized(svc, scan_id)
    assert final.status == "cancelled" and final.status_reason == "Cancelled by request"
    statuses = [s.status for s in shards_of(svc, scan_id)]
    # The running shard stopped before its next call (or had just finished); the queued ones never ran.
    assert statuses[0] in ("cancelled", "completed") and statuses[-1] == "skipped", statuses
    assert 1 <= final.resources_scanned < len(SLOW_REGIONS)
    # The partial results stay readable.
    details = client.get(f"/v1/scans/{scan_id}", headers=tenant.headers).json
    assert details["status"] == "cancelled"
    assert details["results"]["violation_breakdown"]["medium"] == final.total_violations >= 1
    assert details["progress"]["scanned_resources"] == final.resources_scanned
    conflict = client.delete(f"/v1/scans/{scan_id}", headers=tenant.headers)
    assert conflict.status_code == 409 and conflict.json["error_code"] == "SCAN_003"


def test_timeout_ends_an_overrunning_scan_with_partial_results(client, worker, svc, tenant, make_account, moto):
    with SlowCloud(moto, delay=0.3) as slow:
        scan_id = slow_sequential_scan(client, tenant, make_account, slow, timeout="1h")
        wait_for_progress(client, tenant, scan_id)
        # The hour passes: move the deadline to now instead of waiting for it.
        with svc.db.session() as session:
            session.execute(update(Scan).where(Scan.id == scan_id).values(deadline_at=utcnow()))
        scan = wait_for_scan(client, tenant, scan_id)
    assert scan["status"] == "timed_out"
    assert scan["status_reason"] == "Stopped after execution.timeout of 1h; partial results kept"
    assert 1 <= scan["progress"]["scanned_resources"] < len(SLOW_REGIONS)
    assert scan["progress"]["percentage"] < 100
    assert scan["results"]["compliance_score"] is not None
    assert "timed_out" in [s.status for s in shards_of(svc, scan_id)]


def wait_for_progress(client, tenant, scan_id: str, timeout: float = 30) -> dict:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        scan = client.get(f"/v1/scans/{scan_id}", headers=tenant.headers).json
        if scan["progress"]["scanned_resources"] > 0:
            return scan
        time.sleep(0.05)
    raise AssertionError("the scan made no progress")


def wait_until_finalized(svc, scan_id: str, timeout: float = 30) -> Scan:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with svc.db.session() as session:
            scan = session.get(Scan, scan_id)
            if scan.results is not None:
                return scan
        time.sleep(0.1)
    raise AssertionError(f"scan {scan_id} was not finalized")


def test_a_scan_that_cannot_be_planned_fails_with_a_reason(client, worker, svc, tenant, make_account):
    from shared.accounts.models import CloudAccount

    account = make_account(tenant, endpoint_url="http://127.0.0.1:9", regions=())
    with svc.db.session() as session:
        # Credentials encrypted under a key this service no longer has: the region listing cannot start.
        session.get(CloudAccount, account["id"]).credentials_encrypted = b"gAAAAA-not-decryptable"
    scan = wait_for_scan(
        client, tenant, client.post("/v1/scans", json=scan_body(**KNOWN), headers=tenant.headers).json["id"]
    )
    assert scan["status"] == "failed"
    assert scan["status_reason"] == "Planning failed: CredentialsError"
