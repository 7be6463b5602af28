"""Scans as the API reference shows them: list items, details, the trigger and cancel answers."""

from __future__ import annotations

from typing import Any

from shared.platform.db import utcnow
from shared.platform.durations import format_duration, format_estimate, iso
from shared.policies.severities import SEVERITIES
from shared.scans.models import Scan
from shared.scans.progress import ScanProgress, estimate_total, parse_snapshot, running_percentage, work_done
from shared.scans.schemas import TERMINAL_STATUSES


def duration(scan: Scan) -> str | None:
    if scan.started_at is None:
        return None
    end = scan.completed_at or scan.cancelled_at or (None if scan.status in TERMINAL_STATUSES else utcnow())
    return format_duration((end - scan.started_at).total_seconds()) if end else None


class LiveCounts:
    """Resources, violations and progress of a scan: from Redis while it runs, from PostgreSQL after.
    The percentage only grows and is below 100 until the scan ends (shared.scans.progress)."""

    def __init__(self, scan: Scan, snapshot: dict | None):
        if scan.results is not None:
            breakdown = scan.results["violation_breakdown"]
            self.scanned, self.total = scan.resources_scanned, scan.total_resources
            self.violations = {s: breakdown.get(s, 0) for s in SEVERITIES}
            final = scan.results.get("progress") or {}
            if scan.status == "completed":
                self.percentage = 100.0
            else:  # a scan that ended otherwise keeps the share of its work that was done: no full bar
                share = self.scanned / self.total if self.total else 0
                self.percentage = final.get("percentage", running_percentage(share))
            self.basis, self.estimated = final.get("basis", "shards"), scan.status != "completed"
            return
        snapshot = snapshot or parse_snapshot({})
        self.scanned, self.violations = snapshot["scanned"], snapshot["violations"]
        self.total = estimate_total(self.scanned, scan.estimated_resources)
        fraction, self.basis = work_done(snapshot["shards"])
        self.percentage = running_percentage(fraction)
        self.estimated = True

    @property
    def total_violations(self) -> int:
        return sum(self.violations.values())

    def as_progress(self) -> dict[str, Any]:
        return {
            "total_resources": self.total,
            "scanned_resources": self.scanned,
            "percentage": self.percentage,
            # `inventory`: weighted by each shard's resources in the last inventory, so it follows
            # scanned/total; `shards`: each shard counts the same (the totals are not known yet).
            "basis": self.basis,
            "total_is_estimate": self.estimated,
        }


def progress_text(progress: dict[str, Any]) -> str:
    """A progress block (as the API renders it) in words for a terminal: a total that is only an
    estimate says so, and one the scan has outgrown is not shown as if it were the end."""
    scanned, total = progress["scanned_resources"], progress["total_resources"]
    if not progress.get("total_is_estimate"):
        counted = f"{scanned}/{total} resources"
    elif scanned < total:
        counted = f"{scanned} of about {total} resources"
    else:
        counted = f"{scanned} resources so far"
    return f"{counted} ({progress['percentage']}%)"


def live_counts(redis, scans: list[Scan]) -> dict[str, LiveCounts]:
    """Counts for several scans with one Redis round trip for those not finalized yet."""
    live = [s for s in scans if s.results is None and s.status in ("running", "cancelled")]
    snapshots: dict[str, dict] = {}
    if live:
        pipe = redis.pipeline()
        for scan in live:
            pipe.hgetall(ScanProgress(redis, scan.id).key)
        snapshots = {scan.id: parse_snapshot(raw) for scan, raw in zip(live, pipe.execute(), strict=True)}
    return {scan.id: LiveCounts(scan, snapshots.get(scan.id)) for scan in scans}


def list_item(scan: Scan, counts: LiveCounts) -> dict[str, Any]:
    return {
        "id": scan.id,
        "name": scan.name,
        "scan_type": scan.scan_type,
        "status": scan.status,
        "environment": scan.environment,
        "cloud_providers": scan.cloud_providers,
        "frameworks": scan.frameworks,
        "created_at": iso(scan.created_at),
        "started_at": iso(scan.started_at),
        "completed_at": iso(scan.completed_at),
        "duration": duration(scan),
        "progress": {"percentage": counts.percentage},
        "results_summary": {
            "compliance_score": scan.compliance_score,
            "total_violations": counts.total_violations,
            "critical_violations": counts.violations["critical"],
            "high_violations": counts.violations["high"],
            "resources_scanned": counts.scanned,
        },
    }


