"""policycortex_client against a running stack: the real app on a threaded HTTP server (for
requests and the WebSocket stream), the real worker, PostgreSQL, Redis and moto."""

from __future__ import annotations

import json

import pytest
from policycortex_client.client import Client
from policycortex_client.errors import Conflict, InvalidRequest, NotFound, StreamNotFound, Unauthorized

from devkit.estates import seed_demo_estate
from tests.api.test_inventory import bucket
from tests.api.test_schedules import REFERENCE
from tests.api.test_stream import NO_VIOLATIONS, make_scan, serve, stream_enabled_app
from tests.conftest import provision

pytestmark = pytest.mark.e2e
REGIONS = ("us-east-1", "eu-west-1")


@pytest.fixture(scope="module")
def api_url(settings, celery_app):
    with serve(stream_enabled_app(settings, celery_app)) as url:
        yield url


@pytest.fixture()
def pc(api_url, tenant) -> Client:
    with Client(api_url, tenant.key, timeout=30) as client:
        yield client


def test_trigger_watch_violations_findings_report(pc, worker, tenant, make_account, moto, tmp_path):
    seed_demo_estate(moto, regions=REGIONS)
    make_account(tenant, endpoint_url=moto, regions=REGIONS)
    created = pc.scans.trigger(
        name="client network scan",
        scan_type="policy_specific",
        environment="production",
        cloud_providers=["aws"],
        frameworks=["soc2"],
        scope={"include_policies": ["pol_network"]},
    )
    assert created["id"].startswith("scan_") and created["monitoring"]["websocket_url"].endswith("/stream")

    seen: list[dict] = []
    final = pc.scans.watch(created["id"], callback=seen.append)
    assert final["status"] == "completed" and final == pc.scans.get(created["id"])
    kinds = [message["type"] for message in seen]
    assert kinds[0] == "snapshot" and kinds[-1] == "completed"
    assert "progress" in kinds or seen[0]["scan"]["status"] == "completed"  # a fast scan may end first
    assert seen[-1]["results"]["total_violations"] == final["results"]["total_violations"] > 0

    # Violations a page of one at a time, following next_cursor: every one, once.
    violations = list(pc.scans.violations(created["id"], limit=1))
    assert len(violations) == final["results"]["total_violations"]
    assert len({v["id"] for v in violations}) == len(violations)
    high = list(pc.scans.violations(created["id"], severity="high", limit=2))
    assert {v["severity"] for v in high} <= {"high"} and len(high) == final["results"]["violation_breakdown"]["high"]
    assert pc.scans.compliance(created["id"])["frameworks"][0]["id"] == "soc2"

    # Findings: the cursor iterator and one finding's details.
    findings = list(pc.findings.list(limit=1))
    assert {v["finding_id"] for v in violations} <= {f["id"] for f in findings}
    detail = pc.findings.get(violations[0]["finding_id"])
    assert detail["policy_id"] == violations[0]["policy_id"] and created["id"] in {
        s["scan_id"] for s in detail["scans"]
    }
    with pytest.raises(NotFound):
        pc.findings.get("fnd_0000000000000000")

    # A finished scan cannot be cancelled.
    with pytest.raises(Conflict) as refused:
        pc.scans.cancel(created["id"])
    assert (refused.value.status, refused.value.error_code) == (409, "SCAN_003")
    assert refused.value.body["status"] == "completed"

    # The report, in memory and streamed to a file.
    report = json.loads(pc.scans.report(created["id"]))
    assert report["scan"]["id"] == created["id"] and len(report["violations"]) == len(violations)
    target = tmp_path / "report.csv"
    size = pc.scans.report(created["id"], "csv", path=target)
    assert size == target.stat().st_size > 0
    assert target.read_bytes() == pc.reports.get(created["id"], "csv")
    with pytest.raises(InvalidRequest) as bad_format:
        pc.reports.save(created["id"], tmp_path / "report.pdf", "pdf")  # type: ignore[arg-type]
    assert "format" in bad_format.value.field_messages() and not (tmp_path / "report.pdf").exists()


def test_list_scans_across_pages(pc, svc, tenant):
    results = {"compliance_score": 100.0, "total_violations": 0, "violation_breakdown": NO_VIOLATIONS}
    made = {make_scan(svc, tenant, status="completed", results=results) for _ in range(3)}
    first = pc.scans.page(limit=2)
    assert first["pagination"] == {"total": 3, "limit": 2, "offset": 0, "has_more": True}
    listed = [scan["id"] for scan in pc.scans.list(limit=1)]
    assert sorted(listed) == sorted(made)
    assert [scan["id"] for scan in pc.scans.list(limit=2, offset=1)] == listed[1:]
    assert list(pc.scans.list(status="running")) == []


