"""/v1/scans/<id>/violations and /v1/scans/<id>/compliance on a real scan of a known estate."""

from __future__ import annotations

import pytest

from devkit.estates import seed_demo_estate
from tests.api.test_auth import assert_envelope
from tests.conftest import scan_body, wait_for_scan


@pytest.fixture()
def scanned(client, worker, tenant, make_account, moto):
    expected = seed_demo_estate(moto, regions=("us-east-1",))
    make_account(tenant, endpoint_url=moto, regions=("us-east-1",))
    scan = wait_for_scan(
        client,
        tenant,
        client.post(
            "/v1/scans",
            json=scan_body(
                frameworks=["soc2", "hipaa", "iso27001"],
                scope={
                    "include_policies": [
                        "pol_s3_default_encryption",
                        "pol_s3_public_access_block",
                        "pol_s3_versioning",
                        "pol_ec2_sg_ssh_open",
                        "pol_ec2_sg_rdp_open",
                        "pol_ec2_sg_all_ports_open",
                        "pol_ec2_default_sg_closed",
                    ]
                },
            ),
            headers=tenant.headers,
        ).json["id"],
    )
    assert scan["status"] == "completed"
    return scan, expected


def get(client, tenant, path):
    response = client.get(path, headers=tenant.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_violations_filters_and_keyset_pages(client, tenant, scanned):
    scan, expected = scanned
    url = f"/v1/scans/{scan['id']}/violations"
    everything = get(client, tenant, f"{url}?limit=500")
    assert everything["pagination"]["total"] == len(expected) and everything["pagination"]["next_cursor"] is None
    assert {(v["policy_id"], v["resource"]["name"]) for v in everything["violations"]} == {
        (p, n) for p, n, _ in expected
    }
    first = everything["violations"][0]
    assert set(first) >= {
        "id",
        "policy_id",
        "title",
        "severity",
        "status_extended",
        "is_new",
        "resource",
        "remediation",
        "frameworks",
    }
    assert first["is_new"] is True and first["remediation"]["text"]

    seen, cursor = [], None
    while True:
        page = get(client, tenant, f"{url}?limit=3" + (f"&cursor={cursor}" if cursor else ""))
        seen += [v["id"] for v in page["violations"]]
        cursor = page["pagination"]["next_cursor"]
        if not cursor:
            break
    assert seen == [v["id"] for v in everything["violations"]]

    critical = get(client, tenant, f"{url}?severity=critical")["violations"]
    assert critical and all(v["severity"] == "critical" for v in critical)
    ssh = get(client, tenant, f"{url}?policy=pol_ec2_sg_ssh_open")["violations"]
    assert {v["resource"]["name"] for v in ssh} == {"ssh-open-us-east-1", "all-open-us-east-1"}
    encryption = get(client, tenant, f"{url}?framework=hipaa&resource=arn:aws:s3:::logs*")["violations"]
    assert {v["policy_id"] for v in encryption} == {
        "pol_s3_default_encryption",
        "pol_s3_public_access_block",
        "pol_s3_versioning",
    }
    assert get(client, tenant, f"{url}?new=false")["pagination"]["total"] == 0
    assert get(client, tenant, f"{url}?new=true")["pagination"]["total"] == len(expected)
    assert_envelope(client.get(f"{url}?cursor=abc", headers=tenant.headers), 400, "REQ_001")
    assert_envelope(client.get(f"{url}?framework=pci", headers=tenant.headers), 400, "REQ_001")
    assert_envelope(client.get(f"{url}?severity=urgent", headers=tenant.headers), 400, "REQ_001")


def test_compliance_per_framework_and_control(client, tenant, scanned):
    scan, _ = scanned
    report = get(client, tenant, f"/v1/scans/{scan['id']}/compliance")
    assert report["compliance_score"] == scan["results"]["compliance_score"] and report["partial"] is False
    assert [f["id"] for f in report["frameworks"]] == ["soc2", "hipaa", "iso27001"]
    iso = report["frameworks"][2]
    controls = {c["id"]: c for c in iso["controls"]}
    assert controls["A.8.24"]["status"] == "failed" and controls["A.8.24"]["violations"] == 3
    assert controls["A.5.1"]["status"] == "manual" or controls["A.5.1"]["status"] == "not_applicable"
    assert iso["controls_total"] == 93
    assert (
        iso["controls_passed"] + iso["controls_failed"] + iso["controls_manual"] + iso["controls_not_applicable"] == 93
    )
    assert 0 <= iso["score"] <= 100


def test_results_of_another_tenants_scan_are_404(client, make_tenant, scanned):
    scan, _ = scanned
    stranger = make_tenant()
    for suffix in ("violations", "compliance"):
        assert_envelope(client.get(f"/v1/scans/{scan['id']}/{suffix}", headers=stranger.headers), 404, "REQ_404")
