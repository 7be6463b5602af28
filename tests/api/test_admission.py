"""Admission control: max_concurrent running scans per tenant, a bounded FIFO queue, 429 beyond."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import select
from werkzeug.serving import make_server

from shared.scans.models import Scan
from tests.api.test_auth import assert_envelope
from tests.conftest import scan_body, wait_for_scan
from tests.fakes import SlowCloud

pytestmark = pytest.mark.e2e


@pytest.fixture()
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def network_scan(**overrides) -> dict:
    return scan_body(scan_type="policy_specific", scope={"include_policies": ["pol_network"]}, **overrides)


def test_queue_positions_cancel_of_pending_and_fifo_start(client, worker, svc, make_tenant, make_account, moto):
    tenant = make_tenant(max_concurrent=1, max_queued=5)
    with SlowCloud(moto, delay=0.3) as slow:
        make_account(tenant, endpoint_url=slow.url, regions=("us-east-1", "us-west-2"))
        first, second, third = (
            client.post("/v1/scans", json=network_scan(name=name), headers=tenant.headers).get_json()
            for name in ("first", "second", "third")
        )
        assert (first["status"], first["queue_position"]) == ("running", 0)
        assert (second["status"], second["queue_position"]) == ("pending", 1)
        assert (third["status"], third["queue_position"]) == ("pending", 2)

        cancelled = client.delete(f"/v1/scans/{second['id']}", headers=tenant.headers).get_json()
        assert cancelled["status"] == "cancelled"
        assert cancelled["partial_results"] == {
            "resources_scanned": 0,
            "total_resources": second["estimated_resources"],  # nothing of the estimate was done
            "completion_percentage": 0,
            "violations_found": 0,
            "data_available": False,
        }
        assert client.get(f"/v1/scans/{third['id']}", headers=tenant.headers).get_json()["queue_position"] == 1

        assert wait_for_scan(client, tenant, first["id"])["status"] == "completed"
        done = wait_for_scan(client, tenant, third["id"])
    assert done["status"] == "completed"
    with svc.db.session() as session:
        rows = {s.name: s for s in session.scalars(select(Scan).where(Scan.tenant_id == tenant.id))}
    assert rows["third"].started_at >= rows["first"].completed_at
    assert rows["second"].started_at is None and rows["second"].status == "cancelled"


def test_full_queue_is_429_with_retry_after(client, worker, make_tenant, make_account, moto):
    tenant = make_tenant(max_concurrent=1, max_queued=1)
    with SlowCloud(moto, delay=0.3) as slow:
        make_account(tenant, endpoint_url=slow.url, regions=("us-east-1", "us-west-2"))
        running = client.post("/v1/scans", json=network_scan(), headers=tenant.headers).get_json()
        queued = client.post("/v1/scans", json=network_scan(), headers=tenant.headers).get_json()
        assert (running["status"], queued["status"]) == ("running", "pending")
        response = client.post("/v1/scans", json=network_scan(), headers=tenant.headers)
        body = assert_envelope(response, 429, "SCAN_002")
        assert body["error"] == "scan_limit_exceeded"
        assert body["error_description"] == "Maximum concurrent scans exceeded"
        assert body["current_scans"] == 1 and body["max_concurrent"] == 1 and body["queue_position"] == 1
        assert body["estimated_wait_time"].endswith("m") and body["retry_after"] > 0
        assert response.headers["Retry-After"] == str(body["retry_after"])
        for scan in (running, queued):
            wait_for_scan(client, tenant, scan["id"])


def test_fifty_concurrent_posts_never_exceed_max_concurrent(
    live_server, worker, svc, make_tenant, make_account, client, moto
):
    tenant = make_tenant(max_concurrent=3, max_queued=100)
    make_account(tenant, endpoint_url=moto, regions=("us-east-1",))

    def trigger(index: int) -> requests.Response:
        return requests.post(
            f"{live_server}/v1/scans", json=network_scan(name=f"burst-{index}"), headers=tenant.headers, timeout=60
        )

    with ThreadPoolExecutor(50) as pool:
        responses = list(pool.map(trigger, range(50)))
    assert [r.status_code for r in responses] == [202] * 50
    started_now = [r.json() for r in responses if r.json()["status"] == "running"]
    assert 1 <= len(started_now) <= 3
    for response in responses:
        wait_for_scan(client, tenant, response.json()["id"], timeout=180)
    with svc.db.session() as session:
        intervals = session.execute(select(Scan.started_at, Scan.completed_at).where(Scan.tenant_id == tenant.id)).all()
    assert len(intervals) == 50 and all(start and end for start, end in intervals)
    events = sorted(
        [(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals],
        key=lambda event: (event[0], event[1]),
    )
    running = peak = 0
    for _, change in events:
        running += change
        peak = max(peak, running)
    assert peak <= 3
