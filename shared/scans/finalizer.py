"""Finish a scan from what PostgreSQL holds: score, breakdown, diff against the previous scan of
the same scope, remediation summary, final status and duration."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text

from shared.catalog.service import catalog_for
from shared.findings.lifecycle import record_findings
from shared.platform.context import Services
from shared.platform.db import utcnow
from shared.platform.durations import format_duration
from shared.scans.models import Scan, ScanShard
from shared.scans.mutes import mute_scan
from shared.scans.notify import notify_scan_finished
from shared.scans.progress import ScanProgress, estimate_total, running_percentage, work_done
from shared.scans.remediate import remediate_scan
from shared.scans.runner import FINISHED
from shared.scans.service import promote_pending
from shared.scans.summary import counted, scan_stats


def _previous(session, scan: Scan) -> Scan | None:
    return session.scalar(
        select(Scan)
        .where(
            Scan.tenant_id == scan.tenant_id,
            Scan.scope_key == scan.scope_key,
            Scan.status == "completed",
            Scan.id != scan.id,
            Scan.completed_at <= utcnow(),
        )
        .order_by(Scan.completed_at.desc())
        .limit(1)
    )


def _diff(session, scan_id: str, previous_id: str | None) -> int:
    """Mark each violation new or not, and count the previous scan's violations resolved: only
    those whose resource this scan saw again, and it passed."""
    if previous_id is None:
        session.execute(text("UPDATE violations SET is_new = true WHERE scan_id = :scan"), {"scan": scan_id})
        return 0
    session.execute(
        text(
            """UPDATE violations v SET is_new = NOT EXISTS (
                   SELECT 1 FROM violations p WHERE p.scan_id = :prev AND p.fingerprint = v.fingerprint)
               WHERE v.scan_id = :scan"""
        ),
        {"scan": scan_id, "prev": previous_id},
    )
    return session.scalar(
        text(
            """SELECT count(*) FROM violations p
               JOIN resources r ON r.account_id = p.account_id AND r.resource_uid = p.resource_uid
               WHERE p.scan_id = :prev AND r.last_scan_id = :scan
                 AND NOT EXISTS (SELECT 1 FROM violations v
                                 WHERE v.scan_id = :scan AND v.fingerprint = p.fingerprint)"""
        ),
        {"scan": scan_id, "prev": previous_id},
    )


def _final_status(scan: Scan, shards: list[ScanShard], now: datetime, failure: str | None) -> tuple[str, str | None]:
    if scan.status == "cancelled":
        return "cancelled", scan.status_reason
    if failure:
        return "failed", failure
    errors = sum(1 for s in shards if s.status in ("failed", "partial"))
    if any(s.status == "timed_out" for s in shards) or (scan.deadline_at and now > scan.deadline_at):
        return "timed_out", f"Stopped after execution.timeout of {scan.execution.get('timeout')}; partial results kept"
    if shards and all(s.status == "failed" for s in shards):
        first = next((e for s in shards for e in s.errors), {"code": "Unknown", "message": "no detail"})
        return "failed", f"All {len(shards)} shards failed; first error {first['code']}: {first['message']}"
    if errors:
        return "completed", f"Completed with errors in {errors} of {len(shards)} shards; see results.errors"
    return "completed", None


def final_progress(status: str, shards: list[ScanShard]) -> dict[str, Any]:
    """The percentage a finished scan keeps: 100 when it completed, else the share of its work its
    shards did (a listed shard whole, a stopped one by what it scanned), below 100."""
    if status == "completed":
        return {"percentage": 100.0, "basis": "shards"}
    fraction, basis = work_done(
        {
            s.id: {
                "expected": -1 if s.expected_resources is None else s.expected_resources,
                "scanned": s.resources_scanned,
                "done": int(s.status in ("completed", "partial")),
            }
            for s in shards
        }
    )
    return {"percentage": running_percentage(fraction), "basis": basis}


def _running_shards(svc: Services, scan_id: str) -> bool:
    with svc.db.session() as session:
        return bool(
            session.scalar(select(func.count()).where(ScanShard.scan_id == scan_id, ScanShard.status.not_in(FINISHED)))
        )


def finalize_scan(svc: Services, scan_id: str, *, failure: str | None = None) -> Scan | None:
    """Derive the scan's results and final status; idempotent (a second call changes nothing).
    `failure` ends a scan that could not run (e.g. its planning failed) as failed, with that reason."""
    if failure is None and _running_shards(svc, scan_id):
        # A shard still runs (relaunched elsewhere after its worker died): the chord that ends with
        # it finalizes, or housekeeping does once every shard has ended.
        return None
    remediate_scan(svc, scan_id)  # cloud calls: before the scan row is locked; a no-op unless opted in
    with svc.db.session() as session:
        scan = session.get(Scan, scan_id, with_for_update=True)
        if scan is None or scan.results is not None or scan.status not in ("running", "cancelled"):
            return None
        catalog = catalog_for(session, scan.tenant_id)
        shards = list(session.scalars(select(ScanShard).where(ScanShard.scan_id == scan_id)))
        previous = _previous(session, scan)
        resolved = _diff(session, scan_id, previous.id if previous else None)
        now = utcnow()
        # Findings first: the mute rules they meet mark this scan's violations, which then weigh
        # nothing in the figures below.
        record_findings(
            session,
            scan.tenant_id,
            scan_id,
            scan.policy_ids,
            now,
            judged=any(shard.status == "completed" for shard in shards),
            since=previous.completed_at if previous else None,
        )
        mute_scan(session, scan.tenant_id, scan_id, now)
        stats = scan_stats(session, scan_id, shards)
        severities = {pid: catalog.policies[pid].severity for pid in stats if pid in catalog.policies}
        figures = counted(session, scan_id, stats, severities)
        status, reason = _final_status(scan, shards, now, failure)
        score = figures["compliance_score"]
        scan.status, scan.status_reason = status, reason
        if status != "cancelled":
            scan.completed_at = now
        scan.previous_scan_id = previous.id if previous else None
        scan.resources_scanned = sum(s.resources_scanned for s in shards)
        scan.total_resources = (
            scan.resources_scanned
            if status == "completed"
            else estimate_total(scan.resources_scanned, scan.estimated_resources)
        )
        scan.compliance_score = score
        scan.total_violations = figures["total_violations"]
        scan.results = {
            "compliance_score": score,
            "previous_score": previous.compliance_score if previous else None,
            "total_violations": figures["total_violations"],
            "muted_violations": figures["muted_violations"],
            "new_violations": figures["new_violations"],
            "resolved_violations": resolved,
            "violation_breakdown": figures["violation_breakdown"],
            "errors": [error for shard in shards for error in shard.errors],
            "carried_forward": sum(s.resources_carried for s in shards),
            "progress": final_progress(status, shards),
            "remediation": figures["remediation"],
        }
        ended = scan.completed_at or scan.cancelled_at or now
        duration = format_duration((ended - scan.started_at).total_seconds()) if scan.started_at else None
        tenant_id = scan.tenant_id
    progress = ScanProgress(svc.redis, scan_id)
    progress.publish("completed", status=status, reason=reason, duration=duration, results=scan.results)
    promote_pending(svc, tenant_id)
    notify_scan_finished(svc, scan_id)
    svc.enqueue("schedules-drift", scan_id)  # schedules whose drift rule this scan breaks
    return scan
