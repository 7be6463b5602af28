"""Mute rules at work: each change of a rule (created, updated, disabled, expired) is recorded
(shared.findings.rules) and applied in the same transaction to the tenant's findings and to the
latest results, the last completed scan of each scope, whose figures are counted again: no rescan.
A finishing scan's violations are muted by the rules in force before its figures are counted."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Session

from shared.catalog.service import catalog_for
from shared.findings import rules
from shared.findings.models import MuteRule
from shared.findings.muting import FINDINGS, mute_findings, mute_rows, rules_in_force, touched
from shared.platform.context import Services
from shared.platform.db import utcnow
from shared.scans.models import Scan, Violation
from shared.scans.summary import recount
from shared.tenants.apikeys import Principal

VIOLATIONS = Violation.__table__


def mute_scan(session: Session, tenant_id: str, scan_id: str, now: datetime) -> None:
    """The rules in force cover a finishing scan's violations (its figures are counted after)."""
    in_force = rules_in_force(session, tenant_id, now)
    if in_force:
        mute_rows(session, VIOLATIONS, VIOLATIONS.c.scan_id == scan_id, in_force)


def latest_scan_ids(session: Session, tenant_id: str) -> list[str]:
    """The latest results: the last completed scan of each scope whose violations are still kept."""
    return list(
        session.scalars(
            select(Scan.id)
            .where(
                Scan.tenant_id == tenant_id,
                Scan.status == "completed",
                Scan.results.is_not(None),
                Scan.violations_purged_at.is_(None),
            )
            .order_by(Scan.scope_key, Scan.completed_at.desc())
            .ext(distinct_on(Scan.scope_key))
        )
    )


def reapply(session: Session, tenant_id: str, changed: list[MuteRule], now: datetime) -> dict[str, Any]:
    """What the changed rules covered before or cover now is judged again against every rule in
    force, in the tenant's findings and in its latest scans, whose figures are counted again."""
    in_force = rules_in_force(session, tenant_id, now)
    findings = mute_findings(session, tenant_id, touched(changed, in_force, FINDINGS), in_force, now)
    recounted: list[str] = []
    scan_ids = latest_scan_ids(session, tenant_id)
    if scan_ids:
        candidates = and_(VIOLATIONS.c.scan_id.in_(scan_ids), touched(changed, in_force, VIOLATIONS))
        affected = mute_rows(session, VIOLATIONS, candidates, in_force)
        if affected:
            catalog = catalog_for(session, tenant_id)
            severities = {pid: policy.severity for pid, policy in catalog.policies.items()}
            for scan in session.scalars(select(Scan).where(Scan.id.in_(sorted(affected)))):
                recount(session, scan, severities)
                recounted.append(scan.id)
    return {"findings_changed": findings, "scans_recounted": sorted(recounted)}


def create_rule(svc: Services, principal: Principal, document: Any) -> tuple[MuteRule, dict]:
    data = rules.load_request(document)
    now = utcnow()
    with svc.db.session() as session:
        rule = rules.create(session, principal, data, now)
        applied = reapply(session, principal.tenant_id, [rule], now)
    return rule, applied


def update_rule(svc: Services, principal: Principal, rule_id: str, document: Any) -> tuple[MuteRule, dict]:
    changes = rules.load_request(document, partial=True)
    now = utcnow()
    with svc.db.session() as session:
        rule = rules.update(session, principal, rule_id, changes, now)
        applied = reapply(session, principal.tenant_id, [rule], now)
    return rule, applied


def disable_rule(svc: Services, principal: Principal, rule_id: str, document: Any) -> tuple[MuteRule, dict]:
    now = utcnow()
    with svc.db.session() as session:
        rule = rules.disable(session, principal, rule_id, document, now)
        applied = reapply(session, principal.tenant_id, [rule], now)
    return rule, applied


def expire_due(svc: Services) -> dict[str, list[str]]:
    """Rules whose expiry came (beat, every 30 s): recorded as expired, and what they muted counts
    again in findings and the latest scans."""
    now = utcnow()
    with svc.db.session() as session:
        expired = rules.expire_due(session, now)
        by_tenant: dict[str, list[MuteRule]] = {}
        for rule in expired:
            by_tenant.setdefault(rule.tenant_id, []).append(rule)
        for tenant_id, changed in by_tenant.items():
            reapply(session, tenant_id, changed, now)
    return {"expired": [rule.id for rule in expired]}
