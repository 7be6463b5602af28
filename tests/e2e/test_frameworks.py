"""Frameworks on the demo estate (AWS in moto, Azure and GCP through their real SDK clients), through
the API and the worker: every built-in framework scores on its own evidence, control status follows
checks first and attestations second, and the evidence pack lists everything behind each control."""

from __future__ import annotations

import csv
import io
import itertools
import time
from datetime import UTC, datetime, timedelta

import pytest

from devkit.demo import DATACENTER, REGIONS
from devkit.estates import seed_demo_estate
from devkit.fakes.azure import SUBSCRIPTION, FakeAzure, demo_estate
from devkit.fakes.gcp import PROJECT, FakeAssetInventory, seed_estate
from shared.frameworks.library import ORDER
from shared.reports.evidence import CSV_COLUMNS
from tests.api.test_auth import assert_envelope
from tests.conftest import scan_body, wait_for_scan

pytestmark = pytest.mark.e2e


@pytest.fixture()
def demo_scan(client, worker, tenant, make_account, moto):
    """The estate of `make demo` (AWS in two regions, Azure, GCP, an uploaded datacenter), scanned
    against every built-in framework."""
    seed_demo_estate(moto, regions=REGIONS)
    rows, details = demo_estate()
    with FakeAzure(rows, details) as azure, FakeAssetInventory(seed_estate()) as gcp:
        make_account(tenant, endpoint_url=moto, regions=REGIONS)
        azure_credentials = {"access_token": "t", "subscription_id": SUBSCRIPTION}
        make_account(tenant, provider="azure", endpoint_url=azure.url, regions=(), credentials=azure_credentials)
        make_account(tenant, provider="gcp", endpoint_url=gcp.url, regions=(), credentials={"project_id": PROJECT})
        datacenter = {"provider": "hybrid", "name": "datacenter", "environment": "production"}
        hybrid = client.post("/v1/accounts", json=datacenter, headers=tenant.headers).get_json()
        pushed = client.post(f"/v1/accounts/{hybrid['id']}/inventory", json=DATACENTER, headers=tenant.headers)
        assert pushed.status_code == 202, pushed.get_json()
        body = scan_body(cloud_providers=["aws", "azure", "gcp", "hybrid"], frameworks=list(ORDER))
        response = client.post("/v1/scans", json=body, headers=tenant.headers)
        assert response.status_code == 202, response.get_json()
        scan = wait_for_scan(client, tenant, response.get_json()["id"], timeout=180)
    assert scan["status"] == "completed" and scan["results"]["errors"] == [], scan
    return scan


def compliance(client, tenant, scan) -> dict[str, dict]:
    answer = client.get(f"/v1/scans/{scan['id']}/compliance", headers=tenant.headers).get_json()
    return {framework["id"]: framework for framework in answer["frameworks"]}


