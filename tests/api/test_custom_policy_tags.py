"""A tenant's custom policy on `tags.<key>`: a scan passes the tagged bucket and fails the untagged one."""

from __future__ import annotations

from tests.conftest import scan_body, wait_for_scan
from tests.shared.inventory.collectors.test_aws import aws

OWNER_TAG = {
    "id": "pol_acme_bucket_owner_tag",
    "title": "Buckets name their owner",
    "provider": "aws",
    "resource_type": "aws.s3.bucket",
    "severity": "low",
    "description": "Every bucket carries an owner tag.",
    "fails_when": {"key": "tags.owner", "absent": True},
    "status_extended": {
        "pass": "Bucket {name} has an owner tag.",
        "fail": "Bucket {name} has no owner tag.",
    },
    "remediation": {"text": "Tag the bucket with its owning team.", "effort": "15m"},
}


def test_custom_policy_on_a_tag_passes_tagged_and_fails_untagged_buckets(client, worker, tenant, make_account, moto):
    s3 = aws("s3", moto)
    s3.create_bucket(Bucket="owned-bucket")
    s3.put_bucket_tagging(Bucket="owned-bucket", Tagging={"TagSet": [{"Key": "owner", "Value": "payments"}]})
    s3.create_bucket(Bucket="orphan-bucket")
    created = client.post("/v1/policies", headers=tenant.headers, json=OWNER_TAG)
    assert created.status_code == 201, created.get_json()

    make_account(tenant, endpoint_url=moto, regions=("us-east-1",))
    body = scan_body(scan_type="policy_specific", frameworks=[], scope={"include_policies": [OWNER_TAG["id"]]})
    scan = wait_for_scan(client, tenant, client.post("/v1/scans", headers=tenant.headers, json=body).json["id"])
    assert scan["status"] == "completed", scan
    violations = client.get(f"/v1/scans/{scan['id']}/violations", headers=tenant.headers).get_json()["violations"]
    assert [v["resource"]["name"] for v in violations] == ["orphan-bucket"]
    assert violations[0]["status_extended"] == "Bucket orphan-bucket has no owner tag."
