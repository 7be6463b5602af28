"""API -> Celery chord -> moto -> PostgreSQL -> results, for an estate whose violations we know."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from shared.estates import seed_demo_estate
from shared.models import ScanShard, Violation
from tests.conftest import scan_body, wait_for_scan

pytestmark = pytest.mark.e2e


def test_full_scan_finds_exactly_the_known_violations(client, worker, svc, tenant, make_account, moto):
    expected = seed_demo_estate(moto, regions=("us-east-1", "eu-west-1"))
    make_account(tenant, endpoint_url=moto, regions=("us-east-1", "eu-west-1"))

    response = client.post("/v1/scans", json=scan_body(), headers=tenant.headers)
    assert response.status_code == 202, response.get_json()
    created = response.get_json()
    assert created["status"] == "running" and created["queue_position"] == 0

    scan = wait_for_scan(client, tenant, created["id"])
    assert scan["status"] == "completed", scan
    with svc.db.session() as session:
        found = {
            (v.policy_id, v.resource_name, v.region)
            for v in session.scalars(select(Violation).where(Violation.scan_id == scan["id"]))
        }
        shards = session.scalars(select(ScanShard).where(ScanShard.scan_id == scan["id"])).all()
    assert found == expected
    # One shard per region plus one for the account's global services.
    assert sorted(s.region for s in shards) == ["eu-west-1", "global", "us-east-1"]
    assert scan["results"]["total_violations"] == len(expected)
    assert sum(scan["results"]["violation_breakdown"].values()) == len(expected)
    assert scan["progress"]["percentage"] == 100
    assert scan["progress"]["scanned_resources"] == scan["progress"]["total_resources"] > 0
    assert 0 < scan["results"]["compliance_score"] < 100
    assert scan["results"]["new_violations"] == len(expected)
    assert scan["results"]["previous_score"] is None
    assert scan["remediation"]["manual_required"] == len(expected)
    assert scan["remediation"]["estimated_effort"].endswith("h")
