"""API -> Celery chord -> real Azure SDK -> fake Resource Graph -> PostgreSQL, for an Azure estate
whose violations we know."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from devkit.fakes.azure import DENIED_SUBSCRIPTION, SUBSCRIPTION, FakeAzure, demo_estate
from shared.catalog.service import Catalog
from shared.inventory.collectors.providers import resource_types
from shared.scans.models import ScanShard, Violation
from tests.conftest import scan_body, wait_for_scan

pytestmark = pytest.mark.e2e
WE = "westeurope"

# What demo_estate() must produce: (policy, resource name, region). The subscription has no location.
EXPECTED = {
    ("pol_azure_alert_policy_assignment_delete", "Contoso Production", "global"),
    ("pol_azure_alert_nsg_delete", "Contoso Production", "global"),  # its alert is disabled
    ("pol_azure_alert_security_solution_write", "Contoso Production", "global"),  # scoped to a resource group
    ("pol_azure_alert_security_solution_delete", "Contoso Production", "global"),
    ("pol_azure_storage_secure_transfer", "stlegacyweb", WE),
    ("pol_azure_storage_min_tls", "stlegacyweb", WE),
    ("pol_azure_storage_public_blob_access", "stlegacyweb", WE),
    ("pol_azure_storage_default_network_deny", "stlegacyweb", WE),
    ("pol_azure_storage_min_tls", "stanalytics", WE),  # no minimumTlsVersion: an old account
    ("pol_azure_storage_public_blob_access", "stanalytics", WE),  # no allowBlobPublicAccess either
    ("pol_azure_nsg_ssh_open", "nsg-jump", WE),
    ("pol_azure_nsg_rdp_open", "nsg-jump", WE),  # through destinationPortRanges and sourceAddressPrefixes
    ("pol_azure_nsg_ssh_open", "nsg-ops", WE),  # every port from Internet
    ("pol_azure_nsg_rdp_open", "nsg-ops", WE),
    ("pol_azure_public_ip_unused", "pip-orphan", WE),
    ("pol_azure_sql_auditing", "sql-legacy", WE),
    ("pol_azure_sql_public_network_access", "sql-legacy", WE),
    ("pol_azure_sql_aad_admin", "sql-legacy", WE),
    ("pol_azure_sql_firewall_allow_all", "sql-legacy", WE),  # AllowAllWindowsAzureIps
    ("pol_azure_sql_audit_retention", "sql-reporting", WE),
    ("pol_azure_sql_firewall_allow_all", "sql-reporting", WE),
    ("pol_azure_sql_database_tde", "legacydb", WE),
    ("pol_azure_postgresql_require_ssl", "psql-dev", WE),
    ("pol_azure_keyvault_purge_protection", "kv-dev", WE),
    ("pol_azure_keyvault_purge_protection", "kv-old", WE),
    ("pol_azure_keyvault_soft_delete", "kv-old", WE),
    ("pol_azure_vm_managed_disks", "vm-legacy-01", WE),
    ("pol_azure_disk_cmk_encryption", "disk-data-01", WE),
    ("pol_azure_disk_public_network_access", "disk-data-01", WE),
    ("pol_azure_webapp_https_only", "app-legacy", WE),
    ("pol_azure_webapp_min_tls", "app-legacy", WE),
    ("pol_azure_webapp_ftp_disabled", "app-legacy", WE),
    ("pol_azure_aks_rbac", "aks-sandbox", WE),
    ("pol_azure_cosmosdb_network_restricted", "cosmos-catalog", WE),
    ("pol_azure_cosmosdb_local_auth_disabled", "cosmos-catalog", WE),
}

POLICIES = sorted({policy for policy, _, _ in EXPECTED})


@pytest.fixture()
def azure():
    rows, details = demo_estate(SUBSCRIPTION)
    with FakeAzure(rows, details) as fake:
        yield fake


def azure_account(make_account, tenant, fake: FakeAzure, subscription: str = SUBSCRIPTION) -> dict:
    return make_account(
        tenant,
        provider="azure",
        endpoint_url=fake.url,
        regions=(),
        credentials={"access_token": "t", "subscription_id": subscription},
    )


def violations_of(svc, scan_id: str) -> set[tuple[str, str, str]]:
    with svc.db.session() as session:
        rows = session.scalars(select(Violation).where(Violation.scan_id == scan_id))
        return {(v.policy_id, v.resource_name, v.region) for v in rows}


def test_azure_scan_finds_exactly_the_known_violations(client, worker, svc, tenant, make_account, azure):
    azure_account(make_account, tenant, azure)
    # The policies the demo estate was built for (the library has more: tests/shared/inventory/
    # collectors test each of them on real-shape fixtures).
    body = scan_body(cloud_providers=["azure"], scan_type="policy_specific", scope={"include_policies": POLICIES})
    response = client.post("/v1/scans", json=body, headers=tenant.headers)
    assert response.status_code == 202, response.get_json()
    scan = wait_for_scan(client, tenant, response.get_json()["id"])

    assert scan["status"] == "completed", scan
    assert violations_of(svc, scan["id"]) == EXPECTED
    with svc.db.session() as session:
        shards = session.scalars(select(ScanShard).where(ScanShard.scan_id == scan["id"])).all()
        # One query per subscription and type: all of them in the account's single global shard.
        assert [(s.provider, s.region) for s in shards] == [("azure", "global")]
        sentence = session.scalar(
            select(Violation.status_extended).where(
                Violation.scan_id == scan["id"],
                Violation.policy_id == "pol_azure_nsg_ssh_open",
                Violation.resource_name == "nsg-jump",
            )
        )
    assert sentence == "Network security group nsg-jump allows SSH (port 22) from the internet."
    severities = {p.id: p.severity for p in Catalog.builtin().policies.values()}
    breakdown = {level: 0 for level in ("critical", "high", "medium", "low")}
    for policy_id, _, _ in EXPECTED:
        breakdown[severities[policy_id]] += 1
    results = scan["results"]
    assert results["violation_breakdown"] == breakdown
    assert results["total_violations"] == len(EXPECTED) and results["errors"] == []
    assert 0 < results["compliance_score"] < 100
    listed = {resource_types.get(Catalog.builtin().policies[p].resource_type).native_type for p in POLICIES}
    assert scan["progress"]["scanned_resources"] == sum(1 for r in azure.rows if r["type"] in listed)


def test_denied_subscription_fails_the_scan_visibly(client, worker, svc, tenant, make_account, azure):
    azure.deny(DENIED_SUBSCRIPTION)
    azure_account(make_account, tenant, azure, DENIED_SUBSCRIPTION)
    response = client.post("/v1/scans", json=scan_body(cloud_providers=["azure"]), headers=tenant.headers)
    scan = wait_for_scan(client, tenant, response.get_json()["id"])

    # A listing that was refused is never "no resources, all compliant".
    assert scan["status"] == "failed"
    assert scan["results"]["compliance_score"] is None
    errors = scan["results"]["errors"]
    policy_types = {p.resource_type for p in Catalog.builtin().policies.values() if p.provider == "azure"}
    assert {e["resource_type"] for e in errors} == policy_types
    assert {(e["code"], e["region"]) for e in errors} == {("AuthorizationFailed", "global")}
    assert DENIED_SUBSCRIPTION in errors[0]["message"]
    assert violations_of(svc, scan["id"]) == set()


def test_verify_account_through_the_api(client, tenant, make_account, azure):
    account = azure_account(make_account, tenant, azure)
    answer = client.post(f"/v1/accounts/{account['id']}/verify", headers=tenant.headers).get_json()
    assert answer["verified"] is True
    azure.deny(SUBSCRIPTION)
    answer = client.post(f"/v1/accounts/{account['id']}/verify", headers=tenant.headers).get_json()
    assert answer["verified"] is False
    assert [c["check"] for c in answer["checks"] if not c["ok"]] == ["resource graph"]
