"""What a scan's numbers are made of: its checks per policy (the shards' tallies, less what mute
rules cover), the score over them, and the counts callers see. finalize writes them once; a mute
rule that changes writes them again for the latest scans, without a rescan."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.platform.db import utcnow
from shared.platform.durations import format_effort, iso
from shared.policies.severities import SEVERITY_WEIGHTS
from shared.scans.models import Scan, ScanShard, Violation

UNMUTED = Violation.muted_by.is_(None)


def compliance_score(policy_stats: dict[str, list[int]], severities: dict[str, str]) -> float | None:
    """100 x sum(w * passed) / sum(w * evaluated) over every (resource, policy) check, with
    severity weights critical 4, high 3, medium 2, low 1; None when nothing was evaluated."""
    evaluated = passed = 0.0
    for policy_id, (checks, failures) in policy_stats.items():
        weight = SEVERITY_WEIGHTS[severities.get(policy_id, "low")]
        evaluated += weight * checks
        passed += weight * (checks - failures)
    return round(100 * passed / evaluated, 1) if evaluated else None


def merge_stats(shards: list[ScanShard]) -> dict[str, list[int]]:
    merged: dict[str, list[int]] = {}
    for shard in shards:
        for policy_id, (checks, failures) in (shard.policy_stats or {}).items():
            total = merged.setdefault(policy_id, [0, 0])
            total[0] += checks
            total[1] += failures
    return merged


def muted_per_policy(session: Session, scan_id: str) -> dict[str, int]:
    return dict(
        session.execute(
            select(Violation.policy_id, func.count())
            .where(Violation.scan_id == scan_id, Violation.muted_by.is_not(None))
            .group_by(Violation.policy_id)
        ).all()
    )


def scan_stats(session: Session, scan_id: str, shards: list[ScanShard] | None = None) -> dict[str, list[int]]:
    """{policy: [evaluated, failed]} of the scan, muted checks left out of both: accepted risk is
    neither a pass nor a failure, so it weighs nothing in a score."""
    if shards is None:
        shards = list(session.scalars(select(ScanShard).where(ScanShard.scan_id == scan_id)))
    stats = merge_stats(shards)
    for policy_id, muted in muted_per_policy(session, scan_id).items():
        if policy_id in stats:
            stats[policy_id] = [max(stats[policy_id][0] - muted, 0), max(stats[policy_id][1] - muted, 0)]
    return stats


def counted(session: Session, scan_id: str, stats: dict[str, list[int]], severities: dict[str, str]) -> dict[str, Any]:
    """The figures of a scan's results that mute rules change: score, violations by severity,
    muted and new violations, and the remediation tallies, over unmuted violations only."""
    breakdown = dict.fromkeys(SEVERITY_WEIGHTS, 0)
    breakdown.update(
        session.execute(
            select(Violation.severity, func.count())
            .where(Violation.scan_id == scan_id, UNMUTED)
            .group_by(Violation.severity)
        ).all()
    )
    unfixed = Violation.remediation_status.is_distinct_from("fixed")
    muted, new, auto_remediated, failed_actions, manual_effort = session.execute(
        select(
            func.count().filter(Violation.muted_by.is_not(None)),
            func.count().filter(UNMUTED, Violation.is_new.is_(True)),
            func.count().filter(UNMUTED, Violation.remediation_status == "fixed"),
            func.count().filter(UNMUTED, Violation.remediation_status == "failed"),
            func.coalesce(func.sum(Violation.effort_minutes).filter(UNMUTED, unfixed), 0),
        ).where(Violation.scan_id == scan_id)
    ).one()
    total = sum(breakdown.values())
    return {
        "compliance_score": compliance_score(stats, severities),
        "total_violations": total,
        "muted_violations": muted,
        "new_violations": new,
        "violation_breakdown": breakdown,
        "remediation": {
            "auto_remediated": auto_remediated,
            "manual_required": total - auto_remediated,
            "estimated_effort": format_effort(manual_effort),
            "failed_actions": failed_actions,
        },
    }


def recount(session: Session, scan: Scan, severities: dict[str, str]) -> None:
    """Write a finalized scan's figures again after mute rules changed what its violations count."""
    figures = counted(session, scan.id, scan_stats(session, scan.id), severities)
    scan.compliance_score = figures["compliance_score"]
    scan.total_violations = figures["total_violations"]
    scan.results = {**scan.results, **figures, "mutes_applied_at": iso(utcnow())}
