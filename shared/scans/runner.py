"""Run one shard: list its resource types page by page, filter by scope, evaluate the compiled
policies, write resources and violations in bulk, report progress, and stop when asked to."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from psycopg2.errors import UniqueViolation
from sqlalchemy import literal, select, update
from sqlalchemy.dialects.postgresql import insert

from shared.accounts.models import CloudAccount
from shared.catalog.service import catalog_for
from shared.inventory.collectors.base import CollectedResource, CollectionError, Stopped
from shared.inventory.collectors.providers import collector_for, resource_types
from shared.inventory.models import Resource
from shared.inventory.resources import upsert_resources
from shared.platform.bulk import Stage, copy_rows
from shared.platform.context import Services
from shared.platform.db import utcnow
from shared.policies.policy import Policy
from shared.scans.models import Scan, ScanShard, Violation
from shared.scans.progress import ScanProgress, ShardLease, lease_holders
from shared.scans.scope import ResourceScope

log = logging.getLogger(__name__)
FINISHED = ("completed", "partial", "failed", "cancelled", "timed_out", "skipped")


def fingerprint(policy_id: str, account_id: str, resource_uid: str) -> str:
    """The same finding in two scans has the same fingerprint: the basis of new/resolved."""
    return hashlib.sha1(f"{policy_id}|{account_id}|{resource_uid}".encode()).hexdigest()


class PhaseClock:
    """Seconds a shard spends per phase (collect, evaluate, write, progress): `lap` charges the time
    since the previous lap to a phase. Kept on the shard row, they show where a scan's time goes."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._mark = time.perf_counter()

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.seconds[phase] = self.seconds.get(phase, 0.0) + now - self._mark
        self._mark = now

    def as_dict(self) -> dict[str, float]:
        return {phase: round(seconds, 3) for phase, seconds in self.seconds.items()}


class ShardEvaluator:
    """Applies a shard's policies to pages of resources and keeps its counters."""

    def __init__(
        self,
        policies: Iterable[Policy],
        scope: ResourceScope,
        *,
        scan_id: str,
        shard_id: int,
        account_id: str,
        provider: str | None = None,
    ):
        self.by_type: dict[str, list[Policy]] = defaultdict(list)
        for policy in policies:
            self.by_type[policy.resource_type].append(policy)
        self.scope = scope
        self.scan_id, self.shard_id, self.account_id = scan_id, shard_id, account_id
        self.provider = provider  # the violations' provider label; None: the policy's provider
        self.stats: dict[str, list[int]] = {}
        self.scanned = self.violations = self.carried = 0
        self.clock = PhaseClock()

    def in_scope(self, page: list[CollectedResource]) -> list[CollectedResource]:
        return [resource for resource in page if self.scope.admits(resource)]

    def evaluate(
        self, in_scope: list[CollectedResource], carried: dict[str, set[str]] | None = None
    ) -> tuple[list[dict], dict[str, int]]:
        """Violation rows and violations by severity for one page of in-scope resources. `carried`
        holds the baseline's failed policy ids of resources unchanged since it (incremental scans):
        their verdicts are carried forward instead of evaluated again."""
        carried = carried or {}
        rows: list[dict] = []
        by_severity: dict[str, int] = defaultdict(int)
        for resource in in_scope:
            previous = carried.get(resource.uid)
            for policy in self.by_type.get(resource.resource_type, ()):
                if not policy.applies(resource.document):
                    continue  # not applicable: neither checked nor failed
                counts = self.stats.setdefault(policy.id, [0, 0])
                counts[0] += 1
                failed = policy.id in previous if previous is not None else policy.check(resource.document)
                if not failed:
                    continue
                counts[1] += 1
                by_severity[policy.severity] += 1
                rows.append(self._violation(policy, resource))
        self.scanned += len(in_scope)
        self.carried += len(carried)
        self.violations += len(rows)
        return rows, dict(by_severity)

    def _violation(self, policy: Policy, resource: CollectedResource) -> dict:
        return {
            "scan_id": self.scan_id,
            "shard_id": self.shard_id,
            "fingerprint": fingerprint(policy.id, self.account_id, resource.uid),
            "policy_id": policy.id,
            "severity": policy.severity,
            "provider": self.provider or policy.provider,
            "account_id": self.account_id,
            "region": resource.region,
            "resource_type": resource.resource_type,
            "resource_uid": resource.uid,
            "resource_name": resource.name,
            "status_extended": policy.status_extended(
                True, name=resource.name, id=resource.id, region=resource.region, account=self.account_id
            ),
            "effort_minutes": policy.effort_minutes,
        }


