"""GET /v1/scans/<id>/report in every format, for real scans of a known estate: two completed scans
of one scope (so the second has a trend and a diff) and a cancelled one with partial results."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from dataclasses import dataclass

import boto3
import pytest
from jsonschema import Draft202012Validator
from markupsafe import escape
from sqlalchemy import func, select

from devkit.estates import DEMO_CREDENTIALS, DEMO_POLICIES, seed_demo_estate
from shared.catalog.service import Catalog
from shared.platform.db import utcnow
from shared.reports.csv_report import COLUMNS
from shared.scans.models import Scan, Violation, violation_id
from shared.tenants.apikeys import create_key
from shared.tenants.service import create_tenant
from tests.api.test_auth import assert_envelope
from tests.api.test_stream import make_scan
from tests.conftest import TenantHandle, scan_body, wait_for_scan
from tests.fakes import SlowCloud

pytestmark = pytest.mark.e2e
FRAMEWORKS = ["soc2", "hipaa", "iso27001"]
SLOW_REGIONS = ("us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-central-1")

# The attributes OCSF 1.1 requires of a Compliance Finding (base event, finding, compliance finding,
# the cloud profile) and of the objects it nests, with the enum values we emit. Stricter than the
# schema where 1.x versions differ: product needs both `name` (required from 1.3) and `vendor_name`
# (required before), finding_info both `uid` and `title`.
OCSF_COMPLIANCE_FINDING = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": [
        "activity_id",
        "category_uid",
        "class_uid",
        "type_uid",
        "time",
        "severity_id",
        "metadata",
        "finding_info",
        "compliance",
        "cloud",
    ],
    "properties": {
        "activity_id": {"enum": [1, 2]},
        "category_uid": {"const": 2},
        "class_uid": {"const": 2003},
        "type_uid": {"enum": [200301, 200302]},
        "time": {"type": "integer", "minimum": 1_600_000_000_000},
        "severity_id": {"enum": [0, 1, 2, 3, 4, 5, 6, 99]},
        "severity": {"enum": ["Low", "Medium", "High", "Critical"]},
        "status_id": {"enum": [0, 1, 2, 3, 4, 5, 6, 99]},
        "message": {"type": "string", "minLength": 1},
        "metadata": {
            "type": "object",
            "required": ["version", "product"],
            "properties": {
                "version": {"type": "string", "pattern": r"^1\.\d+\.\d+$"},
                "product": {
                    "type": "object",
                    "required": ["name", "vendor_name"],
                    "properties": {"name": {"type": "string"}, "vendor_name": {"type": "string"}},
                },
            },
        },
        "finding_info": {
            "type": "object",
            "required": ["uid", "title"],
            "properties": {"uid": {"type": "string", "minLength": 1}, "title": {"type": "string", "minLength": 1}},
        },
        "compliance": {
            "type": "object",
            "required": ["standards"],
            "properties": {
                "standards": {"type": "array", "items": {"type": "string"}},
                "requirements": {"type": "array", "items": {"type": "string"}},
                "control": {"type": "string"},
                "status_id": {"enum": [0, 1, 2, 3, 99]},
                "status": {"enum": ["Pass", "Warning", "Fail"]},
            },
        },
        "resources": {
            "type": "array",
            "minItems": 1,
            "items": {"type": "object", "required": ["uid"], "properties": {"uid": {"type": "string"}}},
        },
        "cloud": {
            "type": "object",
            "required": ["provider"],
            "properties": {
                "provider": {"type": "string"},
                "account": {"type": "object", "properties": {"type_id": {"enum": [0, 3, 4, 5, 6, 10, 11, 13, 99]}}},
            },
        },
        "remediation": {"type": "object", "required": ["desc"]},
    },
}


@dataclass
class History:
    tenant: TenantHandle
    first: dict  # a completed scan
    second: dict  # the same scope after one bucket got versioning: a trend of two, one resolved finding
    cancelled: dict  # cancelled while running: partial results


def run_scan(client, tenant: TenantHandle, body: dict) -> dict:
    response = client.post("/v1/scans", json=body, headers=tenant.headers)
    assert response.status_code == 202, response.get_json()
    return wait_for_scan(client, tenant, response.get_json()["id"])


def build_history(app, svc, moto_url: str) -> History:
    """Real scans through the API, the worker and moto: the material of the report tests."""
    import requests

    requests.post(f"{moto_url}/moto-api/reset", timeout=10).raise_for_status()
    seed_demo_estate(moto_url, regions=("us-east-1",))
    with svc.db.session() as session:
        row = create_tenant(session, svc.settings, f"reports-{time.monotonic_ns()}")
        _, key = create_key(session, row)
    tenant = TenantHandle(row.id, row.name, key)
    client = app.test_client()

    def add_account(name: str, environment: str, endpoint: str, regions) -> None:
        body = {
            "provider": "aws",
            "name": name,
            "environment": environment,
            "regions": list(regions),
            "credentials": DEMO_CREDENTIALS,
            "endpoint_url": endpoint,
        }
        assert client.post("/v1/accounts", json=body, headers=tenant.headers).status_code == 201

    add_account("prod-aws", "production", moto_url, ("us-east-1",))
    body = scan_body(name="Quarterly audit", frameworks=FRAMEWORKS, scope={"include_policies": list(DEMO_POLICIES)})
    first = run_scan(client, tenant, body)
    s3 = boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url=moto_url,
        aws_access_key_id=DEMO_CREDENTIALS["access_key_id"],
        aws_secret_access_key=DEMO_CREDENTIALS["secret_access_key"],
    )
    s3.put_bucket_versioning(Bucket="logs-prod", VersioningConfiguration={"Status": "Enabled"})
    second = run_scan(client, tenant, body)

    with SlowCloud(moto_url, delay=0.3) as slow:
        add_account("slow-aws", "staging", slow.url, SLOW_REGIONS)
        slow_body = scan_body(
            name="Staging network scan",
            environment="staging",
            scan_type="policy_specific",
            scope={
                "include_policies": [
                    "pol_ec2_sg_ssh_open",
                    "pol_ec2_sg_rdp_open",
                    "pol_ec2_sg_all_ports_open",
                    "pol_ec2_default_sg_closed",
                ]
            },
            execution={"parallel_execution": False},
        )
        scan_id = client.post("/v1/scans", json=slow_body, headers=tenant.headers).get_json()["id"]
        deadline = time.monotonic() + 60
        while (
            client.get(f"/v1/scans/{scan_id}", headers=tenant.headers).get_json()["progress"]["scanned_resources"] < 1
        ):
            assert time.monotonic() < deadline, "the slow scan made no progress"
            time.sleep(0.05)
        assert client.delete(f"/v1/scans/{scan_id}", headers=tenant.headers).status_code == 200
        while True:  # finalized: its partial results are derived
            with svc.db.session() as session:
                if session.get(Scan, scan_id).results is not None:
                    break
            assert time.monotonic() < deadline, "the cancelled scan was not finalized"
            time.sleep(0.1)
    cancelled = client.get(f"/v1/scans/{scan_id}", headers=tenant.headers).get_json()
    assert (first["status"], second["status"], cancelled["status"]) == ("completed", "completed", "cancelled")
    return History(tenant, first, second, cancelled)


@pytest.fixture(scope="module")
def history(app, svc, worker, moto_server) -> History:
    return build_history(app, svc, moto_server)


def get_report(client, tenant: TenantHandle, scan_id: str, fmt: str | None):
    query = f"?format={fmt}" if fmt else ""
    response = client.get(f"/v1/scans/{scan_id}/report{query}", headers=tenant.headers)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.is_streamed  # large scans are never built as one string
    return response


def violation_count(svc, scan_id: str) -> int:
    with svc.db.session() as session:
        return session.scalar(select(func.count()).select_from(Violation).where(Violation.scan_id == scan_id))


# --- json ------------------------------------------------------------------------------------------


def test_json_report_of_a_completed_scan(client, svc, history):
    scan = history.second
    response = get_report(client, history.tenant, scan["id"], None)  # json is the default
    assert response.content_type == "application/json"
    assert response.headers["Content-Disposition"] == f'inline; filename="policycortex-{scan["id"]}.json"'
    report = response.get_json()
    assert report["report"]["state"] == "completed" and report["report"]["partial"] is False
    details = client.get(f"/v1/scans/{scan['id']}", headers=history.tenant.headers).get_json()
    assert report["scan"] == details  # the same document as the API's
    compliance = client.get(f"/v1/scans/{scan['id']}/compliance", headers=history.tenant.headers).get_json()
    assert report["compliance"] == compliance  # the same scores, not recomputed
    assert [a["name"] for a in report["accounts"]] == ["prod-aws"]

    # The trend: the first scan, then this one.
    assert [(t["scan_id"], t["compliance_score"], t["current"]) for t in report["trend"]] == [
        (history.first["id"], history.first["results"]["compliance_score"], False),
        (scan["id"], scan["results"]["compliance_score"], True),
    ]
    assert scan["results"]["compliance_score"] > history.first["results"]["compliance_score"]
    assert scan["results"]["resolved_violations"] == 1

    violations = report["violations"]
    assert len(violations) == scan["results"]["total_violations"] == violation_count(svc, scan["id"])
    api = client.get(f"/v1/scans/{scan['id']}/violations?limit=500", headers=history.tenant.headers).get_json()
    assert sorted(violations, key=lambda v: v["id"]) == sorted(api["violations"], key=lambda v: v["id"])
    ranks = [("critical", "high", "medium", "low").index(v["severity"]) for v in violations]
    assert ranks == sorted(ranks)  # most severe first
    assert not any(v["resource"]["name"] == "logs-prod" and v["policy_id"] == "pol_s3_versioning" for v in violations)


def test_json_report_of_a_cancelled_scan_says_it_is_partial(client, svc, history):
    scan = history.cancelled
    report = get_report(client, history.tenant, scan["id"], "json").get_json()
    assert report["report"] == {**report["report"], "state": "cancelled", "partial": True}
    assert report["compliance"]["partial"] is True
    assert report["scan"]["status_reason"] == "Cancelled by request"
    assert len(report["violations"]) == violation_count(svc, scan["id"]) == scan["results"]["total_violations"] >= 1
    assert [t["scan_id"] for t in report["trend"]] == [scan["id"]]  # another scope: no history


# --- csv -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["second", "cancelled"])
def test_csv_report(client, svc, history, which):
    scan = getattr(history, which)
    response = get_report(client, history.tenant, scan["id"], "csv")
    assert response.content_type == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == f'attachment; filename="policycortex-{scan["id"]}.csv"'
    text = response.get_data(as_text=True)
    assert text.endswith("\r\n")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == COLUMNS
    assert len(rows) == violation_count(svc, scan["id"]) == scan["results"]["total_violations"]
    assert {row["scan_state"] for row in rows} == {"completed" if which == "second" else "cancelled"}
    api = client.get(f"/v1/scans/{scan['id']}/violations?limit=500", headers=history.tenant.headers).get_json()
    by_id = {v["id"]: v for v in api["violations"]}
    for row in rows:
        violation = by_id[row["violation_id"]]
        assert row["status_extended"] == violation["status_extended"]
        assert row["resource_uid"] == violation["resource"]["uid"]
        assert row["remediation"] == violation["remediation"]["text"]
        assert row["account_name"] == ("prod-aws" if which == "second" else "slow-aws")
    ssh = next(row for row in rows if row["policy_id"] == "pol_ec2_sg_ssh_open")
    assert "soc2 CC6.1 CC6.6" in ssh["frameworks"].split("; ")


# --- ocsf ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["second", "cancelled"])
def test_ocsf_report_validates_against_the_compliance_finding_schema(client, svc, history, which):
    scan = getattr(history, which)
    response = get_report(client, history.tenant, scan["id"], "ocsf")
    assert response.content_type == "application/json"
    assert response.headers["Content-Disposition"] == f'attachment; filename="policycortex-{scan["id"]}.ocsf.json"'
    findings = json.loads(response.get_data(as_text=True))
    assert len(findings) == violation_count(svc, scan["id"]) >= 1
    validator = Draft202012Validator(OCSF_COMPLIANCE_FINDING)
    for finding in findings:
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(finding)]
        assert not errors, errors
        assert finding["type_uid"] == finding["class_uid"] * 100 + finding["activity_id"]
        assert finding["metadata"]["correlation_uid"] == scan["id"]
        assert finding["compliance"]["status_id"] == 3 and finding["cloud"]["provider"] == "AWS"
        assert finding["unmapped"]["scan_state"] == ("completed" if which == "second" else "cancelled")
    with svc.db.session() as session:
        violations = session.scalars(select(Violation).where(Violation.scan_id == scan["id"]))
        rows = {violation_id(v.scan_id, v.fingerprint): v for v in violations}
    for finding in findings:
        row = rows[finding["metadata"]["uid"]]
        assert finding["finding_info"]["uid"] == row.fingerprint  # stable across scans of the scope
        assert finding["activity_id"] == (1 if row.is_new else 2)
        assert finding["severity_id"] == {"low": 2, "medium": 3, "high": 4, "critical": 5}[row.severity]
        assert finding["resources"][0]["uid"] == row.resource_uid
        assert finding["message"] == row.status_extended
    if which == "second":
        # Carried over from the first scan: an Update of the same finding, with its controls.
        assert {f["activity_id"] for f in findings} == {2}
        ssh = next(f for f in findings if f["compliance"]["control"] == "pol_ec2_sg_ssh_open")
        assert "SOC 2" in ssh["compliance"]["standards"] and "SOC 2 CC6.6" in ssh["compliance"]["requirements"]
        assert ssh["cloud"]["account"]["name"] == "prod-aws" and ssh["remediation"]["desc"]


# --- html ------------------------------------------------------------------------------------------


def test_html_report_of_a_completed_scan(client, history):
    scan = history.second
    response = get_report(client, history.tenant, scan["id"], "html")
    assert response.content_type == "text/html; charset=utf-8"
    assert response.headers["Content-Disposition"] == f'inline; filename="policycortex-{scan["id"]}.html"'
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    page = response.get_data(as_text=True)
    assert 'id="status-banner"' not in page
    assert f'<div class="value" id="score">{scan["results"]["compliance_score"]}</div>' in page
    assert page.count('class="trend-point"') == 2 and "<polyline" in page
    for framework in ("SOC 2", "HIPAA Security Rule", "ISO/IEC 27001"):
        assert f"<td><strong>{framework}</strong>" in page and f"<h3>{framework}" in page  # summary, appendix
    assert page.count('<tr class="violation">') == scan["results"]["total_violations"]
    for policy_id in DEMO_POLICIES:  # each policy's remediation, once
        assert page.count(f'<section class="policy" id="policy-{policy_id}">') == 1
        assert str(escape(Catalog.builtin().policies[policy_id].remediation_text)) in page
    assert "<script" not in page
    assert all(url.startswith("data:") for url in re.findall(r'(?:src|href)="([^"]*)"', page))  # self-contained


def test_html_report_of_a_cancelled_scan_has_a_banner(client, history):
    scan = history.cancelled
    page = get_report(client, history.tenant, scan["id"], "html").get_data(as_text=True)
    assert '<div class="banner banner-cancelled" id="status-banner" role="alert">' in page
    assert "Cancelled: the scan was stopped before it finished" in page
    assert "<p>Cancelled by request</p>" in page
    scanned = scan["progress"]["scanned_resources"]
    assert f"<p>{scanned} of {scan['progress']['total_resources']} resources were checked.</p>" in page
    assert page.count('<tr class="violation">') == scan["results"]["total_violations"]


# --- refusals and tenant isolation ------------------------------------------------------------------


def test_bad_requests_are_envelopes(client, svc, history, make_tenant):
    url = f"/v1/scans/{history.second['id']}/report"
    headers = history.tenant.headers
    body = assert_envelope(client.get(f"{url}?format=pdf", headers=headers), 400, "REQ_001")
    assert body["details"] == [{"field": "format", "message": "Must be one of: csv, html, json, ocsf."}]
    body = assert_envelope(client.get(f"{url}?fmt=csv", headers=headers), 400, "REQ_001")
    assert body["details"][0]["field"] == "fmt"
    assert_envelope(client.get(url), 401, "AUTH_001")
    assert_envelope(client.get(url, headers=make_tenant(scopes=("write",)).headers), 403, "AUTH_002")
    assert_envelope(client.get(url, headers=make_tenant().headers), 404, "REQ_404")  # another tenant's scan
    assert_envelope(client.get("/v1/scans/scan_0000000000000000/report", headers=headers), 404, "REQ_404")


@pytest.mark.parametrize("status", ["pending", "running"])
def test_a_scan_still_running_has_no_report_yet(client, svc, tenant, status):
    scan_id = make_scan(svc, tenant, status=status, started=status == "running")
    body = assert_envelope(
        client.get(f"/v1/scans/{scan_id}/report?format=html", headers=tenant.headers), 409, "REQ_409"
    )
    assert body["error_description"] == f"Scan {scan_id} is {status}; its report is available once it ends"


# --- hostile names: escaped in HTML, defused in CSV --------------------------------------------------


def test_resource_names_are_escaped_and_defused(client, svc, tenant):
    results = {
        "compliance_score": 50.0,
        "previous_score": None,
        "total_violations": 1,
        "new_violations": 1,
        "resolved_violations": 0,
        "violation_breakdown": {"critical": 0, "high": 1, "medium": 0, "low": 0},
        "errors": [
            {"code": "AccessDenied", "message": "<b>denied</b>", "resource_type": "aws.s3.bucket", "region": "x"}
        ],
    }
    scan_id = make_scan(svc, tenant, status="completed", completed_at=utcnow(), results=results)
    hostile = '<img src=x onerror="alert(1)">'
    with svc.db.session() as session:
        session.add(
            Violation(
                scan_id=scan_id,
                shard_id=0,
                fingerprint="f" * 40,
                policy_id="pol_s3_versioning",
                severity="high",
                provider="aws",
                account_id="acc_0000000000000000",
                region="us-east-1",
                resource_type="aws.s3.bucket",
                resource_uid='=HYPERLINK("http://evil.example")',
                resource_name=hostile,
                status_extended=f"S3 bucket {hostile} has versioning disabled",
                effort_minutes=15,
                is_new=True,
            )
        )
    page = get_report(client, tenant, scan_id, "html").get_data(as_text=True)
    assert hostile not in page and "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page
    assert "<b>denied</b>" not in page and "&lt;b&gt;denied&lt;/b&gt;" in page
    assert 'id="status-banner"' in page and "Partial results" in page  # completed, but with errors

    rows = list(csv.DictReader(io.StringIO(get_report(client, tenant, scan_id, "csv").get_data(as_text=True))))
    assert rows[0]["resource_uid"] == '\'=HYPERLINK("http://evil.example")'  # not a formula in a spreadsheet
    assert rows[0]["resource_name"] == hostile and rows[0]["scan_state"] == "partial"
    report = get_report(client, tenant, scan_id, "json").get_json()
    assert report["report"]["state"] == "partial" and report["violations"][0]["resource"]["name"] == hostile


@pytest.mark.parametrize("fmt", ["json", "csv", "ocsf", "html"])
def test_scans_that_never_ran_or_failed_still_have_a_report(client, svc, tenant, fmt):
    """A scan cancelled while queued has no results at all; a failed one has no score."""
    queued = make_scan(svc, tenant, status="cancelled", started=False, status_reason="Cancelled by request")
    failed_results = {
        "compliance_score": None,
        "total_violations": 0,
        "violation_breakdown": {"critical": 0, "high": 0, "medium": 0, "low": 0},
        "errors": [{"code": "EndpointConnectionError", "message": "unreachable", "resource_type": None, "region": "x"}],
    }
    failed = make_scan(
        svc, tenant, status="failed", status_reason="All 1 shards failed", completed_at=utcnow(), results=failed_results
    )
    for scan_id, state in ((queued, "cancelled"), (failed, "failed")):
        body = get_report(client, tenant, scan_id, fmt).get_data(as_text=True)
        if fmt == "json":
            report = json.loads(body)
            assert report["report"]["state"] == state and report["violations"] == []
            assert [point["scan_id"] for point in report["trend"]] == [scan_id]
        elif fmt == "csv":
            assert body == ",".join(COLUMNS) + "\r\n"
        elif fmt == "ocsf":
            assert json.loads(body) == []
        else:
            assert f'<div class="banner banner-{state}" id="status-banner" role="alert">' in body
            assert "No scan of this scope has a score yet." in body and '<p class="muted">No violations.</p>' in body
