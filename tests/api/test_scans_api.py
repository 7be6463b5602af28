"""/v1/scans: validation, listing with filters and pagination, details, and the error envelope."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.platform.db import utcnow
from shared.scans.models import Scan
from tests.api.test_auth import assert_envelope
from tests.conftest import scan_body


@pytest.fixture()
def account(tenant, make_account):
    return make_account(tenant, endpoint_url="http://127.0.0.1:9", regions=("us-east-1",))


def insert_scan(svc, tenant, **values) -> Scan:
    """A finished scan row as finalize leaves it, for listing tests that need many statuses."""
    now = utcnow()
    defaults = dict(
        tenant_id=tenant.id,
        name="Nightly",
        scan_type="full",
        status="completed",
        environment="production",
        cloud_providers=["aws"],
        frameworks=["soc2"],
        policy_ids=["pol_s3_versioning"],
        account_ids=[],
        scope={},
        execution={},
        notifications={},
        scope_key="k",
        created_at=now,
        started_at=now,
        completed_at=now + timedelta(minutes=45, seconds=32),
        resources_scanned=15432,
        total_resources=15432,
        compliance_score=94.7,
        total_violations=127,
        results={
            "compliance_score": 94.7,
            "previous_score": 93.2,
            "total_violations": 127,
            "new_violations": 15,
            "resolved_violations": 23,
            "errors": [],
            "violation_breakdown": {"critical": 8, "high": 23, "medium": 54, "low": 42},
            "remediation": {"auto_remediated": 45, "manual_required": 82, "estimated_effort": "14.5h"},
        },
    )
    defaults.update(values)
    with svc.db.session() as session:
        scan = Scan(**defaults)
        session.add(scan)
    return scan


def test_details_match_the_reference_shape(client, svc, tenant):
    scan = insert_scan(svc, tenant, name="Production Full Compliance Scan")
    body = client.get(f"/v1/scans/{scan.id}", headers=tenant.headers).get_json()
    assert body["id"] == scan.id and body["duration"] == "45m32s"
    assert body["progress"] == {
        "total_resources": 15432,
        "scanned_resources": 15432,
        "percentage": 100,
        "basis": "shards",
        "total_is_estimate": False,
    }
    assert body["results"] == {
        "compliance_score": 94.7,
        "previous_score": 93.2,
        "total_violations": 127,
        "muted_violations": 0,
        "new_violations": 15,
        "resolved_violations": 23,
        "violation_breakdown": {"critical": 8, "high": 23, "medium": 54, "low": 42},
        "errors": [],
        "carried_forward": 0,
    }
    assert body["remediation"] == {
        "auto_remediated": 45,
        "manual_required": 82,
        "estimated_effort": "14.5h",
        "failed_actions": 0,
        "mode": "off",
    }
    for field in ("started_at", "completed_at", "created_at"):
        assert body[field].endswith("Z") and len(body[field]) == 20


def test_list_items_match_the_reference_shape(client, svc, tenant):
    scan = insert_scan(svc, tenant)
    item = client.get("/v1/scans", headers=tenant.headers).get_json()["scans"][0]
    assert item["id"] == scan.id
    assert item["results_summary"] == {
        "compliance_score": 94.7,
        "total_violations": 127,
        "critical_violations": 8,
        "high_violations": 23,
        "resources_scanned": 15432,
    }
    assert set(item) >= {
        "id",
        "name",
        "scan_type",
        "status",
        "environment",
        "cloud_providers",
        "frameworks",
        "started_at",
        "completed_at",
        "duration",
        "results_summary",
    }


def test_list_filters_and_pagination(client, svc, tenant):
    base = utcnow() - timedelta(days=10)
    for index in range(5):
        insert_scan(svc, tenant, created_at=base + timedelta(days=index), name=f"c{index}")
    insert_scan(svc, tenant, status="failed", created_at=base, results=None, completed_at=None)
    insert_scan(svc, tenant, environment="staging", scan_type="policy_specific", created_at=base)

    def get(query: str) -> dict:
        response = client.get(f"/v1/scans?{query}", headers=tenant.headers)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    page = get("limit=2&status=completed&environment=production&scan_type=full")
    assert [s["name"] for s in page["scans"]] == ["c4", "c3"]  # newest first
    assert page["pagination"] == {"total": 5, "limit": 2, "offset": 0, "has_more": True}
    last = get("limit=2&offset=4&status=completed&environment=production")
    assert [s["name"] for s in last["scans"]] == ["c0"] and last["pagination"]["has_more"] is False
    assert get("status=failed")["pagination"]["total"] == 1
    assert get("environment=staging&scan_type=policy_specific")["pagination"]["total"] == 1
    after = (base + timedelta(days=2, hours=12)).strftime("%Y-%m-%dT%H:%M:%SZ")
    before = (base + timedelta(days=3, hours=12)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert [s["name"] for s in get(f"created_after={after}&created_before={before}")["scans"]] == ["c3"]


@pytest.mark.parametrize(
    "query,field",
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("offset=-1", "offset"),
        ("status=done", "status"),
        ("scan_type=quick", "scan_type"),
        ("created_after=yesterday", "created_after"),
        ("created_after=0369-10-11T02:32:33-05:00", "created_after"),
        ("created_before=2026-01-01T00:00:00%2B22:44", "created_before"),
        ("sort=name", "sort"),
    ],
)
def test_bad_list_query_is_400(client, tenant, query, field):
    body = assert_envelope(client.get(f"/v1/scans?{query}", headers=tenant.headers), 400, "REQ_001")
    assert [d["field"] for d in body["details"]] == [field]


def post(client, tenant, body):
    return client.post("/v1/scans", json=body, headers=tenant.headers)


def test_reference_error_example(client, tenant, account):
    body = assert_envelope(post(client, tenant, scan_body(cloud_providers=[])), 400, "SCAN_001")
    assert body["error"] == "invalid_scan_config"
    assert body["error_description"] == "Scan configuration validation failed"
    assert body["details"] == [{"field": "cloud_providers", "message": "At least one cloud provider must be specified"}]


@pytest.mark.parametrize(
    "overrides,field",
    [
        ({"cloud_providers": ["oracle"]}, "cloud_providers[0]"),
        ({"cloud_providers": ["aws", "aws"]}, "cloud_providers"),
        ({"scan_type": "quick"}, "scan_type"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"environment": None}, "environment"),
        ({"frameworks": ["pci"]}, "frameworks"),
        ({"scope": {"include_policies": ["pol_nope"]}}, "scope.include_policies"),
        ({"scan_type": "policy_specific"}, "scope.include_policies"),
        ({"scan_type": "resource_specific"}, "scope.include_resources"),
        ({"execution": {"timeout": "soon"}}, "execution.timeout"),
        ({"execution": {"timeout": "5s"}}, "execution.timeout"),
        ({"execution": {"timeout": "48h"}}, "execution.timeout"),
        ({"execution": {"immediate": False}}, "execution.start_at"),  # a future scan needs its start time
        ({"notifications": {"channels": ["pager"]}}, "notifications.channels[0]"),
        ({"scope": {"include_resources": "arn:aws:s3:::*"}}, "scope.include_resources"),
        ({"priority": "high"}, "priority"),
        ({"environment": "staging"}, "cloud_providers"),  # no account in that environment
        ({"cloud_providers": ["aws", "azure"]}, "cloud_providers"),  # no azure account
    ],
)
def test_invalid_scan_is_400_naming_the_field(client, tenant, account, overrides, field):
    body = assert_envelope(post(client, tenant, scan_body(**overrides)), 400, "SCAN_001")
    assert field in [d["field"] for d in body["details"]], body["details"]


def test_every_bad_field_gets_its_own_detail(client, tenant, account):
    body = scan_body(scan_type="quick", cloud_providers=[], execution={"timeout": "x"})
    del body["name"]
    details = assert_envelope(post(client, tenant, body), 400, "SCAN_001")["details"]
    assert sorted(d["field"] for d in details) == ["cloud_providers", "execution.timeout", "name", "scan_type"]


@pytest.mark.parametrize("payload", ["[1, 2]", '"text"', "42"])
def test_body_must_be_an_object(client, tenant, payload):
    response = client.post("/v1/scans", data=payload, headers={**tenant.headers, "Content-Type": "application/json"})
    assert_envelope(response, 400, "SCAN_001")


def test_malformed_json_is_400(client, tenant):
    response = client.post(
        "/v1/scans", data="{not json", headers={**tenant.headers, "Content-Type": "application/json"}
    )
    assert_envelope(response, 400, "REQ_001")


def test_wrong_content_type_is_415(client, tenant):
    response = client.post("/v1/scans", data="name=x", headers={**tenant.headers, "Content-Type": "text/plain"})
    assert_envelope(response, 415, "REQ_415")


def test_oversized_body_is_413(client, tenant, svc):
    huge = '{"name": "' + "x" * (svc.settings.max_content_length + 10) + '"}'
    response = client.post("/v1/scans", data=huge, headers={**tenant.headers, "Content-Type": "application/json"})
    assert_envelope(response, 413, "REQ_413")


def test_unknown_route_and_wrong_method_get_the_envelope(client, tenant):
    assert_envelope(client.get("/v1/nothing-here", headers=tenant.headers), 404, "REQ_404")
    assert_envelope(client.get("/nothing-here"), 404, "REQ_404")
    response = client.put("/v1/scans", headers=tenant.headers, json={})
    assert_envelope(response, 405, "REQ_405")
    assert "POST" in response.headers["Allow"]


def test_unknown_scan_is_404(client, tenant):
    assert_envelope(client.get("/v1/scans/scan_ffffffffffffffff", headers=tenant.headers), 404, "REQ_404")
    assert_envelope(client.delete("/v1/scans/scan_ffffffffffffffff", headers=tenant.headers), 404, "REQ_404")


def test_cancelling_a_finished_scan_is_409(client, svc, tenant):
    scan = insert_scan(svc, tenant)
    body = assert_envelope(client.delete(f"/v1/scans/{scan.id}", headers=tenant.headers), 409, "SCAN_003")
    assert body["status"] == "completed"


def test_trigger_answer_matches_the_reference_shape(client, tenant, account, worker):
    response = post(client, tenant, scan_body(name="Emergency Security Audit"))
    assert response.status_code == 202
    body = response.get_json()
    assert list(body) == [
        "id",
        "name",
        "scan_type",
        "status",
        "environment",
        "created_at",
        "estimated_duration",
        "estimated_resources",
        "queue_position",
        "monitoring",
        # ours, after the reference's fields
        "estimate_basis",
        "scheduled_for",
    ]
    assert body["estimate_basis"] == "heuristic" and body["scheduled_for"] is None  # a first scan, no inventory
    assert body["estimated_resources"] == 50  # one AWS region at the heuristic's 50 resources
    assert body["monitoring"] == {
        "progress_url": f"http://localhost/v1/scans/{body['id']}",
        "websocket_url": f"ws://localhost/v1/scans/{body['id']}/stream",
    }


def test_nul_characters_are_refused_at_the_edge(client, tenant):
    for response in (
        client.get("/v1/scans?environment=prod%00", headers=tenant.headers),
        client.get("/v1/scans/scan_%00", headers=tenant.headers),
        client.post("/v1/scans", headers=tenant.headers, data='{"name": "a\\u0000b"}', content_type="application/json"),
    ):
        body = assert_envelope(response, 400, "REQ_001")
        assert body["details"] == [{"field": "request", "message": "NUL characters are not allowed"}]
