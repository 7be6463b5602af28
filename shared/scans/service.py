"""Scan lifecycle: create with admission control, list, get, cancel, and start queued scans."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, load_only

from shared.accounts.models import CloudAccount
from shared.catalog.service import Catalog, SelectionError, catalog_for
from shared.inventory.models import Resource
from shared.notifications.service import channel_problems
from shared.platform.context import Services
from shared.platform.db import utcnow
from shared.platform.durations import format_estimate, parse_duration
from shared.platform.errors import InvalidScanConfig, NotFound, ScanLimitExceeded, ScanNotCancellable
from shared.scans.models import Scan
from shared.scans.notify import notify_scan_finished
from shared.scans.progress import ScanProgress
from shared.scans.schemas import TERMINAL_STATUSES
from shared.tenants.models import Tenant

DEFAULT_SCAN_SECONDS = 300  # a wait estimate for tenants with no finished scan yet
PLAN_TASK = "scan-plan"


def scope_key(tenant_id: str, body: dict, policy_ids: list[str]) -> str:
    """Scans with equal keys cover the same estate with the same checks, so they are comparable."""
    scope = body["scope"]
    material = {
        "tenant": tenant_id,
        "environment": body["environment"],
        "providers": sorted(body["cloud_providers"]),
        "policies": sorted(policy_ids),
        "include": sorted(scope["include_resources"]),
        "exclude": sorted(scope["exclude_resources"]),
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def resolve_targets(session: Session, tenant_id: str, environment: str, providers: list[str]) -> list[CloudAccount]:
    return list(
        session.scalars(
            select(CloudAccount)
            .where(
                CloudAccount.tenant_id == tenant_id,
                CloudAccount.environment == environment,
                CloudAccount.provider.in_(providers),
                CloudAccount.deleted_at.is_(None),
            )
            .order_by(CloudAccount.created_at, CloudAccount.id)
        )
    )


def validate_targets(
    session: Session, tenant_id: str, body: dict, catalog: Catalog, *, prefix: str = ""
) -> tuple[list[str], list[str]]:
    """The selected policy ids and target account ids, or InvalidScanConfig with every problem
    (fields under `prefix`: a schedule's scan_config is checked exactly as POST /v1/scans is)."""
    details = []
    policy_ids: list[str] = []
    try:
        selected = catalog.select(body["cloud_providers"], body["frameworks"], body["scope"]["include_policies"])
        policy_ids = [p.id for p in selected]
    except SelectionError as exc:
        details.append({"field": prefix + exc.field, "message": exc.message})
    accounts = resolve_targets(session, tenant_id, body["environment"], body["cloud_providers"])
    covered = {a.provider for a in accounts}
    for provider in body["cloud_providers"]:
        if provider not in covered:
            details.append(
                {
                    "field": prefix + "cloud_providers",
                    "message": f"No {provider} account is registered for environment '{body['environment']}'",
                }
            )
    channels = (body.get("notifications") or {}).get("channels") or []
    details += channel_problems(session, tenant_id, channels, prefix + "notifications.channels")
    if details:
        raise InvalidScanConfig(details=details)
    return policy_ids, [a.id for a in accounts]


@dataclass(frozen=True)
class Estimate:
    resources: int | None
    duration_s: int | None
    basis: str  # history (the last scan of the scope), inventory, or heuristic (see below)


# A first scan has no history: accounts with an inventory count what it holds, the others are
# estimated per listing unit, an (account, region) for AWS (an account without regions: the 17
# enabled by default) and the whole subscription or project for the others. Durations follow the
# tenant's recent throughput, or HEURISTIC_RATE before it has one.
HEURISTIC_RESOURCES_PER_UNIT = 50
DEFAULT_AWS_REGIONS = 17
HEURISTIC_RATE = 5.0  # resources a second before the tenant has a finished scan to measure


def _estimate(session: Session, tenant_id: str, key: str, account_ids: list[str]) -> Estimate:
    """From history: the last completed scan of the same scope, else the accounts' inventory and
    the tenant's recent throughput."""
    previous = session.execute(
        select(Scan.resources_scanned, Scan.started_at, Scan.completed_at)
        .where(Scan.tenant_id == tenant_id, Scan.scope_key == key, Scan.status == "completed")
        .order_by(Scan.completed_at.desc())
        .limit(1)
    ).first()
    if previous:
        seconds = (previous.completed_at - previous.started_at).total_seconds()
        return Estimate(previous.resources_scanned, max(1, int(seconds)), "history")
    listed = dict(
        session.execute(
            select(Resource.account_id, func.count())
            .where(Resource.account_id.in_(account_ids))
            .group_by(Resource.account_id)
        ).all()
    )
    accounts = session.execute(
        select(CloudAccount.id, CloudAccount.provider, CloudAccount.regions).where(CloudAccount.id.in_(account_ids))
    ).all()
    # Accounts with an inventory count what it holds; the others, the heuristic's share per unit.
    resources = sum(
        listed[account_id]
        if account_id in listed
        else (len(regions or ()) or DEFAULT_AWS_REGIONS if provider == "aws" else 1) * HEURISTIC_RESOURCES_PER_UNIT
        for account_id, provider, regions in accounts
    )
    basis = "inventory" if accounts and all(a.id in listed for a in accounts) else "heuristic"
    rate = _throughput(session, tenant_id) or HEURISTIC_RATE
    return Estimate(resources, int(resources / rate) + 1, basis)


def _throughput(session: Session, tenant_id: str) -> float | None:
    """Resources per second over the tenant's last completed scans."""
    rows = session.execute(
        select(Scan.resources_scanned, Scan.started_at, Scan.completed_at)
        .where(Scan.tenant_id == tenant_id, Scan.status == "completed", Scan.resources_scanned > 0)
        .order_by(Scan.completed_at.desc())
        .limit(20)
    ).all()
    seconds = sum((r.completed_at - r.started_at).total_seconds() for r in rows)
    return sum(r.resources_scanned for r in rows) / seconds if rows and seconds > 0 else None


def _average_scan_seconds(session: Session, tenant_id: str) -> float:
    value = session.scalar(
        select(func.avg(func.extract("epoch", Scan.completed_at - Scan.started_at))).where(
            Scan.tenant_id == tenant_id, Scan.status == "completed"
        )
    )
    return float(value) if value else DEFAULT_SCAN_SECONDS


def _waiting(now: datetime):
    """A pending scan is in the queue unless it is a future scan whose time has not come."""
    return or_(Scan.scheduled_for.is_(None), Scan.scheduled_for <= now)


def _counts(session: Session, tenant_id: str) -> tuple[int, int]:
    """Running scans, and pending ones in the queue (future scans wait outside it)."""
    rows = dict(
        session.execute(
            select(Scan.status, func.count())
            .where(
                Scan.tenant_id == tenant_id,
                or_(Scan.status == "running", and_(Scan.status == "pending", _waiting(utcnow()))),
            )
            .group_by(Scan.status)
        ).all()
    )
    return rows.get("running", 0), rows.get("pending", 0)


def _start(scan: Scan, now: datetime) -> None:
    scan.status = "running"
    scan.started_at = now
    timeout = scan.execution.get("timeout")
    scan.deadline_at = now + timedelta(seconds=parse_duration(timeout)) if timeout else None


def _promote(session: Session, tenant: Tenant) -> list[str]:
    """Start the oldest pending scans while the tenant has free slots (tenant row locked)."""
    running, pending = _counts(session, tenant.id)
    free = tenant.max_concurrent - running
    if free <= 0 or pending == 0:
        return []
    now = utcnow()
    scans = session.scalars(
        select(Scan)
        .where(Scan.tenant_id == tenant.id, Scan.status == "pending", _waiting(now))
        .order_by(Scan.created_at, Scan.id)
        .limit(free)
    ).all()
    for scan in scans:
        _start(scan, now)
    return [scan.id for scan in scans]


def create_scan(
    svc: Services, tenant_id: str, body: dict, *, trigger: str = "api", schedule_id: str | None = None
) -> Scan:
    """Validate targets, admit the scan under the tenant's limits, enqueue it after the commit.

    The tenant row is locked for the admission, so concurrent requests are admitted one at a time
    and never exceed `max_concurrent` running scans.
    """
    with svc.db.session() as session:
        catalog = catalog_for(session, tenant_id)
        policy_ids, account_ids = validate_targets(session, tenant_id, body, catalog)
        key = scope_key(tenant_id, body, policy_ids)
        estimate = _estimate(session, tenant_id, key, account_ids)
        tenant = session.get(Tenant, tenant_id, with_for_update=True)
        running, pending = _counts(session, tenant_id)
        if running >= tenant.max_concurrent and pending >= tenant.max_queued:
            wait = _average_scan_seconds(session, tenant_id) * (pending // max(tenant.max_concurrent, 1) + 1)
            raise ScanLimitExceeded(
                current_scans=running,
                max_concurrent=tenant.max_concurrent,
                queue_position=pending,
                estimated_wait_time=format_estimate(wait),
                retry_after=int(wait),
            )
        scan = Scan(
            tenant_id=tenant_id,
            name=body["name"],
            scan_type=body["scan_type"],
            status="pending",
            environment=body["environment"],
            cloud_providers=body["cloud_providers"],
            frameworks=body["frameworks"],
            policy_ids=policy_ids,
            account_ids=account_ids,
            scope=body["scope"],
            execution=body["execution"],
            notifications=body["notifications"],
            remediation=body["remediation"],
            scope_key=key,
            trigger=trigger,
            schedule_id=schedule_id,
            estimated_resources=estimate.resources,
            estimated_duration_s=estimate.duration_s,
            estimate_basis=estimate.basis,
            scheduled_for=datetime.fromisoformat(start_at) if (start_at := body["execution"].get("start_at")) else None,
            created_at=utcnow(),
        )
        session.add(scan)
        session.flush()
        started = _promote(session, tenant)
    for scan_id in started:
        svc.enqueue(PLAN_TASK, scan_id)
    return scan


def start_due(svc: Services) -> list[str]:
    """For the periodic task: future scans whose time has come join their tenant's queue and start
    as slots allow (the same admission as every scan)."""
    with svc.db.session() as session:
        tenants = session.scalars(
            select(Scan.tenant_id)
            .where(Scan.status == "pending", Scan.scheduled_for.is_not(None), Scan.scheduled_for <= utcnow())
            .distinct()
        ).all()
    return [scan_id for tenant in tenants for scan_id in promote_pending(svc, tenant)]


def promote_pending(svc: Services, tenant_id: str) -> list[str]:
    """Start queued scans of a tenant whose slots freed up; returns the started ids."""
    with svc.db.session() as session:
        tenant = session.get(Tenant, tenant_id, with_for_update=True)
        started = _promote(session, tenant) if tenant else []
    for scan_id in started:
        svc.enqueue(PLAN_TASK, scan_id)
    return started


def get_scan(session: Session, tenant_id: str, scan_id: str) -> Scan:
    scan = session.scalar(select(Scan).where(Scan.id == scan_id, Scan.tenant_id == tenant_id))
    if scan is None:
        raise NotFound(f"Scan {scan_id} does not exist")
    return scan


def queue_position(session: Session, scan: Scan) -> int:
    """1 for the next scan to start; 0 when the scan is not waiting (a future scan before its time
    is not in the queue yet)."""
    now = utcnow()
    if scan.status != "pending" or (scan.scheduled_for and scan.scheduled_for > now):
        return 0
    ahead = session.scalar(
        select(func.count()).where(
            Scan.tenant_id == scan.tenant_id,
            Scan.status == "pending",
            _waiting(now),
            or_(Scan.created_at < scan.created_at, and_(Scan.created_at == scan.created_at, Scan.id < scan.id)),
        )
    )
    return ahead + 1


# What a list item shows (shared.scans.render.list_item): the large JSON columns stay unread.
LIST_COLUMNS = (
    Scan.id,
    Scan.name,
    Scan.scan_type,
    Scan.status,
    Scan.environment,
    Scan.cloud_providers,
    Scan.frameworks,
    Scan.created_at,
    Scan.started_at,
    Scan.completed_at,
    Scan.cancelled_at,
    Scan.estimated_resources,
    Scan.shards_total,
    Scan.resources_scanned,
    Scan.total_resources,
    Scan.compliance_score,
    Scan.results,
)


def list_scans(session: Session, tenant_id: str, query: dict) -> tuple[list[Scan], int]:
    """A page of the tenant's scans, newest first, and how many match. Counts and offsets run on
    ix_scans_tenant_created alone (it carries the filtered columns), whatever the offset."""
    conditions = [Scan.tenant_id == tenant_id]
    for name in ("status", "environment", "scan_type"):
        if query.get(name):
            conditions.append(getattr(Scan, name) == query[name])
    if query.get("created_after"):
        conditions.append(Scan.created_at >= query["created_after"])
    if query.get("created_before"):
        conditions.append(Scan.created_at < query["created_before"])
    newest_first = (Scan.created_at.desc(), Scan.id.desc())
    total = session.scalar(select(func.count()).select_from(Scan).where(*conditions))
    page = (
        select(Scan.id)
        .where(*conditions)
        .order_by(*newest_first)
        .limit(query["limit"])
        .offset(query["offset"])
        .subquery()
    )
    scans = session.scalars(
        select(Scan)
        .join(page, Scan.id == page.c.id)
        .options(load_only(*LIST_COLUMNS, raiseload=True))
        .order_by(*newest_first)
    ).all()
    return list(scans), total


def cancel_scan(svc: Services, tenant_id: str, scan_id: str) -> Scan:
    """A pending scan leaves the queue; a running one is flagged and its shards stop at the next
    page, keeping what they wrote. Either way the tenant's slot goes to the next pending scan."""
    with svc.db.session() as session:
        scan = session.scalar(select(Scan).where(Scan.id == scan_id, Scan.tenant_id == tenant_id).with_for_update())
        if scan is None:
            raise NotFound(f"Scan {scan_id} does not exist")
        if scan.status in TERMINAL_STATUSES:
            raise ScanNotCancellable(f"Scan {scan_id} is already {scan.status}", status=scan.status)
        was_running = scan.status == "running"
        now = utcnow()
        scan.status = "cancelled"
        scan.cancelled_at = now
        scan.status_reason = "Cancelled by request"
    progress = ScanProgress(svc.redis, scan_id)
    if was_running:
        progress.request_cancel()
    progress.publish("status", status="cancelled", reason="Cancelled by request")
    promote_pending(svc, tenant_id)
    if not was_running:
        # A queued scan never reaches finalize, which notifies for the others.
        notify_scan_finished(svc, scan_id)
    return scan
