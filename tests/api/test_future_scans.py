"""Future scans: `execution.immediate: false` with `start_at` waits as pending outside the queue,
starts at its time through the same admission, and can be cancelled before (issue 16)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from shared.platform.db import utcnow
from shared.scans.models import Scan
from shared.scans.service import start_due
from tests.api.test_auth import assert_envelope
from tests.conftest import scan_body, wait_for_scan


def later(**delta) -> str:
    return (utcnow() + timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_future_scan_waits_then_starts_at_its_time(client, worker, svc, tenant, make_account, moto):
    make_account(tenant, endpoint_url=moto, regions=("us-east-1",))
    start_at = later(hours=2)
    body = scan_body(execution={"immediate": False, "start_at": start_at})
    created = client.post("/v1/scans", headers=tenant.headers, json=body)
    assert created.status_code == 202, created.get_json()
    scan = created.get_json()
    assert scan["status"] == "pending" and scan["scheduled_for"] == start_at and scan["queue_position"] == 0
    assert start_due(svc) == []  # not yet
    fetched = client.get(f"/v1/scans/{scan['id']}", headers=tenant.headers).get_json()
    assert fetched["status"] == "pending" and fetched["execution"]["start_at"] == start_at
    # Its time comes (moved, rather than waiting two hours).
    with svc.db.session() as session:
        session.execute(update(Scan).where(Scan.id == scan["id"]).values(scheduled_for=utcnow() - timedelta(seconds=1)))
    assert start_due(svc) == [scan["id"]]
    assert wait_for_scan(client, tenant, scan["id"])["status"] == "completed"


def test_a_future_scan_can_be_cancelled_before_it_starts(client, svc, tenant, make_account, moto):
    make_account(tenant, endpoint_url=moto)
    scan = client.post(
        "/v1/scans", headers=tenant.headers, json=scan_body(execution={"immediate": False, "start_at": later(days=1)})
    ).get_json()
    cancelled = client.delete(f"/v1/scans/{scan['id']}", headers=tenant.headers)
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    assert start_due(svc) == []


def test_future_scans_do_not_hold_queue_slots(client, tenant, make_tenant, make_account, moto):
    small = make_tenant(max_concurrent=1, max_queued=0)
    make_account(small, endpoint_url=moto)
    for _ in range(3):  # beyond the queue's size: they are not in it yet
        future = scan_body(execution={"immediate": False, "start_at": later(hours=1)})
        assert client.post("/v1/scans", headers=small.headers, json=future).status_code == 202
    assert client.post("/v1/scans", headers=small.headers, json=scan_body()).get_json()["status"] == "running"


@pytest.mark.parametrize(
    "execution,message",
    [
        ({"immediate": False}, "needs start_at"),
        ({"immediate": False, "start_at": "2001-01-01T00:00:00Z"}, "in the future"),
        ({"immediate": False, "start_at": "2999-01-01T00:00:00Z"}, "within a year"),
        ({"immediate": True, "start_at": "2999-01-01T00:00:00Z"}, "needs immediate: false"),
        ({"immediate": False, "start_at": "tomorrow"}, "Not a valid datetime"),
    ],
)
def test_bad_start_times_are_400(client, tenant, execution, message):
    response = client.post("/v1/scans", headers=tenant.headers, json=scan_body(execution=execution))
    detail = assert_envelope(response, 400, "SCAN_001")["details"][0]
    assert detail["field"] == "execution.start_at" and message in detail["message"]