class Baseline:
    """The previous completed scan of the same scope, against which an incremental scan decides
    what changed: a resource whose configuration hash has not changed since that scan completed
    keeps that scan's verdicts."""

    def __init__(self, svc: Services, scan_id: str, completed_at: datetime):
        self.svc, self.scan_id, self.completed_at = svc, scan_id, completed_at

    @classmethod
    def of(cls, svc: Services, session, scan: Scan) -> Baseline | None:
        previous = session.execute(
            select(Scan.id, Scan.completed_at)
            .where(
                Scan.tenant_id == scan.tenant_id,
                Scan.scope_key == scan.scope_key,
                Scan.status == "completed",
                Scan.completed_at <= scan.created_at,
            )
            .order_by(Scan.completed_at.desc())
            .limit(1)
        ).first()
        return cls(svc, previous.id, previous.completed_at) if previous else None

    def unchanged_verdicts(self, account_id: str, resources: list[CollectedResource]) -> dict[str, set[str]]:
        """uid -> the baseline's failed policy ids, for the resources unchanged since the baseline.
        A type whose verdicts depend on today's date (key ages, days to expiry: fields its hash leaves
        out) is never carried: it is evaluated again."""
        hashes = {r.uid: r.config_hash for r in resources if not resource_types.get(r.resource_type).clock_dependent}
        if not hashes:
            return {}
        with self.svc.db.session() as session:
            known = session.execute(
                select(Resource.resource_uid, Resource.config_hash, Resource.config_changed_at).where(
                    Resource.account_id == account_id, Resource.resource_uid.in_(list(hashes))
                )
            ).all()
            unchanged = [
                uid
                for uid, digest, changed in known
                if digest == hashes[uid] and changed and changed <= self.completed_at
            ]
            verdicts: dict[str, set[str]] = {uid: set() for uid in unchanged}
            if unchanged:
                for uid, policy_id in session.execute(
                    select(Violation.resource_uid, Violation.policy_id).where(
                        Violation.scan_id == self.scan_id,
                        Violation.account_id == account_id,
                        Violation.resource_uid.in_(unchanged),
                    )
                ):
                    verdicts[uid].add(policy_id)
        return verdicts


# The columns of a violation that vary within a page; scan, shard, account and time are constants.
VIOLATION_STAGE = Stage(
    "violation_stage",
    (
        ("fingerprint", "text"),
        ("policy_id", "text"),
        ("severity", "text"),
        ("provider", "text"),
        ("region", "text"),
        ("resource_type", "text"),
        ("resource_uid", "text"),
        ("resource_name", "text"),
        ("status_extended", "text"),
        ("effort_minutes", "integer"),
    ),
)


def insert_violations(session, scan_id: str, shard_id: int, account_id: str, violations: list[dict]) -> None:
    """Insert a page's violations once each. Most pages are written once: they are COPYed straight
    in. A shard delivered again meets its first delivery's rows (a unique violation on the scan's
    fingerprint key) and merges through the stage with ON CONFLICT DO NOTHING instead."""
    if not violations:
        return
    names = [name for name, _ in VIOLATION_STAGE.columns]
    now = utcnow()
    try:
        with session.begin_nested():
            copy_rows(
                session,
                Violation.__tablename__,
                ["scan_id", "shard_id", "account_id", "created_at", *names],
                ((scan_id, shard_id, account_id, now, *(row[name] for name in names)) for row in violations),
            )
        return
    except UniqueViolation:
        pass  # rolled back to the savepoint: nothing of this page was written
    VIOLATION_STAGE.load(session, ([row[name] for name in names] for row in violations))
    constants = {
        "scan_id": literal(scan_id),
        "shard_id": literal(shard_id),
        "account_id": literal(account_id),
        "created_at": literal(now),
    }
    columns = {**constants, **{name: VIOLATION_STAGE.table.c[name] for name in names}}
    session.execute(
        insert(Violation)
        .from_select(list(columns), select(*columns.values()))
        .on_conflict_do_nothing(constraint="uq_violations_scan_fingerprint")
    )


