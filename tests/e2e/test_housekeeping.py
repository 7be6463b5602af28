"""Scans whose tasks were lost are finalized, resumed, or failed with a reason by `scans-reap`:
none stays `running` forever."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from devkit.estates import DEMO_POLICIES, seed_demo_estate
from shared.platform.db import utcnow
from shared.scans.housekeeping import FINALIZE_GRACE, MAX_RESUMES
from shared.scans.models import Scan, ScanShard
from tests.conftest import scan_body, wait_for_scan

pytestmark = pytest.mark.e2e
LONG_AGO = timedelta(hours=2)


def finished_scan(client, tenant, make_account, moto) -> dict:
    seed_demo_estate(moto, regions=("us-east-1",))
    make_account(tenant, endpoint_url=moto, regions=("us-east-1",))
    body = scan_body(scope={"include_policies": list(DEMO_POLICIES)})
    scan = wait_for_scan(client, tenant, client.post("/v1/scans", json=body, headers=tenant.headers).json["id"])
    assert scan["status"] == "completed"
    return scan


def rewind(svc, scan_id: str, *, lost_shards: int, ago: timedelta = LONG_AGO) -> None:
    """As if a worker died: the scan still `running`, `lost_shards` shards never finished, and
    nothing has moved for `ago` (two hours)."""
    past = utcnow() - ago
    with svc.db.session() as session:
        session.execute(
            update(Scan)
            .where(Scan.id == scan_id)
            .values(status="running", results=None, completed_at=None, started_at=past - timedelta(minutes=5))
        )
        shards = session.scalars(select(ScanShard).where(ScanShard.scan_id == scan_id).order_by(ScanShard.id)).all()
        for index, shard in enumerate(shards):
            lost = index < lost_shards
            shard.status = "running" if lost else shard.status
            shard.started_at, shard.completed_at = past, None if lost else past


def reap(celery_app) -> dict:
    return celery_app.send_task("scans-reap").get(timeout=60)


def test_lost_shards_run_again_and_the_scan_completes_the_same(
    client, worker, svc, celery_app, tenant, make_account, moto
):
    first = finished_scan(client, tenant, make_account, moto)
    rewind(svc, first["id"], lost_shards=1)
    assert reap(celery_app)["resumed"] == [first["id"]]
    again = wait_for_scan(client, tenant, first["id"])
    assert again["status"] == "completed"
    assert again["results"]["violation_breakdown"] == first["results"]["violation_breakdown"]
    assert again["progress"]["scanned_resources"] == first["progress"]["scanned_resources"]


def test_a_lost_finalize_is_run(client, worker, svc, celery_app, tenant, make_account, moto):
    first = finished_scan(client, tenant, make_account, moto)
    rewind(svc, first["id"], lost_shards=0)
    assert reap(celery_app)["resumed"] == []
    assert client.get(f"/v1/scans/{first['id']}", headers=tenant.headers).json["status"] == "completed"


def test_a_finalize_lost_minutes_ago_is_run_without_waiting_for_the_stale_limit(
    client, worker, svc, celery_app, tenant, make_account, moto
):
    """A Redis restart loses the chord that runs finalize after the last shard: the scan is finalized
    FINALIZE_GRACE after its shards ended, not a shard's hard time limit later."""
    recent = finished_scan(client, tenant, make_account, moto)
    body = scan_body(scope={"include_policies": list(DEMO_POLICIES)})
    lost = wait_for_scan(client, tenant, client.post("/v1/scans", json=body, headers=tenant.headers).json["id"])
    rewind(svc, recent["id"], lost_shards=0, ago=FINALIZE_GRACE - timedelta(seconds=30))  # may still come
    rewind(svc, lost["id"], lost_shards=0, ago=FINALIZE_GRACE + timedelta(seconds=30))
    assert FINALIZE_GRACE + timedelta(seconds=30) < timedelta(seconds=svc.settings.shard_time_limit + 300)
    assert reap(celery_app)["resumed"] == []
    assert client.get(f"/v1/scans/{lost['id']}", headers=tenant.headers).json["status"] == "completed"
    assert client.get(f"/v1/scans/{recent['id']}", headers=tenant.headers).json["status"] == "running"


def test_a_scan_that_keeps_losing_its_shards_fails_with_a_reason(
    client, worker, svc, celery_app, tenant, make_account, moto
):
    first = finished_scan(client, tenant, make_account, moto)
    rewind(svc, first["id"], lost_shards=1)
    svc.redis.set(f"pc:scan:{first['id']}:resumes", MAX_RESUMES)
    reap(celery_app)
    failed = client.get(f"/v1/scans/{first['id']}", headers=tenant.headers).json
    assert failed["status"] == "failed"
    assert failed["status_reason"].startswith("No progress for") and "partial results kept" in failed["status_reason"]


def test_a_scan_with_recent_shard_activity_is_left_alone(client, worker, svc, celery_app, tenant, make_account, moto):
    first = finished_scan(client, tenant, make_account, moto)
    rewind(svc, first["id"], lost_shards=1)
    with svc.db.session() as session:  # started long ago, but a shard just moved: it is alive
        session.execute(update(ScanShard).where(ScanShard.scan_id == first["id"]).values(started_at=utcnow()))
    assert first["id"] not in reap(celery_app)["resumed"]
    with svc.db.session() as session:
        assert session.get(Scan, first["id"]).status == "running"
