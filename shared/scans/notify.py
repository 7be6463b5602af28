"""What a scan tells its tenant's notification channels when it ends."""

from __future__ import annotations

from typing import Any

from shared.notifications.delivery import notify
from shared.notifications.messages import scan_url
from shared.platform.context import Services
from shared.platform.durations import iso
from shared.policies.severities import SEVERITIES
from shared.scans.models import Scan
from shared.scans.render import duration
from shared.scans.schemas import TERMINAL_STATUSES

FAILURE_STATUSES = ("failed", "timed_out")


def scan_summary(scan: Scan, public_url: str | None) -> dict[str, Any]:
    """What a notification says about a scan; schedules put the same dict in drift alerts."""
    results = scan.results or {}
    breakdown = results.get("violation_breakdown") or {}
    return {
        "id": scan.id,
        "name": scan.name,
        "status": scan.status,
        "status_reason": scan.status_reason,
        "scan_type": scan.scan_type,
        "environment": scan.environment,
        "cloud_providers": scan.cloud_providers,
        "frameworks": scan.frameworks,
        "compliance_score": scan.compliance_score,
        "previous_score": results.get("previous_score"),
        "total_violations": results.get("total_violations", scan.total_violations),
        "violation_breakdown": {severity: breakdown.get(severity, 0) for severity in SEVERITIES},
        "new_violations": results.get("new_violations"),
        "resolved_violations": results.get("resolved_violations"),
        "resources_scanned": scan.resources_scanned,
        "started_at": iso(scan.started_at),
        "completed_at": iso(scan.completed_at),
        "duration": duration(scan),
        "url": scan_url(public_url, scan.id),
    }


def notify_scan_finished(svc: Services, scan_id: str) -> list[int]:
    """What finalize calls: notify as the scan's `notifications` ask (`on_completion` for any
    ended scan, `on_failure` for failed and timed-out ones) on the channel types it lists."""
    with svc.db.session() as session:
        scan = session.get(Scan, scan_id)
        if scan is None or scan.status not in TERMINAL_STATUSES:
            return []
        wishes = scan.notifications or {}
        wanted = wishes.get("on_completion") or (wishes.get("on_failure") and scan.status in FAILURE_STATUSES)
        if not wanted or not wishes.get("channels"):
            return []
        payload = {"scan": scan_summary(scan, svc.settings.public_url)}
        tenant_id, schedule_id, status = scan.tenant_id, scan.schedule_id, scan.status
    return notify(
        svc,
        tenant_id=tenant_id,
        event=f"scan.{status}",
        scan_id=scan_id,
        schedule_id=schedule_id,
        channel_types=wishes["channels"],
        payload=payload,
    )
