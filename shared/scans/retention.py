"""Retention: the violations of scans that ended more than POLICYCORTEX_RETENTION_DAYS ago are
deleted in small batches; the scans, their summaries and each scope's latest scan stay."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.orm import aliased

from shared.platform.context import Services
from shared.platform.db import utcnow
from shared.remediation.models import RemediationAttempt
from shared.scans.models import Scan, Violation
from shared.scans.schemas import TERMINAL_STATUSES

log = logging.getLogger(__name__)
# A scan superseded more recently than this may still be the baseline of a running incremental
# scan (execution.timeout is at most 24 h), so its verdicts are kept a little longer.
BASELINE_GRACE = timedelta(days=2)


def _mark_expired(svc: Services, cutoff: datetime, now: datetime) -> int:
    """Mark every scan whose violations expire: ended before the cutoff, and not the latest
    completed scan of its scope (the one the next scan's diff and incremental baseline read)."""
    later = aliased(Scan)
    superseded = exists().where(
        later.tenant_id == Scan.tenant_id,
        later.scope_key == Scan.scope_key,
        later.status == "completed",
        later.completed_at > Scan.completed_at,
        later.completed_at < now - BASELINE_GRACE,
    )
    ended = func.coalesce(Scan.completed_at, Scan.cancelled_at, Scan.created_at)
    with svc.db.session() as session:
        return session.execute(
            update(Scan)
            .where(
                Scan.violations_purged_at.is_(None),
                Scan.status.in_(TERMINAL_STATUSES),
                ended < cutoff,
                (Scan.status != "completed") | superseded,
            )
            .values(violations_purged_at=now)
        ).rowcount


def purge_expired_violations(
    svc: Services, *, retention_days: int | None = None, batch_size: int | None = None, now: datetime | None = None
) -> dict:
    """Mark the scans whose violations expired (their violation list answers 410 from then on),
    then delete those violations `batch_size` rows per transaction, so no lock is held for long
    and a run cut short is finished by the next one. Returns what was done."""
    retention_days = svc.settings.retention_days if retention_days is None else retention_days
    batch_size = batch_size or svc.settings.retention_batch_size
    if retention_days == 0:
        return {"scans_marked": 0, "violations_deleted": 0, "batches": 0}
    now = now or utcnow()
    marked = _mark_expired(svc, now - timedelta(days=retention_days), now)
    # A violation that was remediated automatically stays: its attempt is the audit record of a
    # change we made to the tenant's cloud, and /remediations shows it with its violation.
    purgeable = ~exists().where(
        RemediationAttempt.scan_id == Violation.scan_id, RemediationAttempt.violation_id == Violation.id
    )
    with svc.db.session() as session:
        pending = session.scalars(
            select(Scan.id)
            .where(Scan.violations_purged_at.is_not(None), exists().where(Violation.scan_id == Scan.id, purgeable))
            .order_by(Scan.violations_purged_at, Scan.id)
        ).all()
    deleted = batches = 0
    for scan_id in pending:
        while True:
            with svc.db.session() as session:
                batch = select(Violation.id).where(Violation.scan_id == scan_id, purgeable).limit(batch_size)
                count = session.execute(delete(Violation).where(Violation.id.in_(batch.scalar_subquery()))).rowcount
            deleted += count
            batches += 1
            if count < batch_size:
                break
    if marked or deleted:
        log.info("retention: %d scan(s) expired, %d violation(s) deleted in %d batch(es)", marked, deleted, batches)
    return {"scans_marked": marked, "violations_deleted": deleted, "batches": batches}
