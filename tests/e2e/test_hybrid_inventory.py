"""A datacenter pushed as native hybrid resources, through the API and the real worker: a scan of
the hybrid provider judges them by the hybrid policies (and a cloud-shaped resource in the same
upload by its cloud's), and the violations and findings name the hybrid provider."""

from __future__ import annotations

import pytest

from tests.conftest import scan_body, wait_for_scan

pytestmark = pytest.mark.e2e

SITE = "dc-frankfurt"


def resource(kind: str, ident: str, document: dict, **extra) -> dict:
    return {"type": kind, "id": ident, "name": ident, "region": SITE, "document": document, **extra}


def firewall_rule(name: str, action: str, ports, priority: int, **changes) -> dict:
    rule = {
        "name": name,
        "action": action,
        "direction": "inbound",
        "protocol": "tcp",
        "ports": ports,
        "sources": ["0.0.0.0/0"],
        "priority": priority,
        "enabled": True,
    }
    return {**rule, **changes}


UPLOAD = {
    "mode": "replace",
    "resources": [
        resource(
            "hybrid.host",
            "web-01",
            {
                "hostname": "web-01.dc-frankfurt",
                "os": {"name": "CentOS", "version": "7", "end_of_life": True},
                "disk_encryption": False,
                "ssh": {"password_authentication": False, "root_login": True},
                "endpoint_protection": True,
            },
        ),
        resource(
            "hybrid.host",
            "db-01",
            {
                "hostname": "db-01.dc-frankfurt",
                "os": {"name": "Ubuntu", "version": "22.04", "end_of_life": False},
                "disk_encryption": True,
                "ssh": {"password_authentication": False, "root_login": False},
                "endpoint_protection": True,
                "patched_at": "2026-11-30T02:00:00Z",
            },
        ),
        resource(
            "hybrid.firewall",
            "edge-fw",
            {
                "rules": [
                    firewall_rule("deny-rdp", "deny", "3389", 100),
                    firewall_rule("allow-admin", "allow", ["22", "3389"], 200),
                    firewall_rule("allow-rdp-legacy", "allow", "3389", 50, enabled=False),
                ]
            },
        ),
        resource(
            "hybrid.firewall",
            "core-fw",
            {"rules": [firewall_rule("ssh-office", "allow", "22", 10, sources=["198.51.100.0/24"])]},
        ),
        resource(
            "hybrid.storage", "minio-public", {"encryption_at_rest": True, "public_access": True, "versioning": True}
        ),
        resource(
            "hybrid.storage", "nas-backups", {"encryption_at_rest": True, "public_access": False, "versioning": True}
        ),
        resource(
            "hybrid.database",
            "orders-db",
            {
                "engine": "mysql",
                "version": "8.0.36",
                "tls_required": False,
                "audit_logging": True,
                "backups_enabled": False,
            },
        ),
        # Cloud-shaped resources may still be pushed: judged by that provider's policies.
        resource("aws.s3.bucket", "legacy-gateway", {"Name": "legacy-gateway"}, uid="arn:aws:s3:::legacy-gateway"),
    ],
}
# (policy, resource) pairs the hybrid policies fail; everything else in the upload passes them.
EXPECTED = {
    ("pol_hybrid_host_os_supported", "web-01"),
    ("pol_hybrid_host_disk_encryption", "web-01"),
    ("pol_hybrid_host_ssh_root_login", "web-01"),
    ("pol_hybrid_firewall_ssh_open", "edge-fw"),
    ("pol_hybrid_storage_not_public", "minio-public"),
    ("pol_hybrid_database_tls_required", "orders-db"),
    ("pol_hybrid_database_backups", "orders-db"),
}


def all_pages(client, tenant, path: str, key: str, **params) -> list[dict]:
    found, cursor = [], None
    while True:
        query = {"limit": 500, **params, **({"cursor": cursor} if cursor else {})}
        page = client.get(path, query_string=query, headers=tenant.headers)
        assert page.status_code == 200, page.get_json()
        found += page.get_json()[key]
        cursor = page.get_json()["pagination"]["next_cursor"]
        if not cursor:
            return found


def test_native_hybrid_resources_are_judged_by_hybrid_policies(client, worker, tenant):
    datacenter = {"provider": "hybrid", "name": "frankfurt", "environment": "production"}
    account = client.post("/v1/accounts", json=datacenter, headers=tenant.headers).get_json()
    assert account["collection"] == "inventory"
    pushed = client.post(f"/v1/accounts/{account['id']}/inventory", json=UPLOAD, headers=tenant.headers)
    assert pushed.status_code == 202, pushed.get_json()
    assert pushed.get_json()["resource_types"] == {
        "aws.s3.bucket": 1,
        "hybrid.database": 1,
        "hybrid.firewall": 2,
        "hybrid.host": 2,
        "hybrid.storage": 2,
    }

    body = scan_body(cloud_providers=["hybrid"], frameworks=["soc2", "hipaa", "iso27001", "pci-dss"])
    response = client.post("/v1/scans", json=body, headers=tenant.headers)
    assert response.status_code == 202, response.get_json()
    scan = wait_for_scan(client, tenant, response.get_json()["id"], timeout=120)
    assert scan["status"] == "completed" and scan["results"]["errors"] == [], scan

    violations = all_pages(client, tenant, f"/v1/scans/{scan['id']}/violations", "violations")
    hybrid = {(v["policy_id"], v["resource"]["name"]) for v in violations if v["policy_id"].startswith("pol_hybrid_")}
    assert hybrid == EXPECTED
    assert {v["resource"]["provider"] for v in violations} == {"hybrid"}, "a hybrid account's violations are hybrid"
    assert {v["resource"]["account_id"] for v in violations} == {account["id"]}
    by_key = {(v["policy_id"], v["resource"]["name"]): v for v in violations}
    ssh = by_key["pol_hybrid_firewall_ssh_open", "edge-fw"]
    assert ssh["resource"]["type"] == "hybrid.firewall" and ssh["resource"]["region"] == SITE
    assert ssh["status_extended"] == "Firewall edge-fw allows SSH (port 22) from the internet."
    # The cloud-shaped bucket in the same upload is judged by the AWS policies.
    assert ("pol_s3_default_encryption", "legacy-gateway") in by_key

    findings = all_pages(client, tenant, "/v1/findings", "findings", provider="hybrid")
    assert {(f["policy_id"], f["resource"]["name"]) for f in findings} == set(by_key)
    assert all(f["resource"]["provider"] == "hybrid" and f["status"] == "open" for f in findings)
    assert {
        (f["policy_id"], f["resource"]["name"]) for f in findings if f["resource"]["type"].startswith("hybrid.")
    } == EXPECTED