def test_errors_are_typed(pc, api_url, svc, tenant, make_tenant):
    with pytest.raises(InvalidRequest) as bad_body:
        pc.scans.trigger({"name": "x", "environment": "production"})
    assert (bad_body.value.status, bad_body.value.error_code) == (400, "SCAN_001")
    assert bad_body.value.field_messages()["cloud_providers"] == "Missing data for required field."

    theirs = make_scan(svc, make_tenant(), status="completed")
    with pytest.raises(NotFound) as unknown:
        pc.scans.get(theirs)
    assert unknown.value.error_code == "REQ_404" and theirs in unknown.value.description
    with pytest.raises(StreamNotFound) as unseen:  # also a NotFound
        pc.scans.watch(theirs)
    assert unseen.value.close_code == 4404 and unseen.value.error_code == "WS_4404"

    with pytest.raises(Unauthorized) as bad_key:
        list(Client(api_url, "sk_live_" + "0" * 48).scans.list())
    assert bad_key.value.error_code == "AUTH_001"


def test_watch_a_finished_scan_returns_at_once(pc, svc, tenant):
    results = {"compliance_score": 90.0, "total_violations": 0, "violation_breakdown": NO_VIOLATIONS}
    scan_id = make_scan(svc, tenant, status="completed", results=results)
    seen: list[dict] = []
    assert pc.scans.watch(scan_id, seen.append)["status"] == "completed"
    assert seen[0]["type"] == "snapshot" and seen[0]["scan"]["status"] == "completed"


def test_schedules(pc, client, tenant):
    provision(client, tenant, REFERENCE)  # the accounts and channels the reference example names
    created = pc.schedules.create(REFERENCE)
    assert created["webhook"]["secret"]  # shown this once
    other = pc.schedules.create({**REFERENCE, "name": "Paused nightly"}, enabled=False)
    assert [s["id"] for s in pc.schedules.list(enabled=True, limit=1)] == [created["id"]]
    assert sorted(s["id"] for s in pc.schedules.list(limit=1)) == sorted([created["id"], other["id"]])
    assert pc.schedules.get(created["id"])["schedule"] == {"cron": "0 6 * * 0", "timezone": "UTC"}
    updated = pc.schedules.update(created["id"], schedule={"cron": "0 7 * * 1", "timezone": "UTC"})
    assert updated["schedule"]["cron"] == "0 7 * * 1"
    fired = pc.schedules.fire_webhook(created["id"], created["webhook"]["secret"], b"{}")
    assert fired["run"] is None or fired["run"]["trigger"] == "webhook"
    assert pc.schedules.delete(other["id"]) is None
    with pytest.raises(NotFound):
        pc.schedules.get(other["id"])


def test_accounts_and_inventory(pc, tenant, moto):
    from devkit.estates import DEMO_CREDENTIALS

    account = pc.accounts.create(
        provider="aws",
        name="client-aws",
        environment="production",
        regions=["us-east-1"],
        credentials=DEMO_CREDENTIALS,
        endpoint_url=moto,
    )
    assert account["has_credentials"] is True and "credentials" not in account
    with pytest.raises(Conflict):
        pc.accounts.create(provider="aws", name="client-aws", environment="production", credentials=DEMO_CREDENTIALS)
    datacenter = pc.accounts.create(provider="hybrid", name="datacenter", environment="staging")
    assert [a["name"] for a in pc.accounts.list(limit=1)] == ["client-aws", "datacenter"]
    assert [a["id"] for a in pc.accounts.list(environment="staging")] == [datacenter["id"]]
    verified = pc.accounts.verify(account["id"])
    assert verified["verified"] is True and verified["checks"][0]["ok"] is True

    pushed = pc.accounts.push_inventory(datacenter["id"], [bucket("vault-a", encrypted=True)])
    assert (pushed["received"], pushed["stored"], pushed["mode"]) == (1, 1, "replace")
    assert pc.accounts.get(datacenter["id"])["inventory_pushed_at"] == pushed["pushed_at"]
    assert pc.accounts.delete(datacenter["id"]) is None


def test_mute_rules(pc):
    rule = pc.mute_rules.create(name="accepted risk", reason="Reviewed", policy_ids=["pol_s3_versioning"])
    assert rule["state"] == "active" and [r["id"] for r in pc.mute_rules.list(limit=1)] == [rule["id"]]
    assert pc.mute_rules.update(rule["id"], reason="Reviewed again")["reason"] == "Reviewed again"
    assert pc.mute_rules.disable(rule["id"], "no longer accepted")["state"] == "disabled"
    assert pc.mute_rules.get(rule["id"])["enabled"] is False
