"""A scan's opted-in automatic remediation: after its shards and before it is finalized, the
allowed actions run on its violations (at most `max_actions`), each attempt recorded once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.accounts.models import CloudAccount
from shared.catalog.service import catalog_for
from shared.inventory.models import Resource
from shared.platform.context import Services
from shared.remediation.actions import actions
from shared.remediation.base import Target
from shared.remediation.service import (
    attempted_violations,
    record_attempt,
    render_attempt,
    run_action,
    scan_attempts,
)
from shared.scans.models import Scan, Violation, violation_id


def remediate_scan(svc: Services, scan_id: str) -> dict[str, int]:
    """Run the scan's allowed actions on its violations; idempotent (one attempt per violation)."""
    with svc.db.session() as session:
        scan = session.get(Scan, scan_id)
        config = scan.remediation or {}
        if not config.get("auto_remediate") or scan.status != "running":
            return {}
        catalog = catalog_for(session, scan.tenant_id)
        allowed = set(config.get("actions") or actions.names())
        done = attempted_violations(session, scan_id)
        rows = session.execute(
            select(Violation, Resource.config)
            .join(
                Resource,
                (Resource.account_id == Violation.account_id) & (Resource.resource_uid == Violation.resource_uid),
            )
            .where(Violation.scan_id == scan_id)
            .order_by(Violation.id)
        ).all()
        accounts = {a.id: a for a in session.scalars(select(CloudAccount).where(CloudAccount.id.in_(scan.account_ids)))}
    todo = []
    for violation, document in rows:
        policy = catalog.policies.get(violation.policy_id)
        name = policy.remediation_action if policy else None
        if name in allowed and name in actions and violation.id not in done:
            todo.append((violation, document, name))
    todo = todo[: int(config.get("max_actions", 100))]
    dry_run = bool(config.get("dry_run"))
    counts = {"fixed": 0, "dry_run": 0, "failed": 0}
    collectors: dict[str, Any] = {}
    for violation, document, name in todo:
        target = Target(
            violation.resource_uid, violation.resource_name, violation.region, document or {}, violation.policy_id
        )
        outcome = run_action(svc, collectors, accounts[violation.account_id], target, name, dry_run)
        counts[outcome.status] += 1
        with svc.db.session() as session:
            record_attempt(session, scan_id, violation.id, name, dry_run, outcome)
            fixed = Violation.__table__.update().where(Violation.id == violation.id)
            session.execute(fixed.values(remediation_status=outcome.status))
    return counts


def attempts(session: Session, scan_id: str) -> list[dict[str, Any]]:
    """The scan's remediation attempts, each with the violation it fixed (or tried to)."""
    made = scan_attempts(session, scan_id)
    violations = {
        v.id: v for v in session.scalars(select(Violation).where(Violation.id.in_([a.violation_id for a in made])))
    }
    return [
        render_attempt(
            attempt,
            violation_id=violation_id(scan_id, violations[attempt.violation_id].fingerprint),
            policy_id=violations[attempt.violation_id].policy_id,
            resource={
                "uid": violations[attempt.violation_id].resource_uid,
                "name": violations[attempt.violation_id].resource_name,
                "region": violations[attempt.violation_id].region,
            },
        )
        for attempt in made
        if attempt.violation_id in violations
    ]
