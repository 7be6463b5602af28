"""Running one remediation action on one resource and recording the attempt, with the setting
before and after; which violations to fix, and when, is the scan's decision (shared.scans.remediate)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from shared.accounts.models import CloudAccount
from shared.inventory.collectors.base import CollectionError
from shared.inventory.collectors.providers import collector_for
from shared.platform.context import Services
from shared.platform.db import utcnow
from shared.platform.durations import iso
from shared.remediation.actions import actions
from shared.remediation.base import RemediationFailed, Target
from shared.remediation.models import RemediationAttempt

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    status: str  # fixed | dry_run | failed
    before: dict | None = None
    after: dict | None = None
    error: str | None = None


def run_action(
    svc: Services, collectors: dict[str, Any], account: CloudAccount, target: Target, name: str, dry_run: bool
) -> Outcome:
    """One action on one resource; `collectors` caches one collector per account across calls."""
    try:
        if account.id not in collectors:
            collectors[account.id] = collector_for(account, svc)
        before, after = actions.get(name)(collectors[account.id], target, dry_run)
        return Outcome("dry_run" if dry_run else "fixed", before, after)
    except (RemediationFailed, CollectionError) as exc:
        return Outcome("failed", error=str(exc))
    except Exception as exc:  # a cloud SDK error: reported on the attempt, never hidden
        log.warning("remediation %s of %s failed: %s", name, target.uid, exc)
        return Outcome("failed", error=f"{type(exc).__name__}: {exc}")


def record_attempt(
    session: Session, scan_id: str, violation_id: int, name: str, dry_run: bool, outcome: Outcome
) -> None:
    """Idempotent: a violation is attempted once per scan (a redelivered finalize adds nothing)."""
    session.execute(
        insert(RemediationAttempt)
        .values(
            scan_id=scan_id,
            violation_id=violation_id,
            action=name,
            dry_run=dry_run,
            status=outcome.status,
            before=outcome.before,
            after=outcome.after,
            error=outcome.error,
            attempted_at=utcnow(),
        )
        .on_conflict_do_nothing(constraint="uq_remediation_attempts_violation")
    )


def attempted_violations(session: Session, scan_id: str) -> set[int]:
    return set(session.scalars(select(RemediationAttempt.violation_id).where(RemediationAttempt.scan_id == scan_id)))


def scan_attempts(session: Session, scan_id: str) -> list[RemediationAttempt]:
    return list(
        session.scalars(
            select(RemediationAttempt).where(RemediationAttempt.scan_id == scan_id).order_by(RemediationAttempt.id)
        )
    )


def render_attempt(
    attempt: RemediationAttempt, *, violation_id: str, policy_id: str, resource: dict[str, str]
) -> dict[str, Any]:
    return {
        "violation_id": violation_id,
        "policy_id": policy_id,
        "resource": resource,
        "action": attempt.action,
        "dry_run": attempt.dry_run,
        "status": attempt.status,
        "before": attempt.before,
        "after": attempt.after,
        "error": attempt.error,
        "attempted_at": iso(attempt.attempted_at),
    }
