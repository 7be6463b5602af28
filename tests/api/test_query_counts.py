"""No N+1 on the read path: the SQL statements a request runs do not grow with the page size, for
GET /v1/scans, GET /v1/scans/<id> and GET /v1/scans/<id>/violations."""

from __future__ import annotations

import threading
from collections import Counter
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, insert

from shared.catalog.service import Catalog
from shared.platform.db import new_id, utcnow
from shared.scans.models import Scan, Violation

SEVERITIES = ("critical", "high", "medium", "low")


@contextmanager
def statements(engine):
    """The SQL statements this thread runs (the test worker's threads share the engine)."""
    seen: list[str] = []
    thread = threading.get_ident()

    def record(conn, cursor, statement, parameters, context, executemany):
        if threading.get_ident() == thread:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


@pytest.fixture()
def history(svc, tenant):
    """120 scans of the tenant (the newest still running, with live counts in Redis) and 600
    violations on the newest finished one, as finalize leaves them."""
    policies = sorted(Catalog.builtin().policies.values(), key=lambda p: p.id)[:40]
    now = utcnow()
    rows = []
    for number in range(120):
        status = "running" if number == 119 else "completed"
        rows.append(
            {
                "id": new_id("scan"),
                "tenant_id": tenant.id,
                "name": f"scan {number}",
                "scan_type": "full",
                "status": status,
                "environment": "production",
                "cloud_providers": ["aws"],
                "frameworks": ["soc2"],
                "policy_ids": [p.id for p in policies],
                "account_ids": [],
                "scope": {},
                "execution": {},
                "notifications": {},
                "scope_key": "k",
                "created_at": now - timedelta(hours=120 - number),
                # The running one started just now: housekeeping must not take it for a lost scan.
                "started_at": now if status == "running" else now - timedelta(hours=120 - number),
                "completed_at": now - timedelta(hours=120 - number, minutes=-5) if status == "completed" else None,
                "shards_total": 2,
                "results": None,
            }
        )
    violations = [
        {
            "scan_id": rows[-2]["id"],
            "shard_id": 1,
            "fingerprint": f"{index:040d}",
            "policy_id": policies[index % len(policies)].id,
            "severity": policies[index % len(policies)].severity,
            "provider": "aws",
            "account_id": "acc_x",
            "region": "us-east-1",
            "resource_type": policies[index % len(policies)].resource_type,
            "resource_uid": f"arn:aws:s3:::bucket-{index}",
            "resource_name": f"bucket-{index}",
            "status_extended": f"bucket-{index} fails",
            "effort_minutes": 30,
            "is_new": index % 3 == 0,
        }
        for index in range(600)
    ]
    breakdown = Counter(v["severity"] for v in violations)
    for row in rows[:-1]:
        count = 600 if row is rows[-2] else 0
        row["results"] = {
            "compliance_score": 90.0,
            "previous_score": None,
            "total_violations": count,
            "new_violations": sum(bool(v["is_new"]) for v in violations) if count else 0,
            "resolved_violations": 0,
            "violation_breakdown": {s: breakdown[s] if count else 0 for s in SEVERITIES},
            "errors": [],
        }
    with svc.db.session() as session:
        session.execute(insert(Scan), rows)
        session.execute(insert(Violation), violations)
    svc.redis.hset(f"pc:scan:{rows[-1]['id']}:progress", mapping={"scanned": 10, "shards_done": 1, "critical": 2})
    return {"running": rows[-1]["id"], "finished": rows[-2]["id"], "breakdown": breakdown, "violations": violations}


def count_statements(client, svc, tenant, path: str) -> tuple[int, dict]:
    client.get("/v1/scans?limit=1", headers=tenant.headers)  # the key's last_used_at is fresh: no UPDATE below
    with statements(svc.db.engine) as seen:
        response = client.get(path, headers=tenant.headers)
    assert response.status_code == 200, response.get_json()
    return len(seen), response.get_json()


def test_listing_scans_runs_the_same_few_statements_for_any_page_size(client, svc, tenant, history):
    small, one = count_statements(client, svc, tenant, "/v1/scans?limit=1")
    large, hundred = count_statements(client, svc, tenant, "/v1/scans?limit=100&offset=10")
    assert len(one["scans"]) == 1 and len(hundred["scans"]) == 100
    assert (
        one["scans"][0]["id"] == history["running"] and one["scans"][0]["results_summary"]["critical_violations"] == 2
    )
    assert hundred["pagination"] == {"total": 120, "limit": 100, "offset": 10, "has_more": True}
    assert small == large <= 3  # key, count, page (live counts come from one Redis round trip)


def test_scan_details_run_two_statements(client, svc, tenant, history):
    for scan_id in (history["running"], history["finished"]):
        count, body = count_statements(client, svc, tenant, f"/v1/scans/{scan_id}")
        assert body["id"] == scan_id
        assert count <= 2  # key, scan


@pytest.mark.parametrize(
    "filters, counted",
    [
        ("", False),
        ("severity=high&", False),
        ("new=true&", False),
        ("framework=soc2&", True),
        ("severity=high&new=true&", True),
        ("resource=bucket-1*&", True),
    ],
)
def test_violation_pages_run_the_same_few_statements_for_any_page_size(client, svc, tenant, history, filters, counted):
    url = f"/v1/scans/{history['finished']}/violations?{filters}"
    small, one = count_statements(client, svc, tenant, f"{url}limit=1")
    large, page = count_statements(client, svc, tenant, f"{url}limit=500")
    expected = [v for v in history["violations"] if _matches(v, filters)]
    assert one["pagination"]["total"] == page["pagination"]["total"] == len(expected)
    assert len(page["violations"]) == min(500, len(expected))
    assert all(v["frameworks"] for v in page["violations"])
    # key, scan, the tenant's custom policies and frameworks, the page, and a count unless the
    # finalized scan's results already hold the total; a count is made once, then kept in Redis.
    assert (small, large) == (5 + counted, 5)


def _matches(violation: dict, filters: str) -> bool:
    checks = {
        "severity=high": violation["severity"] == "high",
        "new=true": violation["is_new"],
        "framework=soc2": bool(Catalog.builtin().mappings(violation["policy_id"]).get("soc2")),
        "resource=bucket-1*": violation["resource_name"].startswith("bucket-1"),
    }
    return all(checks[f] for f in filters.split("&") if f)