def _write_page(
    svc: Services,
    tenant_id: str,
    account: CloudAccount,
    scan_id: str,
    resources: list[CollectedResource],
    violations: list[dict],
    shard_values: dict,
) -> None:
    """Inventory upsert, violations insert and shard counters in one short transaction. Both inserts
    are idempotent (unique keys), so a redelivered shard rewrites nothing twice."""
    now = utcnow()
    unique = {r.uid: r for r in resources}  # one row per uid, or ON CONFLICT would touch it twice
    shard_id = shard_values.pop("id")
    with svc.db.session() as session:
        upsert_resources(session, tenant_id, account.id, list(unique.values()), now, scan_id)
        insert_violations(session, scan_id, shard_id, account.id, violations)
        session.execute(update(ScanShard).where(ScanShard.id == shard_id).values(**shard_values))


def _claim(svc: Services, shard_id: int, delivery: str) -> tuple[str, dict] | tuple[None, dict]:
    """Lock the shard and decide: run it (None) or return a finished summary (a status)."""
    with svc.db.session() as session:
        shard = session.get(ScanShard, shard_id, with_for_update=True)
        if shard is None:
            return "missing", {}
        summary = {"shard_id": shard_id, "scan_id": shard.scan_id}
        if shard.status in FINISHED:
            return shard.status, summary  # a redelivery of a finished shard: nothing to redo
        holder = lease_holders(svc.redis, [shard_id])[shard_id] if shard.status == "running" else None
        if holder is not None and holder != delivery:
            return "running", summary  # another delivery (a relaunch) while a live worker runs it
        scan = session.get(Scan, shard.scan_id)
        now = utcnow()
        if scan.status != "running":
            shard.status, shard.completed_at = "skipped", now
        elif scan.deadline_at and now >= scan.deadline_at:
            shard.status, shard.completed_at = "timed_out", now
        elif shard.attempts >= svc.settings.max_shard_attempts:
            shard.status, shard.completed_at = "failed", now
            shard.errors = shard.errors + [
                {
                    "code": "TooManyAttempts",
                    "message": f"gave up after {shard.attempts} attempts",
                    "resource_type": None,
                    "region": shard.region,
                }
            ]
        else:
            # A (re)start: counters restart from zero, the unique keys absorb rewritten rows.
            shard.status, shard.started_at = "running", now
            shard.attempts += 1
            shard.resources_scanned = shard.violations_found = 0
            shard.policy_stats, shard.timings = {}, {}
            return None, summary
        return shard.status, summary


def run_shard(svc: Services, shard_id: int, delivery: str = "") -> dict:
    """Run a shard to the end (or until cancelled or out of time), holding its lease as `delivery`
    (the task id: a redelivery after its worker died has the same). Never raises for a cloud error:
    errors are recorded on the shard row so the chord always completes."""
    status, summary = _claim(svc, shard_id, delivery)
    if status is not None:
        if status in FINISHED and summary:
            ScanProgress(svc.redis, summary["scan_id"]).shard_done(shard_id)  # ended without running
        return {**summary, "status": status}
    with ShardLease(svc.redis, shard_id, delivery):
        return _run(svc, shard_id, summary)


