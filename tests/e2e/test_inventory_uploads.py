"""Uploaded exports are evaluated exactly like live listings: a `gcloud asset export` of the GCP
fake's estate yields the same violations as a live scan of it."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from devkit.fakes.gcp import seed_estate
from shared.scans.models import Violation
from tests.conftest import scan_body, wait_for_scan
from tests.e2e.test_gcp_scan import EXPECTED

pytestmark = pytest.mark.e2e


def export_lines() -> str:
    """What `gcloud asset export --content-type=resource` then `--content-type=iam-policy` write."""
    lines = []
    for stored in seed_estate():
        asset = stored.asset
        base = {k: asset[k] for k in ("name", "assetType", "ancestors", "updateTime")}
        lines.append(json.dumps({**base, "resource": asset["resource"]}))
        if "iamPolicy" in asset:
            lines.append(json.dumps({**base, "iamPolicy": asset["iamPolicy"]}))
    return "\n".join(lines) + "\n"


def test_gcloud_asset_export_upload_matches_a_live_scan(client, worker, svc, tenant):
    account = client.post(
        "/v1/accounts",
        headers=tenant.headers,
        json={"provider": "gcp", "name": "gcp-export", "environment": "production", "collection": "inventory"},
    ).get_json()
    response = client.post(
        f"/v1/accounts/{account['id']}/inventory",
        headers=tenant.headers,
        data=export_lines(),
        content_type="application/x-ndjson",
    )
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["stored"] > 20

    body = scan_body(cloud_providers=["gcp"], frameworks=[])
    scan = wait_for_scan(client, tenant, client.post("/v1/scans", headers=tenant.headers, json=body).json["id"])
    assert scan["status"] == "completed", scan
    with svc.db.session() as session:
        found = {
            (v.policy_id, v.resource_name, v.region)
            for v in session.scalars(select(Violation).where(Violation.scan_id == scan["id"]))
        }
    assert found == EXPECTED


def test_malformed_export_lines_are_named(client, tenant):
    account = client.post(
        "/v1/accounts", headers=tenant.headers, json={"provider": "hybrid", "name": "dc", "environment": "production"}
    ).get_json()
    response = client.post(
        f"/v1/accounts/{account['id']}/inventory",
        headers=tenant.headers,
        data='{"name": "x", "assetType": "a/b"}\nnot json\n{"assetType": "a/b"}\n',
        content_type="application/x-ndjson",
    )
    assert response.status_code == 400
    assert [d["field"] for d in response.get_json()["details"]] == ["line 2", "line 3"]


def test_resource_graph_export_upload_is_evaluated_like_a_live_listing(client, worker, svc, tenant):
    from devkit.fakes.azure import demo_estate
    from tests.e2e.test_azure_scan import EXPECTED as AZURE_EXPECTED

    rows, _details = demo_estate()
    account = client.post(
        "/v1/accounts",
        headers=tenant.headers,
        json={"provider": "azure", "name": "azure-export", "environment": "production", "collection": "inventory"},
    ).get_json()
    response = client.post(
        f"/v1/accounts/{account['id']}/inventory", headers=tenant.headers, json={"data": rows, "count": len(rows)}
    )
    assert response.status_code == 202, response.get_json()
    # Policies on what Resource Graph itself holds agree with the live scan; the ones that need
    # detail calls (SQL auditing, TDE, alerts...) have no evidence in an export, so they are left out.
    policies = [
        "pol_azure_storage_secure_transfer",
        "pol_azure_storage_min_tls",
        "pol_azure_nsg_ssh_open",
        "pol_azure_nsg_rdp_open",
        "pol_azure_keyvault_soft_delete",
        "pol_azure_keyvault_purge_protection",
    ]
    body = scan_body(
        cloud_providers=["azure"], frameworks=[], scan_type="policy_specific", scope={"include_policies": policies}
    )
    scan = wait_for_scan(client, tenant, client.post("/v1/scans", headers=tenant.headers, json=body).json["id"])
    assert scan["status"] == "completed", scan
    with svc.db.session() as session:
        found = {
            (v.policy_id, v.resource_name, v.region)
            for v in session.scalars(select(Violation).where(Violation.scan_id == scan["id"]))
        }
    assert found == {v for v in AZURE_EXPECTED if v[0] in policies}
    assert found
