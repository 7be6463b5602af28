"""API -> Celery -> the real Cloud Asset Inventory client -> the fake -> PostgreSQL, for a GCP estate
whose violations we know."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from devkit.fakes.gcp import PROJECT, FakeAssetInventory, seed_estate
from shared.catalog.service import Catalog
from shared.scans.models import ScanShard, Violation
from tests.conftest import scan_body, wait_for_scan

pytestmark = pytest.mark.e2e

KEY = "app-runner@acme-prod.iam.gserviceaccount.com/6f1c2b3a4d5e6f708192a3b4c5d6e7f8091a2b3c"
# (policy, resource name, region) of every finding the seeded estate must produce, and no other.
EXPECTED = {
    ("pol_gcp_firewall_ssh_open", "default-allow-ssh", "global"),
    ("pol_gcp_firewall_rdp_open", "default-allow-rdp", "global"),
    ("pol_gcp_firewall_ssh_open", "allow-all-ingress", "global"),
    ("pol_gcp_firewall_rdp_open", "allow-all-ingress", "global"),
    ("pol_gcp_firewall_all_open", "allow-all-ingress", "global"),
    ("pol_gcp_network_default", "default", "global"),
    ("pol_gcp_network_legacy", "legacy-net", "global"),
    ("pol_gcp_subnet_flow_logs", "default", "us-central1"),
    ("pol_gcp_subnet_private_google_access", "default", "us-central1"),
    ("pol_gcp_instance_default_service_account", "web-1", "us-central1-a"),
    ("pol_gcp_instance_default_sa_full_access", "web-1", "us-central1-a"),
    ("pol_gcp_instance_serial_port", "web-1", "us-central1-a"),
    ("pol_gcp_instance_public_ip", "web-1", "us-central1-a"),
    ("pol_gcp_instance_block_project_ssh_keys", "web-1", "us-central1-a"),
    ("pol_gcp_instance_ip_forwarding", "nat-gw", "us-central1-a"),
    ("pol_gcp_instance_public_ip", "nat-gw", "us-central1-a"),
    ("pol_gcp_instance_shielded_vm", "nat-gw", "us-central1-a"),
    ("pol_gcp_disk_cmek", "web-1", "us-central1-a"),
    ("pol_gcp_bucket_public_access_prevention", "acme-prod-public-assets", "us-central1"),
    ("pol_gcp_bucket_public_access_prevention", "acme-prod-legacy-uploads", "us-central1"),
    ("pol_gcp_bucket_uniform_access", "acme-prod-legacy-uploads", "us-central1"),
    ("pol_gcp_bucket_public_iam", "acme-prod-public-assets", "global"),
    ("pol_gcp_sql_require_ssl", "reporting-db", "us-central1"),
    ("pol_gcp_sql_public_ip", "reporting-db", "us-central1"),
    ("pol_gcp_sql_authorized_networks_open", "reporting-db", "us-central1"),
    ("pol_gcp_sql_automated_backups", "reporting-db", "us-central1"),
    ("pol_gcp_kms_key_rotation", "app/legacy", "us-central1"),
    ("pol_gcp_kms_key_rotation", "app/yearly", "us-central1"),
    ("pol_gcp_kms_key_public", "app/legacy", "global"),
    ("pol_gcp_sa_key_user_managed", KEY, "global"),
    ("pol_gcp_iam_sa_admin_roles", PROJECT, "global"),
    ("pol_gcp_iam_primitive_roles_users", PROJECT, "global"),
    ("pol_gcp_iam_sa_user_project_level", PROJECT, "global"),
    ("pol_gcp_iam_gmail_accounts", PROJECT, "global"),
    ("pol_gcp_audit_logging_all_services", PROJECT, "global"),
    ("pol_gcp_logging_sink_all_entries", PROJECT, "global"),
    ("pol_gcp_gke_legacy_abac", "legacy-cluster", "us-central1-a"),
    ("pol_gcp_gke_private_nodes", "legacy-cluster", "us-central1-a"),
    ("pol_gcp_bigquery_dataset_public", "public_exports", "us"),
    ("pol_gcp_bigquery_dataset_cmek", "public_exports", "us"),
}
# The policies the seeded estate was built for (the library has more: tests/shared/inventory/collectors
# test each of them on real-shape fixtures).
POLICIES = sorted({policy for policy, _, _ in EXPECTED})
# Seeded resources of the types the policies evaluate (service accounts and sinks have no policy
# of their own; sinks are read as part of the project).
EVALUATED_RESOURCES = 8 + 3 + 3 + 4 + 2 + 3 + 3 + 3 + 4 + 2 + 2 + 1 + 1 + 2 + 2


@pytest.fixture()
def gcp():
    with FakeAssetInventory(seed_estate()) as fake:
        yield fake


def violations_of(svc, scan_id: str) -> set[tuple[str, str, str]]:
    with svc.db.session() as session:
        rows = session.scalars(select(Violation).where(Violation.scan_id == scan_id))
        return {(v.policy_id, v.resource_name, v.region) for v in rows}


def gcp_account(make_account, tenant, fake: FakeAssetInventory) -> dict:
    return make_account(tenant, provider="gcp", endpoint_url=fake.url, regions=(), credentials={"project_id": PROJECT})


def test_gcp_scan_finds_exactly_the_known_violations(client, worker, svc, tenant, make_account, gcp):
    gcp_account(make_account, tenant, gcp)
    body = scan_body(cloud_providers=["gcp"], scan_type="policy_specific", scope={"include_policies": POLICIES})
    del body["frameworks"]  # the estate's policies, whichever frameworks cite them
    response = client.post("/v1/scans", json=body, headers=tenant.headers)
    assert response.status_code == 202, response.get_json()

    scan = wait_for_scan(client, tenant, response.get_json()["id"])
    assert scan["status"] == "completed", scan
    assert violations_of(svc, scan["id"]) == EXPECTED
    results = scan["results"]
    assert results["errors"] == []
    assert results["total_violations"] == len(EXPECTED)
    policies = Catalog.builtin().policies
    severities = [policies[policy_id].severity for policy_id, _, _ in EXPECTED]
    assert results["violation_breakdown"] == {s: severities.count(s) for s in ("critical", "high", "medium", "low")}
    assert 0 < results["compliance_score"] < 100
    assert scan["progress"]["scanned_resources"] == EVALUATED_RESOURCES
    with svc.db.session() as session:
        # One listing per project covers every location: a single global shard.
        assert session.scalars(select(ScanShard.region).where(ScanShard.scan_id == scan["id"])).all() == ["global"]
        sentence = session.scalar(
            select(Violation.status_extended).where(
                Violation.scan_id == scan["id"], Violation.policy_id == "pol_gcp_sql_authorized_networks_open"
            )
        )
    assert sentence == "Cloud SQL instance reporting-db authorizes connections from any address (0.0.0.0/0)."


def test_denied_project_fails_the_scan_visibly(client, worker, svc, tenant, make_account, gcp):
    gcp.deny(PROJECT)
    gcp_account(make_account, tenant, gcp)
    response = client.post("/v1/scans", json=scan_body(cloud_providers=["gcp"]), headers=tenant.headers)
    scan = wait_for_scan(client, tenant, response.get_json()["id"])
    # A listing the cloud refused is never "no resources, all compliant".
    assert scan["status"] == "failed"
    assert scan["results"]["compliance_score"] is None
    errors = scan["results"]["errors"]
    evaluated_types = {p.resource_type for p in Catalog.builtin().policies.values() if p.provider == "gcp"}
    assert {(e["resource_type"], e["code"], e["region"]) for e in errors} == {
        (resource_type, "PermissionDenied", "global") for resource_type in evaluated_types
    }
    assert all("do not have permission" in e["message"] and f"projects/{PROJECT}" in e["message"] for e in errors)
    assert violations_of(svc, scan["id"]) == set()
