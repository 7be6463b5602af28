"""/v1/policies and /v1/frameworks: browsing, and a tenant's own policies and frameworks."""

from __future__ import annotations

import copy

import pytest

from tests.api.test_auth import assert_envelope
from tests.conftest import scan_body, wait_for_scan

CUSTOM = {
    "id": "pol_acme_bucket_naming",
    "title": "Buckets follow the naming convention",
    "provider": "aws",
    "resource_type": "aws.s3.bucket",
    "severity": "low",
    "description": "Bucket names start with the team prefix.",
    "fails_when": {"not": {"key": "Name", "regex": "^(logs|secure|payroll)-"}},
    "status_extended": {
        "pass": "Bucket {name} is named by convention.",
        "fail": "Bucket {name} breaks the naming convention.",
    },
    "remediation": {"text": "Rename the bucket (copy and delete).", "effort": "2h"},
}


def test_browse_builtin_policies_with_filters(client, tenant):
    everything = client.get("/v1/policies?limit=500", headers=tenant.headers).get_json()
    assert everything["pagination"]["total"] >= 500 and len(everything["policies"]) == 500  # a page at most
    aws = client.get("/v1/policies?provider=aws&limit=500", headers=tenant.headers).get_json()
    ids = {p["id"] for p in aws["policies"]}
    assert {"pol_s3_default_encryption", "pol_ec2_sg_ssh_open"} <= ids
    critical = client.get("/v1/policies?severity=critical&provider=aws", headers=tenant.headers).get_json()
    assert critical["policies"] and all(p["severity"] == "critical" for p in critical["policies"])
    hipaa = client.get("/v1/policies?framework=hipaa&group=pol_encryption", headers=tenant.headers).get_json()
    assert "pol_s3_default_encryption" in {p["id"] for p in hipaa["policies"]}
    one = client.get("/v1/policies/pol_s3_default_encryption", headers=tenant.headers).get_json()
    assert one["source"] == "builtin" and one["frameworks"]["hipaa"] == ["164.312(a)(2)(iv)"]
    assert one["remediation"]["effort"] == "15m" and one["remediation"]["action"] == "s3-enable-default-encryption"
    assert_envelope(client.get("/v1/policies/pol_nope", headers=tenant.headers), 404, "REQ_404")
    assert_envelope(client.get("/v1/policies?framework=pci", headers=tenant.headers), 400, "REQ_001")


def test_browse_frameworks_with_controls(client, tenant):
    listing = client.get("/v1/frameworks", headers=tenant.headers).get_json()["frameworks"]
    assert {"soc2", "hipaa", "iso27001"} <= {f["id"] for f in listing}
    iso = client.get("/v1/frameworks/iso27001", headers=tenant.headers).get_json()
    assert iso["controls_total"] == 93 and len(iso["controls"]) == 93
    crypto = next(c for c in iso["controls"] if c["id"] == "A.8.24")
    assert crypto["automation"] == "automated" and "pol_s3_default_encryption" in crypto["policies"]["aws"]
    assert any(c["automation"] == "manual" for c in iso["controls"])
    builtin = client.get("/v1/frameworks?source=builtin", headers=tenant.headers).get_json()["frameworks"]
    assert {f["source"] for f in builtin} == {"builtin"}
    assert client.get("/v1/frameworks?source=custom", headers=tenant.headers).get_json()["frameworks"] == []
    bad = assert_envelope(client.get("/v1/frameworks?source=mine", headers=tenant.headers), 400, "REQ_001")
    assert [d["field"] for d in bad["details"]] == ["source"]


def test_custom_policy_lifecycle_and_use_in_a_scan(client, worker, svc, tenant, make_account, moto):
    from devkit.estates import seed_demo_estate

    created = client.post("/v1/policies", headers=tenant.headers, json=CUSTOM)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["source"] == "custom"
    assert_envelope(client.post("/v1/policies", headers=tenant.headers, json=CUSTOM), 409, "REQ_409")
    patched = client.patch("/v1/policies/pol_acme_bucket_naming", headers=tenant.headers, json={"severity": "medium"})
    assert patched.get_json()["severity"] == "medium"

    seed_demo_estate(moto, regions=("us-east-1",))
    make_account(tenant, endpoint_url=moto, regions=("us-east-1",))
    body = scan_body(scan_type="policy_specific", frameworks=[], scope={"include_policies": ["pol_acme_bucket_naming"]})
    scan = wait_for_scan(client, tenant, client.post("/v1/scans", headers=tenant.headers, json=body).json["id"])
    violations = client.get(f"/v1/scans/{scan['id']}/violations", headers=tenant.headers).get_json()["violations"]
    assert [(v["resource"]["name"], v["severity"]) for v in violations] == [("test-scratch", "medium")]
    assert violations[0]["status_extended"] == "Bucket test-scratch breaks the naming convention."

    assert client.delete("/v1/policies/pol_acme_bucket_naming", headers=tenant.headers).status_code == 204
    assert_envelope(client.get("/v1/policies/pol_acme_bucket_naming", headers=tenant.headers), 404, "REQ_404")


