"""Pushed inventories (hybrid accounts and offline snapshots) and the /v1/resources inventory."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from devkit.estates import seed_demo_estate
from shared.scans.models import Violation
from tests.api.test_auth import assert_envelope
from tests.conftest import scan_body, wait_for_scan

OPEN_SSH = {
    "IpProtocol": "tcp",
    "FromPort": 22,
    "ToPort": 22,
    "Ports": "22-22",
    "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
    "Ipv6Ranges": [],
}


def bucket(name: str, *, encrypted: bool) -> dict:
    document = {
        "Name": name,
        "Versioning": {"Status": "Enabled"},
        "PublicAccessBlockConfiguration": {
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    }
    if encrypted:
        document["ServerSideEncryptionConfiguration"] = {
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        }
    return {
        "type": "aws.s3.bucket",
        "id": name,
        "uid": f"arn:aws:s3:::{name}",
        "region": "on-prem-1",
        "document": document,
    }


def group(group_id: str, permissions: list) -> dict:
    return {
        "type": "aws.ec2.security-group",
        "id": group_id,
        "name": f"grp-{group_id}",
        "region": "dc-1",
        "document": {
            "GroupId": group_id,
            "GroupName": f"grp-{group_id}",
            "IpPermissions": permissions,
            "IpPermissionsEgress": [],
        },
    }


@pytest.fixture()
def hybrid(client, tenant):
    response = client.post(
        "/v1/accounts",
        headers=tenant.headers,
        json={"provider": "hybrid", "name": "datacenter", "environment": "production"},
    )
    assert response.status_code == 201
    account = response.get_json()
    assert account["collection"] == "inventory" and account["inventory_pushed_at"] is None
    return account


def push(client, tenant, account, body, **kwargs):
    return client.post(f"/v1/accounts/{account['id']}/inventory", headers=tenant.headers, json=body, **kwargs)


def test_push_then_scan_a_hybrid_inventory(client, worker, svc, tenant, hybrid):
    body = {
        "resources": [bucket("vault-a", encrypted=True), bucket("vault-b", encrypted=False), group("sg-1", [OPEN_SSH])]
    }
    response = push(client, tenant, hybrid, body)
    assert response.status_code == 202
    summary = response.get_json()
    assert summary["received"] == 3 and summary["created"] == 3 and summary["removed"] == 0
    assert summary["resource_types"] == {"aws.ec2.security-group": 1, "aws.s3.bucket": 2}

    body = scan_body(
        cloud_providers=["hybrid"],
        frameworks=[],
        scan_type="policy_specific",
        scope={"include_policies": ["pol_s3_default_encryption", "pol_s3_versioning", "pol_network"]},
    )
    scan = wait_for_scan(client, tenant, client.post("/v1/scans", headers=tenant.headers, json=body).get_json()["id"])
    assert scan["status"] == "completed" and scan["progress"]["scanned_resources"] == 3
    with svc.db.session() as session:
        found = {
            (v.policy_id, v.resource_name)
            for v in session.scalars(select(Violation).where(Violation.scan_id == scan["id"]))
        }
    assert found == {("pol_s3_default_encryption", "vault-b"), ("pol_ec2_sg_ssh_open", "grp-sg-1")}

    listing = client.get("/v1/resources?type=aws.s3.bucket", headers=tenant.headers).get_json()
    assert sorted(r["name"] for r in listing["resources"]) == ["vault-a", "vault-b"]
    vault_b = next(r for r in listing["resources"] if r["name"] == "vault-b")
    assert vault_b["provider"] == "aws" and vault_b["region"] == "on-prem-1" and vault_b["last_scan_id"] == scan["id"]
    details = client.get(f"/v1/resources/{vault_b['id']}", headers=tenant.headers).get_json()
    assert details["configuration"]["Name"] == "vault-b"
    assert [(v["policy_id"], v["status_extended"]) for v in details["violations"]] == [
        ("pol_s3_default_encryption", "S3 bucket vault-b has no default server-side encryption.")
    ]


def test_replace_and_merge_uploads(client, tenant, hybrid):
    push(client, tenant, hybrid, {"resources": [bucket("a", encrypted=True), bucket("b", encrypted=True)]})
    merged = push(client, tenant, hybrid, {"resources": [bucket("c", encrypted=True)], "mode": "merge"}).get_json()
    assert merged["removed"] == 0
    replaced = push(client, tenant, hybrid, {"resources": [bucket("a", encrypted=False)]}).get_json()
    assert replaced["removed"] == 2 and replaced["created"] == 0
    listing = client.get(f"/v1/resources?account_id={hybrid['id']}", headers=tenant.headers).get_json()
    assert [r["name"] for r in listing["resources"]] == ["a"]


@pytest.mark.parametrize(
    "body,field",
    [
        ({"resources": [{"type": "aws.nothing", "id": "x", "document": {}}]}, "resources[0].type"),
        ({"resources": [{"type": "aws.s3.bucket", "document": {}}]}, "resources[0].id"),
        ({"resources": [{"type": "aws.s3.bucket", "id": "x"}]}, "resources[0].document"),
        ({"resources": [], "mode": "sometimes"}, "mode"),
        ({"items": []}, "body"),
    ],
)
def test_bad_uploads_name_the_field(client, tenant, hybrid, body, field):
    details = assert_envelope(push(client, tenant, hybrid, body), 400, "REQ_001")["details"]
    assert field in [d["field"] for d in details], details


def test_uploads_need_an_inventory_account(client, tenant, make_account):
    account = make_account(tenant, endpoint_url="http://127.0.0.1:9")
    assert account["collection"] == "api"
    assert_envelope(push(client, tenant, account, {"resources": []}), 409, "REQ_409")


def test_unsupported_upload_format(client, tenant, hybrid):
    response = client.post(
        f"/v1/accounts/{hybrid['id']}/inventory", headers=tenant.headers, data="a,b", content_type="text/csv"
    )
    assert_envelope(response, 400, "REQ_001")


def test_offline_snapshot_of_a_cloud_account(client, worker, tenant):
    response = client.post(
        "/v1/accounts",
        headers=tenant.headers,
        json={"provider": "aws", "name": "air-gapped", "environment": "production", "collection": "inventory"},
    )
    account = response.get_json()
    push(client, tenant, account, {"resources": [bucket("offline", encrypted=False)]})
    scan = wait_for_scan(
        client,
        tenant,
        client.post(
            "/v1/scans",
            headers=tenant.headers,
            json=scan_body(scope={"include_policies": ["pol_s3_default_encryption"]}, scan_type="policy_specific"),
        ).get_json()["id"],
    )
    assert scan["status"] == "completed" and scan["results"]["total_violations"] == 1


def test_live_scans_keep_the_inventory(client, worker, tenant, make_account, moto):
    seed_demo_estate(moto, regions=("us-east-1",))
    make_account(tenant, endpoint_url=moto, regions=("us-east-1",))
    first = wait_for_scan(client, tenant, client.post("/v1/scans", json=scan_body(), headers=tenant.headers).json["id"])
    resources = client.get("/v1/resources?id=arn:aws:s3:::*&limit=500", headers=tenant.headers).get_json()
    assert sorted(r["name"] for r in resources["resources"]) == [
        "logs-prod",
        "payroll-exports",
        "secure-data",
        "test-scratch",
    ]
    before = {r["uid"]: r for r in resources["resources"]}
    second = wait_for_scan(
        client, tenant, client.post("/v1/scans", json=scan_body(), headers=tenant.headers).json["id"]
    )
    after = {
        r["uid"]: r for r in client.get("/v1/resources?id=arn:aws:s3:::*", headers=tenant.headers).json["resources"]
    }
    for uid, row in after.items():
        assert row["config_hash"] == before[uid]["config_hash"]  # unchanged configuration, same hash
        assert row["first_seen"] == before[uid]["first_seen"] and row["last_scan_id"] == second["id"]
    assert first["id"] != second["id"]
    assert (
        client.get(
            "/v1/resources?provider=aws&region=us-east-1&type=aws.ec2.security-group", headers=tenant.headers
        ).json["pagination"]["total"]
        >= 1
    )
    assert_envelope(client.get("/v1/resources/res_999999999", headers=tenant.headers), 404, "REQ_404")
    assert_envelope(client.get("/v1/resources/nope", headers=tenant.headers), 404, "REQ_404")


def test_uploads_track_configuration_changes(client, svc, tenant, hybrid):
    from shared.inventory.models import Resource

    def changed_at(name):
        with svc.db.session() as session:
            return (
                session.query(Resource.config_changed_at)
                .filter(Resource.account_id == hybrid["id"], Resource.name == name)
                .scalar()
            )

    push(client, tenant, hybrid, {"resources": [bucket("a", encrypted=False)]})
    first = changed_at("a")
    push(client, tenant, hybrid, {"resources": [bucket("a", encrypted=False)]})
    assert changed_at("a") == first  # same configuration: incremental scans may carry its verdicts
    push(client, tenant, hybrid, {"resources": [bucket("a", encrypted=True)]})
    assert changed_at("a") > first
