"""Celery tasks: thin bodies that call into shared/. Ids in, small dicts out."""

from __future__ import annotations

import logging

from celery import chain, chord, shared_task

from shared.context import Services
from shared.scans.finalizer import finalize_scan
from shared.scans.planner import plan_scan
from shared.scans.runner import record_crash, run_shard

log = logging.getLogger(__name__)


def services(task) -> Services:
    return task.app.services


@shared_task(name="scan-plan", bind=True, acks_late=True)
def scan_plan(self, scan_id: str) -> dict:
    """Expand the scan into shards and launch them as a flat chord (a chain when sequential)."""
    svc = services(self)
    try:
        plan = plan_scan(svc, scan_id)
    except Exception as exc:  # a scan that cannot be planned must end, not stay running
        log.exception("scan %s could not be planned", scan_id)
        finalize_scan(svc, scan_id, failure=f"Planning failed: {type(exc).__name__}")
        return {"scan_id": scan_id, "shards": 0, "failed": True}
    if plan is None or not plan.shard_ids:
        finalize_scan(svc, scan_id)
        return {"scan_id": scan_id, "shards": 0}
    if plan.launched:
        return {"scan_id": scan_id, "shards": len(plan.shard_ids), "relaunched": False}
    shards = [self.app.signature("scan-shard", args=(scan_id, shard_id), immutable=True) for shard_id in plan.shard_ids]
    finish = self.app.signature("scan-finalize", args=(scan_id,), immutable=True)
    if plan.parallel:
        chord(shards, app=self.app)(finish)
    else:
        chain(*shards, finish, app=self.app).apply_async()
    return {"scan_id": scan_id, "shards": len(plan.shard_ids)}


# acks_late + reject_on_worker_lost: a shard whose worker dies is redelivered; the shard row's
# attempt counter caps redeliveries so a poison shard fails instead of looping.
@shared_task(name="scan-shard", bind=True, acks_late=True, reject_on_worker_lost=True)
def scan_shard(self, scan_id: str, shard_id: int) -> dict:
    svc = services(self)
    try:
        return run_shard(svc, shard_id)
    except Exception as exc:  # never raise into the chord: the error goes on the shard row
        log.exception("scan %s shard %s crashed", scan_id, shard_id)
        return record_crash(svc, shard_id, exc)


@shared_task(name="scan-finalize", bind=True, acks_late=True)
def scan_finalize(self, scan_id: str) -> dict:
    scan = finalize_scan(services(self), scan_id)
    return {"scan_id": scan_id, "status": scan.status if scan else "unchanged"}