def monitoring(scan_id: str, base_url: str) -> dict[str, str]:
    base = base_url.rstrip("/")
    ws_base = "wss://" + base[len("https://") :] if base.startswith("https://") else "ws://" + base[len("http://") :]
    return {
        "progress_url": f"{base}/v1/scans/{scan_id}",
        "websocket_url": f"{ws_base}/v1/scans/{scan_id}/stream",
    }


def details(scan: Scan, counts: LiveCounts, *, queue_position: int, base_url: str) -> dict[str, Any]:
    results = scan.results or {}
    remediation = results.get("remediation") or {}
    return {
        "id": scan.id,
        "name": scan.name,
        "scan_type": scan.scan_type,
        "status": scan.status,
        "status_reason": scan.status_reason,
        "environment": scan.environment,
        "cloud_providers": scan.cloud_providers,
        "frameworks": scan.frameworks,
        "scope": scan.scope,
        "execution": scan.execution,
        "remediation_config": scan.remediation,
        "trigger": scan.trigger,
        "created_at": iso(scan.created_at),
        "started_at": iso(scan.started_at),
        "completed_at": iso(scan.completed_at),
        "cancelled_at": iso(scan.cancelled_at),
        "duration": duration(scan),
        "queue_position": queue_position,
        "scheduled_for": iso(scan.scheduled_for),
        "schedule_id": scan.schedule_id,
        "progress": counts.as_progress(),
        "results": {
            "compliance_score": results.get("compliance_score"),
            "previous_score": results.get("previous_score"),
            "total_violations": counts.total_violations,
            "muted_violations": results.get("muted_violations", 0),
            "new_violations": results.get("new_violations"),
            "resolved_violations": results.get("resolved_violations"),
            "violation_breakdown": counts.violations,
            "errors": results.get("errors", []),
            "carried_forward": results.get("carried_forward", 0),
        },
        "remediation": {
            "auto_remediated": remediation.get("auto_remediated", 0),
            "manual_required": remediation.get("manual_required", counts.total_violations),
            "estimated_effort": remediation.get("estimated_effort"),
            "failed_actions": remediation.get("failed_actions", 0),
            "mode": _remediation_mode(scan),
        },
        # Set once retention deleted the violations (their list then answers 410); the counts stay.
        "violations_purged_at": iso(scan.violations_purged_at),
        "monitoring": monitoring(scan.id, base_url),
    }


def _remediation_mode(scan: Scan) -> str:
    config = scan.remediation or {}
    if not config.get("auto_remediate"):
        return "off"
    return "dry_run" if config.get("dry_run") else "on"


def created(scan: Scan, *, queue_position: int, base_url: str) -> dict[str, Any]:
    return {
        "id": scan.id,
        "name": scan.name,
        "scan_type": scan.scan_type,
        "status": scan.status,
        "environment": scan.environment,
        "created_at": iso(scan.created_at),
        "estimated_duration": format_estimate(scan.estimated_duration_s) if scan.estimated_duration_s else None,
        "estimated_resources": scan.estimated_resources,
        "queue_position": queue_position,
        "monitoring": monitoring(scan.id, base_url),
        # Beyond the reference's example, after its fields.
        "estimate_basis": scan.estimate_basis,
        "scheduled_for": iso(scan.scheduled_for),
    }


def cancelled(scan: Scan, counts: LiveCounts) -> dict[str, Any]:
    return {
        "id": scan.id,
        "status": scan.status,
        "cancelled_at": iso(scan.cancelled_at),
        "partial_results": {
            "resources_scanned": counts.scanned,
            "total_resources": counts.total,
            "completion_percentage": counts.percentage,
            "violations_found": counts.total_violations,
            "data_available": counts.scanned > 0,
        },
    }
