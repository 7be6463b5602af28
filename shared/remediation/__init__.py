"""Opt-in automatic remediation: registered actions that fix a violation in the cloud, run after
a scan's shards and before it is finalized, each attempt recorded with its before and after."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from shared.catalog import catalog_for
from shared.collectors import CollectionError, collector_for
from shared.context import Services
from shared.models import CloudAccount, RemediationAttempt, Resource, Scan, Violation, utcnow
from shared.registry import Registry

log = logging.getLogger(__name__)


class RemediationFailed(Exception):
    """An action that could not fix its resource; the message says why."""


@dataclass(frozen=True)
class Target:
    """What an action works on: the violation's resource, its last known document, its region."""

    uid: str
    name: str
    region: str
    document: dict
    policy_id: str


# An action takes (collector, target, dry_run) and returns (before, after) documents of the setting
# it changes; with dry_run it returns what it would do and changes nothing.
Action = Callable[[Any, Target, bool], tuple[dict, dict]]
actions: Registry[Action] = Registry("remediation action")


def load_actions() -> None:
    from shared.remediation import aws  # noqa: F401


def remediate_scan(svc: Services, scan_id: str) -> dict[str, int]:
    """Run the scan's allowed actions on its violations; idempotent (one attempt per violation)."""
    load_actions()
    with svc.db.session() as session:
        scan = session.get(Scan, scan_id)
        config = scan.remediation or {}
        if not config.get("auto_remediate") or scan.status != "running":
            return {}
        catalog = catalog_for(session, scan.tenant_id)
        allowed = set(config.get("actions") or actions.names())
        done = set(
            session.scalars(select(RemediationAttempt.violation_id).where(RemediationAttempt.scan_id == scan_id))
        )
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
    counts = {"fixed": 0, "dry_run": 0, "failed": 0}
    collectors: dict[str, Any] = {}
    for violation, document, name in todo:
        status, before, after, error = _attempt(
            svc, collectors, accounts[violation.account_id], violation, document, name, bool(config.get("dry_run"))
        )
        counts[status] += 1
        _record(svc, scan_id, violation.id, name, bool(config.get("dry_run")), status, before, after, error)
    return counts


def _attempt(svc, collectors, account, violation, document, name, dry_run):
    target = Target(
        violation.resource_uid, violation.resource_name, violation.region, document or {}, violation.policy_id
    )
    try:
        if account.id not in collectors:
            collectors[account.id] = collector_for(account, svc)
        before, after = actions.get(name)(collectors[account.id], target, dry_run)
        return ("dry_run" if dry_run else "fixed"), before, after, None
    except (RemediationFailed, CollectionError) as exc:
        return "failed", None, None, str(exc)
    except Exception as exc:  # a cloud SDK error: reported on the attempt, never hidden
        log.warning("remediation %s of %s failed: %s", name, violation.resource_uid, exc)
        return "failed", None, None, f"{type(exc).__name__}: {exc}"


def _record(svc, scan_id, violation_id, name, dry_run, status, before, after, error) -> None:
    now = utcnow()
    with svc.db.session() as session:
        session.execute(
            insert(RemediationAttempt)
            .values(
                scan_id=scan_id,
                violation_id=violation_id,
                action=name,
                dry_run=dry_run,
                status=status,
                before=before,
                after=after,
                error=error,
                attempted_at=now,
            )
            .on_conflict_do_nothing(constraint="uq_remediation_attempts_violation")
        )
        session.execute(
            Violation.__table__.update().where(Violation.id == violation_id).values(remediation_status=status)
        )


def attempts(session, scan_id: str) -> list[dict[str, Any]]:
    rows = session.execute(
        select(RemediationAttempt, Violation)
        .join(Violation, Violation.id == RemediationAttempt.violation_id)
        .where(RemediationAttempt.scan_id == scan_id)
        .order_by(RemediationAttempt.id)
    ).all()
    return [render_attempt(attempt, violation) for attempt, violation in rows]


def render_attempt(attempt: RemediationAttempt, violation: Violation) -> dict[str, Any]:
    return {
        "violation_id": f"vio_{attempt.violation_id}",
        "policy_id": violation.policy_id,
        "resource": {"uid": violation.resource_uid, "name": violation.resource_name, "region": violation.region},
        "action": attempt.action,
        "dry_run": attempt.dry_run,
        "status": attempt.status,
        "before": attempt.before,
        "after": attempt.after,
        "error": attempt.error,
        "attempted_at": attempt.attempted_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
