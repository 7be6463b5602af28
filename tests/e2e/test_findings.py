"""Findings across scans and mute rules, end to end: API -> Celery -> PostgreSQL, on uploaded
inventories (two accounts, two regions, tagged and untagged buckets) judged by one custom policy."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from shared.scans import mutes
from tests.conftest import scan_body, wait_for_scan

pytestmark = pytest.mark.e2e

VERSIONING = {
    "id": "pol_acme_bucket_versioning",
    "title": "Buckets keep object versions",
    "provider": "aws",
    "resource_type": "aws.s3.bucket",
    "severity": "high",
    "description": "Every bucket keeps object versions.",
    "fails_when": {"key": "Versioning.Status", "ne": "Enabled"},
    "status_extended": {"pass": "Bucket {name} keeps versions.", "fail": "Bucket {name} does not keep versions."},
    "remediation": {"text": "Enable versioning.", "effort": "15m"},
}


def bucket(name: str, *, versioned: bool, region: str = "us-east-1", tags: dict | None = None) -> dict:
    document = {"Name": name, "Versioning": {"Status": "Enabled" if versioned else "Suspended"}}
    if tags:
        document["Tags"] = [{"Key": key, "Value": value} for key, value in tags.items()]
    return {"type": "aws.s3.bucket", "id": name, "region": region, "document": document}


class Estate:
    def __init__(self, client, tenant):
        self.client, self.tenant = client, tenant
        created = client.post("/v1/policies", headers=tenant.headers, json=VERSIONING)
        assert created.status_code == 201, created.get_json()
        self.accounts = [self._account(name) for name in ("prod-inventory", "dev-inventory")]

    def _account(self, name: str) -> str:
        body = {"provider": "aws", "name": name, "environment": "production", "collection": "inventory"}
        response = self.client.post("/v1/accounts", headers=self.tenant.headers, json=body)
        assert response.status_code == 201, response.get_json()
        return response.get_json()["id"]

    def push(self, account: int, *resources: dict) -> None:
        response = self.client.post(
            f"/v1/accounts/{self.accounts[account]}/inventory",
            headers=self.tenant.headers,
            json={"resources": list(resources), "mode": "replace"},
        )
        assert response.status_code == 202, response.get_json()

    def scan(self) -> dict:
        body = scan_body(frameworks=[], scan_type="policy_specific", scope={"include_policies": [VERSIONING["id"]]})
        created = self.client.post("/v1/scans", headers=self.tenant.headers, json=body)
        assert created.status_code == 202, created.get_json()
        scan = wait_for_scan(self.client, self.tenant, created.get_json()["id"])
        assert scan["status"] == "completed", scan
        return scan

    def get(self, path: str, status: int = 200) -> dict:
        response = self.client.get(path, headers=self.tenant.headers)
        assert response.status_code == status, response.get_json()
        return response.get_json()

    def findings(self, **filters) -> dict[str, dict]:
        query = "&".join(f"{key}={value}" for key, value in filters.items())
        return {f["resource"]["name"]: f for f in self.get(f"/v1/findings?{query}")["findings"]}

    def mute(self, status: int = 201, **rule) -> dict:
        response = self.client.post("/v1/mute-rules", headers=self.tenant.headers, json={"reason": "accepted", **rule})
        assert response.status_code == status, response.get_json()
        return response.get_json()

    def disable(self, rule_id: str) -> dict:
        response = self.client.post(f"/v1/mute-rules/{rule_id}/disable", headers=self.tenant.headers)
        assert response.status_code == 200, response.get_json()
        return response.get_json()


@pytest.fixture()
def estate(client, worker, tenant) -> Estate:
    return Estate(client, tenant)


def test_a_finding_is_opened_resolved_and_reopened_across_three_scans(estate):
    estate.push(0, bucket("logs", versioned=False), bucket("backups", versioned=True))
    first = estate.scan()
    opened = estate.findings()["logs"]
    assert set(estate.findings()) == {"logs"}
    assert opened["status"] == "open" and opened["first_scan_id"] == first["id"] and opened["resolved_at"] is None
    violation = estate.get(f"/v1/scans/{first['id']}/violations")["violations"][0]
    assert violation["finding_id"] == opened["id"] and violation["muted"] is None

    estate.push(0, bucket("logs", versioned=True), bucket("backups", versioned=True))
    second = estate.scan()
    resolved = estate.get(f"/v1/findings/{opened['id']}")
    assert resolved["status"] == "resolved" and resolved["resolved_at"]
    assert estate.findings(status="open") == {}

    estate.push(0, bucket("logs", versioned=False), bucket("backups", versioned=True))
    third = estate.scan()
    reopened = estate.get(f"/v1/findings/{opened['id']}")
    assert reopened["id"] == opened["id"]  # one finding: the same (account, resource, policy)
    assert reopened["status"] == "open" and reopened["resolved_at"] is None
    assert reopened["first_seen_at"] == opened["first_seen_at"] and reopened["last_scan_id"] == third["id"]
    assert [(e["status"], e["scan_id"]) for e in reopened["history"]] == [
        ("open", first["id"]),
        ("resolved", second["id"]),
        ("open", third["id"]),
    ]
    assert [s["scan_id"] for s in reopened["scans"]] == [third["id"], first["id"]]
    # The upload that turned versioning off again is the change that reopened it.
    introduced = reopened["introduced_by"]
    assert introduced["version"] == 3 and introduced["history"].startswith("/v1/resources/res_")
    history = estate.get(introduced["history"])
    assert history["versions"][0]["version"] == 3


def test_a_resource_that_is_gone_resolves_its_findings_and_a_failed_shard_resolves_nothing(estate):
    estate.push(0, bucket("tmp", versioned=False))
    estate.scan()
    estate.push(0, bucket("other", versioned=True))  # replace: tmp is gone
    estate.scan()
    assert estate.findings()["tmp"]["status"] == "resolved"


def test_mute_rules_match_each_selector_and_leave_the_score(estate):
    estate.push(
        0,
        bucket("prod-logs", versioned=False, tags={"env": "production"}),
        bucket("prod-tmp", versioned=False, region="eu-west-1", tags={"env": "sandbox-1"}),
        bucket("prod-ok", versioned=True),
    )
    estate.push(1, bucket("dev-logs", versioned=False))
    scan = estate.scan()
    assert scan["results"]["total_violations"] == 3 and scan["results"]["muted_violations"] == 0
    assert scan["results"]["compliance_score"] == 25.0  # 1 of 4 checks passed

    selectors = {
        "policy_ids": ({"policy_ids": [VERSIONING["id"]]}, {"prod-logs", "prod-tmp", "dev-logs"}),
        "account_ids": ({"account_ids": [estate.accounts[1]]}, {"dev-logs"}),
        "regions": ({"regions": ["eu-west-1"]}, {"prod-tmp"}),
        "resources": ({"resources": ["*-logs"]}, {"prod-logs", "dev-logs"}),
        "tags": ({"tags": {"env": "sandbox*"}}, {"prod-tmp"}),
        "all together": (
            {"account_ids": [estate.accounts[0]], "resources": ["prod-*"], "tags": {"env": "prod*"}},
            {"prod-logs"},
        ),
    }
    for label, (selector, muted) in selectors.items():
        rule = estate.mute(**selector)
        assert rule["state"] == "active" and rule["created_by"]["key_id"], label
        assert rule["applied"] == {"findings_changed": len(muted), "scans_recounted": [scan["id"]]}, label
        assert set(estate.findings(status="muted")) == muted, label
        assert {f["muted"]["rule_id"] for f in estate.findings(status="muted").values()} == {rule["id"]}, label
        details = estate.get(f"/v1/scans/{scan['id']}")["results"]
        assert details["muted_violations"] == len(muted) and details["total_violations"] == 3 - len(muted), label
        listed = estate.get(f"/v1/scans/{scan['id']}/violations")
        assert listed["pagination"]["total"] == 3 - len(muted), label
        shown = estate.get(f"/v1/scans/{scan['id']}/violations?muted=true")["violations"]
        assert {v["resource"]["name"] for v in shown} == muted, label
        estate.disable(rule["id"])
        assert estate.findings(status="muted") == {}, label
        assert estate.get(f"/v1/scans/{scan['id']}")["results"]["total_violations"] == 3, label

    # Muted checks weigh nothing: with dev-logs accepted, 1 of 3 checks passed.
    estate.mute(resources=["dev-logs"])
    assert estate.get(f"/v1/scans/{scan['id']}")["results"]["compliance_score"] == 33.3


def test_a_new_scan_applies_the_rules_in_force(estate):
    estate.push(0, bucket("legacy", versioned=False), bucket("current", versioned=False))
    rule = estate.mute(resources=["legacy"])
    scan = estate.scan()
    assert scan["results"]["total_violations"] == 1 and scan["results"]["muted_violations"] == 1
    legacy = estate.findings()["legacy"]
    assert legacy["status"] == "muted" and legacy["muted"] == {"rule_id": rule["id"]}
    report = estate.client.get(f"/v1/scans/{scan['id']}/report?format=ocsf", headers=estate.tenant.headers)
    statuses = {finding["resources"][0]["name"]: finding["status"] for finding in report.get_json()}
    assert statuses == {"legacy": "Suppressed", "current": "New"}
    left_out = estate.client.get(
        f"/v1/scans/{scan['id']}/report?format=csv&muted=exclude", headers=estate.tenant.headers
    )
    assert "legacy" not in left_out.get_data(True) and "current" in left_out.get_data(True)


def test_an_expired_rule_stops_muting_and_its_changes_are_kept(estate, svc):
    estate.push(0, bucket("scratch", versioned=False))
    scan = estate.scan()
    expires = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    rule = estate.mute(resources=["scratch"], expires_at=expires, name="scratch until cleanup")
    assert estate.findings()["scratch"]["status"] == "muted"
    changed = estate.client.patch(
        f"/v1/mute-rules/{rule['id']}", headers=estate.tenant.headers, json={"reason": "cleanup planned for Friday"}
    )
    assert changed.status_code == 200 and changed.get_json()["reason"] == "cleanup planned for Friday"
    time.sleep(2.2)
    assert mutes.expire_due(svc)["expired"] == [rule["id"]]
    assert estate.findings()["scratch"]["status"] == "open"
    assert estate.get(f"/v1/scans/{scan['id']}")["results"]["total_violations"] == 1
    kept = estate.get(f"/v1/mute-rules/{rule['id']}")
    assert kept["state"] == "expired"
    assert [change["action"] for change in kept["history"]] == ["created", "updated", "expired"]
    assert kept["history"][1]["rule"]["reason"] == "cleanup planned for Friday"
    history = estate.get(f"/v1/findings/{estate.findings()['scratch']['id']}")["history"]
    assert [e["status"] for e in history] == ["open", "muted", "open"]
    assert history[-1]["mute_rule_id"] == rule["id"] and "no longer covers" in history[-1]["reason"]


def test_bad_rules_are_400_and_other_tenants_objects_are_404(estate, make_tenant):
    estate.push(0, bucket("x", versioned=False))
    estate.scan()
    for body, field in (
        ({"reason": "no selector"}, "policy_ids"),
        ({"reason": "r", "policy_ids": ["pol_does_not_exist"]}, "policy_ids"),
        ({"reason": "r", "account_ids": ["acc_0000000000000000"]}, "account_ids"),
        ({"reason": "r", "resources": ["[a-z]*"]}, "resources[0]"),
        ({"reason": "r", "regions": ["us-east-1"], "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
        ({"reason": "", "regions": ["us-east-1"]}, "reason"),
        ({"reason": "r", "tags": {"env": 3}}, "tags.env.value"),
    ):
        response = estate.client.post("/v1/mute-rules", headers=estate.tenant.headers, json=body)
        assert response.status_code == 400, (body, response.get_json())
        assert field in {d["field"] for d in response.get_json()["details"]}, (body, response.get_json())
    other = make_tenant()
    finding = next(iter(estate.findings().values()))
    rule = estate.mute(regions=["us-east-1"])
    for path in (f"/v1/findings/{finding['id']}", f"/v1/mute-rules/{rule['id']}"):
        assert estate.client.get(path, headers=other.headers).status_code == 404
    assert estate.client.post(f"/v1/mute-rules/{rule['id']}/disable", headers=other.headers).status_code == 404
    assert estate.client.get("/v1/findings", headers=other.headers).get_json()["findings"] == []
    assert estate.client.get("/v1/findings?cursor=cur_forged", headers=estate.tenant.headers).status_code == 400
    assert estate.client.get("/v1/findings?control=CC6.1", headers=estate.tenant.headers).status_code == 400


def test_findings_filters_and_keyset_pages(estate):
    estate.push(
        0, *(bucket(f"b{i:02d}", versioned=False, region="us-east-1" if i % 2 else "eu-west-1") for i in range(7))
    )
    scan = estate.scan()
    seen, cursor = [], None
    while True:
        page = estate.get("/v1/findings?limit=3" + (f"&cursor={cursor}" if cursor else ""))
        seen += [f["resource"]["name"] for f in page["findings"]]
        cursor = page["pagination"]["next_cursor"]
        if not page["pagination"]["has_more"]:
            break
    assert sorted(seen) == [f"b{i:02d}" for i in range(7)] and len(seen) == len(set(seen))
    assert set(estate.findings(region="eu-west-1")) == {"b00", "b02", "b04", "b06"}
    assert set(estate.findings(resource="b0[13]")) == set()  # globs are * and ?, brackets are literal
    assert set(estate.findings(resource="b0?", severity="high", provider="aws", policy=VERSIONING["id"])) == {
        f"b{i:02d}" for i in range(7)
    }
    assert estate.findings(severity="low") == {}
    assert (
        estate.findings(first_seen_after=(datetime.now(UTC) + timedelta(hours=1)).isoformat().replace("+", "%2B")) == {}
    )
    assert (
        len(estate.findings(first_seen_before=(datetime.now(UTC) + timedelta(hours=1)).isoformat().replace("+", "%2B")))
        == 7
    )
    assert estate.findings(account_id=estate.accounts[1]) == {}
    assert scan["results"]["total_violations"] == 7


def test_removing_an_account_resolves_its_findings(estate):
    estate.push(1, bucket("old-dev", versioned=False))
    estate.scan()
    finding = estate.findings()["old-dev"]
    removed = estate.client.delete(f"/v1/accounts/{estate.accounts[1]}", headers=estate.tenant.headers)
    assert removed.status_code == 204
    closed = estate.get(f"/v1/findings/{finding['id']}")
    assert closed["status"] == "resolved" and "was removed" in closed["history"][-1]["reason"]
