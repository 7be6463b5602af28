"""Housekeeping for scans whose tasks were lost (a worker died with them, Redis lost its queues):
no scan stays `running` forever, and no tenant's queue stays stuck behind one."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from shared.platform.context import Services
from shared.platform.db import utcnow
from shared.scans.finalizer import finalize_scan
from shared.scans.models import Scan, ScanShard
from shared.scans.progress import LEASE_SECONDS, lease_holders
from shared.scans.runner import FINISHED
from shared.scans.service import promote_pending

log = logging.getLogger(__name__)
MAX_RESUMES = 2
# Finalize runs seconds after a scan's last shard; a scan whose shards all ended this long ago lost
# its finalize (the chord's counter went with a Redis restart) and is finalized from PostgreSQL.
FINALIZE_GRACE = timedelta(minutes=2)


@dataclass(frozen=True)
class Resume:
    """Unfinished shards to launch again (with a finalize after them); none means: plan again."""

    scan_id: str
    shard_ids: list[int]
    parallel: bool


def _resumes(svc: Services, scan_id: str) -> int:
    key = f"pc:scan:{scan_id}:resumes"
    count = svc.redis.incr(key)
    svc.redis.expire(key, 7 * 24 * 3600)
    return count


def reap_stuck_scans(
    svc: Services, *, stale_after: timedelta | None = None, now: datetime | None = None
) -> list[Resume]:
    """Scans `running` whose shards all ended FINALIZE_GRACE ago are finalized (their finalize was
    lost). Scans with a running shard whose lease lapsed (its whole worker died), or without any
    shard activity for `stale_after` (by default longer than a shard's hard time limit, for shards
    lost before they started), have their unfinished shards (or lost plan) handed back to be
    launched again at most MAX_RESUMES times; after that the scan fails with the reason. A shard
    launched twice runs once: a delivery meeting a live lease leaves it be. Returns what to relaunch."""
    now = now or utcnow()
    stale_after = stale_after or timedelta(seconds=svc.settings.shard_time_limit + 300)
    with svc.db.session() as session:
        candidates = session.scalars(
            select(Scan).where(
                Scan.status == "running",
                Scan.started_at < now - min(stale_after, FINALIZE_GRACE, timedelta(seconds=LEASE_SECONDS)),
            )
        ).all()
        shards_of = {scan.id: [] for scan in candidates}
        for shard in session.scalars(select(ScanShard).where(ScanShard.scan_id.in_(list(shards_of)))):
            shards_of[shard.scan_id].append(shard)
    running = [s.id for shards in shards_of.values() for s in shards if s.status == "running"]
    holders = lease_holders(svc.redis, running) if running else {}
    relaunch = []
    for scan in candidates:
        shards = shards_of[scan.id]
        moments = [scan.started_at] + [m for s in shards for m in (s.started_at, s.completed_at) if m]
        quiet = now - max(moments)
        unfinished = [s.id for s in shards if s.status not in FINISHED]
        # A running shard whose lease lapsed lost its worker: no need to wait for the stale limit.
        lapsed = now - timedelta(seconds=LEASE_SECONDS)
        orphaned = [
            s.id for s in shards if s.status == "running" and holders.get(s.id) is None and s.started_at < lapsed
        ]
        if shards and not unfinished:
            if quiet >= FINALIZE_GRACE:
                log.warning("scan %s: every shard ended but the scan was never finalized; finalizing", scan.id)
                finalize_scan(svc, scan.id)
        elif quiet < stale_after and not orphaned:
            continue
        elif _resumes(svc, scan.id) <= MAX_RESUMES:
            why = f"{len(orphaned)} shard(s) lost their worker" if orphaned else f"no progress for {stale_after}"
            log.warning("scan %s: %s; launching %d unfinished shard(s) again", scan.id, why, len(unfinished))
            relaunch.append(Resume(scan.id, unfinished, bool(scan.execution.get("parallel_execution", True))))
        else:
            reason = (
                f"No progress for {int(stale_after.total_seconds())} s after {MAX_RESUMES} resumes: "
                f"{len(unfinished) or 'the plan of'} shard(s) lost; partial results kept"
            )
            with svc.db.session() as session:
                session.execute(
                    update(ScanShard).where(ScanShard.id.in_(unfinished)).values(status="failed", completed_at=now)
                )
            finalize_scan(svc, scan.id, failure=reason)
    with svc.db.session() as session:
        tenants = set(session.scalars(select(Scan.tenant_id).where(Scan.status == "pending").distinct()))
    for tenant_id in tenants:  # a promotion lost with a finalize: free slots take queued scans
        promote_pending(svc, tenant_id)
    return relaunch