def test_custom_policies_are_per_tenant(client, make_tenant):
    owner, stranger = make_tenant(), make_tenant()
    client.post("/v1/policies", headers=owner.headers, json=CUSTOM)
    assert_envelope(client.get("/v1/policies/pol_acme_bucket_naming", headers=stranger.headers), 404, "REQ_404")
    assert_envelope(
        client.patch("/v1/policies/pol_acme_bucket_naming", headers=stranger.headers, json={}), 404, "REQ_404"
    )


@pytest.mark.parametrize(
    "changes,field",
    [
        ({"severity": "urgent"}, "severity"),
        ({"fails_when": {"key": "Name", "matches": "x"}}, "fails_when.matches"),
        ({"fails_when": {"all": [{"key": "Name", "eq": "a"}, {"key": 1, "eq": "b"}]}}, "fails_when.all[1].key"),
        ({"code": "import os"}, "code"),
        ({"remediation": {"text": "x", "effort": "a while"}}, "remediation.effort"),
    ],
)
def test_invalid_custom_policy_names_the_field(client, tenant, changes, field):
    document = copy.deepcopy(CUSTOM)
    document.update(changes)
    body = assert_envelope(client.post("/v1/policies", headers=tenant.headers, json=document), 400, "REQ_001")
    assert body["details"][0]["field"] == field


def test_builtin_entries_are_read_only(client, tenant):
    assert_envelope(
        client.patch("/v1/policies/pol_s3_versioning", headers=tenant.headers, json={"severity": "low"}), 409, "REQ_409"
    )
    assert_envelope(client.delete("/v1/frameworks/soc2", headers=tenant.headers), 409, "REQ_409")


def test_custom_framework_lifecycle_and_use_in_a_scan(client, worker, tenant, make_account, moto):
    from devkit.estates import seed_demo_estate

    framework = {
        "id": "acme-baseline",
        "name": "ACME cloud baseline",
        "version": "2026.1",
        "controls": [
            {"id": "NET-1", "title": "No administrative ports open to the internet", "policies": ["pol_network"]},
            {"id": "DATA-1", "title": "Data at rest is encrypted", "policies": ["pol_s3_default_encryption"]},
            {"id": "ORG-1", "title": "Security awareness training", "policies": []},
        ],
    }
    response = client.post("/v1/frameworks", headers=tenant.headers, json=framework)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["source"] == "custom" and body["controls_automated"] == 2
    assert "pol_ec2_sg_ssh_open" in body["controls"][0]["policies"]["aws"]  # the group was expanded
    bad = dict(framework, id="acme-2", controls=[{"id": "X", "title": "x", "policies": ["pol_nope"]}])
    details = assert_envelope(client.post("/v1/frameworks", headers=tenant.headers, json=bad), 400, "REQ_001")
    assert details["details"][0]["field"] == "controls[0].policies"

    seed_demo_estate(moto, regions=("us-east-1",))
    make_account(tenant, endpoint_url=moto, regions=("us-east-1",))
    scan = wait_for_scan(
        client,
        tenant,
        client.post("/v1/scans", headers=tenant.headers, json=scan_body(frameworks=["acme-baseline"])).json["id"],
    )
    assert scan["status"] == "completed"
    report = client.get(f"/v1/scans/{scan['id']}/compliance", headers=tenant.headers).get_json()
    [acme] = report["frameworks"]
    statuses = {c["id"]: c["status"] for c in acme["controls"]}
    assert statuses == {"NET-1": "failed", "DATA-1": "failed", "ORG-1": "manual"}
    assert acme["controls_manual"] == 1 and acme["score"] is not None

    renamed = client.patch("/v1/frameworks/acme-baseline", headers=tenant.headers, json={"name": "ACME baseline"})
    assert renamed.get_json()["name"] == "ACME baseline"
    assert client.delete("/v1/frameworks/acme-baseline", headers=tenant.headers).status_code == 204