def attest(client, tenant, framework: str, control: str, status: str = "compliant", **changes) -> dict:
    body = {
        "status": status,
        "justification": f"{control}: reviewed by the compliance team",
        "evidence": {"url": "https://grc.example.com/evidence/1"},
        "valid_until": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
        **changes,
    }
    response = client.post(
        f"/v1/frameworks/{framework}/controls/{control}/attestations", json=body, headers=tenant.headers
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_no_two_built_in_frameworks_score_alike(client, tenant, demo_scan):
    frameworks = compliance(client, tenant, demo_scan)
    assert list(frameworks) == list(ORDER)
    scores = {fid: f["score"] for fid, f in frameworks.items()}
    assert all(score is not None and 0 < score < 100 for score in scores.values()), scores
    for (a, score_a), (b, score_b) in itertools.combinations(scores.items(), 2):
        assert score_a != score_b, f"{a} and {b} both score {score_a}: their evidence is not their own"
    for framework in frameworks.values():
        scored = [c["score"] for c in framework["controls"] if c["score"] is not None]
        assert framework["controls_scored"] == len(scored) and scored
        assert framework["score"] == round(sum(scored) / len(scored), 1)  # verifiable from what is shown
        counted = sum(framework[f"controls_{s}"] for s in ("passed", "failed", "manual", "attested", "not_applicable"))
        assert counted == framework["controls_total"] == len(framework["controls"])
        assert framework["controls_automated"] == sum(c["automated"] for c in framework["controls"])
        assert framework["controls_passed"] + framework["controls_failed"] > 0


def test_control_status_follows_checks_then_attestations(client, tenant, demo_scan):
    soc2 = compliance(client, tenant, demo_scan)["soc2"]
    controls = {c["id"]: c for c in soc2["controls"]}
    failing = next(c for c in soc2["controls"] if c["status"] == "failed")
    assert failing["failing_resources"] and failing["failing_resources_total"] >= len(failing["failing_resources"])
    assert all(p["rationale"] for p in failing["policies"]) and failing["violations"] >= failing["checks_failed"] > 0
    assert controls["CC1.1"]["status"] == "manual" and controls["CC1.1"]["policies"] == []

    attest(client, tenant, "soc2", "CC1.1")
    attest(client, tenant, "soc2", "CC1.2", "non_compliant")
    attest(client, tenant, "soc2", "CC1.3", "not_applicable")
    expiring = attest(
        client, tenant, "soc2", "CC1.4", valid_until=(datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    )
    attest(client, tenant, "soc2", failing["id"])  # checks outrank a word: it stays failed
    after = compliance(client, tenant, demo_scan)["soc2"]
    status = {c["id"]: c["status"] for c in after["controls"]}
    assert [status[c] for c in ("CC1.1", "CC1.2", "CC1.3", "CC1.4")] == [
        "attested",
        "failed",
        "not_applicable",
        "attested",
    ]
    assert status[failing["id"]] == "failed"
    assert after["controls_attested"] == soc2["controls_attested"] + 2
    assert after["controls_manual"] == soc2["controls_manual"] - 4
    assert after["score"] == soc2["score"], "a score counts checks only, never attestations"
    attested = next(c for c in after["controls"] if c["id"] == "CC1.1")["attestation"]
    assert attested["status"] == "compliant" and attested["attested_by"]["key_id"]

    revoked = client.post(
        f"/v1/attestations/{attested['id']}/revoke", json={"reason": "superseded"}, headers=tenant.headers
    )
    assert revoked.status_code == 200
    time.sleep(max(0.0, datetime.fromisoformat(expiring["valid_until"]).timestamp() - time.time()) + 0.2)
    final = {c["id"]: c for c in compliance(client, tenant, demo_scan)["soc2"]["controls"]}
    assert final["CC1.1"]["status"] == "manual" and final["CC1.1"]["attestation"] is None
    assert final["CC1.4"]["status"] == "manual", "an expired attestation stops counting on the next read"


def test_evidence_pack_lists_everything_behind_each_control(client, tenant, demo_scan):
    attest(client, tenant, "iso27001", "A.5.1")
    url = f"/v1/scans/{demo_scan['id']}/compliance/iso27001/report"
    summary = compliance(client, tenant, demo_scan)["iso27001"]

    response = client.get(url, headers=tenant.headers)
    assert response.status_code == 200 and response.mimetype == "application/json"
    pack = response.get_json()
    assert pack["report"]["kind"] == "evidence_pack" and pack["scan"]["id"] == demo_scan["id"]
    assert pack["framework"]["score"] == summary["score"] and pack["framework"]["source"]
    assert [c["id"] for c in pack["controls"]] == [c["id"] for c in summary["controls"]]
    for packed, control in zip(pack["controls"], summary["controls"], strict=True):
        assert packed["status"] == control["status"] and packed["policies"] == control["policies"]
        assert (
            len(packed["failing_resources"]) == packed["failing_resources_total"] == control["failing_resources_total"]
        )
        assert [r["uid"] for r in packed["failing_resources"]][:10] == control["failing_resources"]
        mapped = {p["id"] for p in packed["policies"]}
        assert all(set(r["policies"]) <= mapped for r in packed["failing_resources"])
    a51 = next(c for c in pack["controls"] if c["id"] == "A.5.1")
    assert a51["status"] == "attested" and a51["attestation"]["evidence"]["url"] == "https://grc.example.com/evidence/1"
    assert a51["section"] == "A.5 Organizational controls"

    sheet = client.get(f"{url}?format=csv", headers=tenant.headers)
    assert sheet.mimetype == "text/csv" and "attachment" in sheet.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(sheet.get_data(as_text=True))))
    assert tuple(rows[0]) == CSV_COLUMNS
    for control in pack["controls"]:
        mine = [r for r in rows if r["control_id"] == control["id"]]
        assert len(mine) == max(1, control["failing_resources_total"])
        assert {r["resource_uid"] for r in mine} == ({r["uid"] for r in control["failing_resources"]} or {""})
    assert next(r for r in rows if r["control_id"] == "A.5.1")["attestation_status"] == "compliant"

    html = client.get(f"{url}?format=html", headers=tenant.headers)
    assert html.mimetype == "text/html" and "default-src 'none'" in html.headers["Content-Security-Policy"]
    assert html.get_data(as_text=True).count('class="control"') == 93

    assert_envelope(client.get(f"{url}?format=pdf", headers=tenant.headers), 400, "REQ_001")
    missing = f"/v1/scans/{demo_scan['id']}/compliance/nope/report"
    assert_envelope(client.get(missing, headers=tenant.headers), 404, "REQ_404")