def _run(svc: Services, shard_id: int, summary: dict) -> dict:
    with svc.db.session() as session:
        shard = session.get(ScanShard, shard_id)
        scan = session.get(Scan, shard.scan_id)
        account = session.get(CloudAccount, shard.account_id)
        tenant_id, deadline = scan.tenant_id, scan.deadline_at
        baseline = Baseline.of(svc, session, scan) if scan.scan_type == "incremental" else None
        catalog = catalog_for(session, scan.tenant_id)
        policies = [catalog.policies[pid] for pid in scan.policy_ids if pid in catalog.policies]
        policies = [p for p in policies if p.resource_type in shard.resource_types]
        scope = ResourceScope(scan.scope.get("include_resources", ()), scan.scope.get("exclude_resources", ()))
        resource_types, region, errors = list(shard.resource_types), shard.region, list(shard.errors)
    progress = ScanProgress(svc.redis, shard.scan_id)
    if shard.attempts > 1:
        progress.restart_shard(shard_id)  # its last run's pages are counted again by this one
    progress.publish("shard", state="started", shard_id=shard_id, provider=shard.provider, region=region)
    # A hybrid account's resources are labelled hybrid, whatever shape (native or cloud) they were pushed in.
    label = "hybrid" if account.provider == "hybrid" else None
    evaluator = ShardEvaluator(
        policies, scope, scan_id=shard.scan_id, shard_id=shard_id, account_id=account.id, provider=label
    )
    final_status = None
    stop = StopSignal(progress, deadline)
    try:
        collector = collector_for(account, svc)
        collector.stop_reason = stop  # asked before every cloud call, detail calls included
    except CollectionError as exc:
        errors.append({**exc.as_dict(), "region": region})
        resource_types = []
    failed_types = 0
    for resource_type in resource_types:
        try:
            for page in collector.pages(resource_type, region):
                evaluator.clock.lap("collect")
                final_status = stop()
                if final_status:
                    break
                in_scope = evaluator.in_scope(page)
                carried = baseline.unchanged_verdicts(account.id, in_scope) if baseline else None
                violations, by_severity = evaluator.evaluate(in_scope, carried)
                evaluator.clock.lap("evaluate")
                _write_page(
                    svc, tenant_id, account, shard.scan_id, in_scope, violations, _shard_values(shard_id, evaluator)
                )
                evaluator.clock.lap("write")
                totals = progress.add(shard_id, scanned=len(in_scope), violations=by_severity)
                progress.publish("progress", shard_id=shard_id, **totals)
                evaluator.clock.lap("progress")
        except Stopped as stopped:
            final_status = stopped.reason
        except CollectionError as exc:
            failed_types += 1
            errors.append({**exc.as_dict(), "resource_type": exc.resource_type or resource_type, "region": region})
            log.warning("shard %s: %s listing %s in %s", shard_id, exc.code, resource_type, region)
        evaluator.clock.lap("collect")  # the last call of a listing, the one that found no more pages
        if final_status:
            break
    if not final_status:
        if errors and failed_types == len(resource_types):
            final_status = "failed"
        else:
            final_status = "partial" if errors else "completed"
    _finish(svc, shard_id, evaluator, final_status, errors)
    progress.shard_done(shard_id)
    progress.publish(
        "shard",
        **progress.totals(),
        state=final_status,
        shard_id=shard_id,
        provider=shard.provider,
        region=region,
        resources_scanned=evaluator.scanned,
        violations_found=evaluator.violations,
        errors=errors,
    )
    return {**summary, "status": final_status, "resources_scanned": evaluator.scanned}


class StopSignal:
    """Whether the shard should stop: "cancelled", "timed_out" or None. The cancel flag is read from
    Redis at most every CHECK_EVERY seconds, so asking before every cloud call costs nothing."""

    CHECK_EVERY = 0.5

    def __init__(self, progress: ScanProgress, deadline: datetime | None):
        self.progress, self.deadline = progress, deadline
        self._checked, self._reason = 0.0, None
        self._lock = threading.Lock()

    def __call__(self) -> str | None:
        with self._lock:  # detail calls ask from several threads
            if self._reason is None and time.monotonic() - self._checked >= self.CHECK_EVERY:
                self._checked = time.monotonic()
                if self.progress.cancel_requested():
                    self._reason = "cancelled"
                elif self.deadline and utcnow() >= self.deadline:
                    self._reason = "timed_out"
            return self._reason


def _shard_values(shard_id: int, evaluator: ShardEvaluator) -> dict:
    return {
        "id": shard_id,
        "resources_scanned": evaluator.scanned,
        "violations_found": evaluator.violations,
        "resources_carried": evaluator.carried,
        "policy_stats": evaluator.stats,
        "timings": evaluator.clock.as_dict(),
    }


def _finish(svc: Services, shard_id: int, evaluator: ShardEvaluator, status: str, errors: list[dict]) -> None:
    values = _shard_values(shard_id, evaluator)
    values.pop("id")
    with svc.db.session() as session:
        session.execute(
            update(ScanShard)
            .where(ScanShard.id == shard_id)
            .values(**values, status=status, errors=errors, completed_at=utcnow())
        )


def record_crash(svc: Services, shard_id: int, exc: BaseException) -> dict:
    """A shard that died of an unexpected error: mark it failed with the error's type, so the scan
    finishes and shows it, instead of the chord never completing."""
    # The exception's text stays in the worker's log: it can quote whatever an endpoint answered.
    error = {
        "code": type(exc).__name__,
        "message": f"The shard stopped on an unexpected {type(exc).__name__}; the worker's log has the details",
        "resource_type": None,
        "region": None,
    }
    with svc.db.session() as session:
        shard = session.get(ScanShard, shard_id, with_for_update=True)
        if shard is None:
            return {"shard_id": shard_id, "status": "missing"}
        if shard.status not in FINISHED:
            shard.status, shard.completed_at = "failed", utcnow()
            shard.errors = shard.errors + [{**error, "region": shard.region}]
        scan_id, status = shard.scan_id, shard.status
    ScanProgress(svc.redis, scan_id).shard_done(shard_id)
    return {"shard_id": shard_id, "scan_id": scan_id, "status": status}
