"""Celery tasks: thin bodies that call into shared/. Ids in, small dicts out."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from functools import wraps

from celery import chain, chord, shared_task
from celery.utils.time import get_exponential_backoff_interval
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from shared.platform.context import Services
from shared.scans.finalizer import finalize_scan
from shared.scans.housekeeping import reap_stuck_scans
from shared.scans.mutes import expire_due as expire_rules
from shared.scans.planner import plan_scan
from shared.scans.retention import purge_expired_violations
from shared.scans.runner import record_crash, run_shard
from shared.scans.service import start_due
from shared.schedules.redbeat import reconcile, sync_schedule
from shared.schedules.service import fire_cron
from shared.schedules.triggers import evaluate_drift, fire_debounced, policy_updated

log = logging.getLogger(__name__)


def services(task) -> Services:
    return task.app.services


def database_unavailable(exc: BaseException) -> bool:
    """PostgreSQL cannot be reached or dropped the connection: worth trying again later."""
    return isinstance(exc, OperationalError | InterfaceError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )


def db_retry_countdown(retries: int, cap: int) -> int:
    """Seconds before retry number `retries + 1`: exponential from 1 s, capped, full jitter (so the
    workers of a fleet do not all come back at once)."""
    return get_exponential_backoff_interval(factor=1, retries=retries, maximum=cap, full_jitter=True)


def retry_while_database_down(body: Callable) -> Callable:
    """Retry the task with back-off while PostgreSQL is unavailable, instead of failing it (a failed
    shard would fail its chord). Tasks are idempotent, so a retry redoes only what did not commit.
    Bounded by POLICYCORTEX_DB_MAX_RETRIES; past it the error is raised and `scans-reap` takes over."""

    @wraps(body)
    def run(self, *args, **kwargs):
        try:
            return body(self, *args, **kwargs)
        except DBAPIError as exc:
            if not database_unavailable(exc):
                raise
            settings = services(self).settings
            countdown = db_retry_countdown(self.request.retries, settings.db_retry_max_delay)
            log.warning("%s: PostgreSQL unavailable (%s); retry in %d s", self.name, type(exc).__name__, countdown)
            raise self.retry(exc=exc, countdown=countdown, max_retries=settings.db_max_retries) from exc

    return run


@shared_task(name="scan-plan", bind=True, acks_late=True)
@retry_while_database_down
def scan_plan(self, scan_id: str) -> dict:
    """Expand the scan into shards and launch them as a flat chord (a chain when sequential)."""
    svc = services(self)
    try:
        plan = plan_scan(svc, scan_id)
    except Exception as exc:  # a scan that cannot be planned must end, not stay running
        if database_unavailable(exc):
            raise  # an outage, not a bad scan: retried
        log.exception("scan %s could not be planned", scan_id)
        finalize_scan(svc, scan_id, failure=f"Planning failed: {type(exc).__name__}")
        return {"scan_id": scan_id, "shards": 0, "failed": True}
    if plan is None or not plan.shard_ids:
        finalize_scan(svc, scan_id)
        return {"scan_id": scan_id, "shards": 0}
    if plan.launched:
        return {"scan_id": scan_id, "shards": len(plan.shard_ids), "relaunched": False}
    launch(self.app, scan_id, plan.shard_ids, plan.parallel)
    return {"scan_id": scan_id, "shards": len(plan.shard_ids)}


def launch(app, scan_id: str, shard_ids: list[int], parallel: bool) -> None:
    """A flat chord of shards with finalize as its body (a chain when sequential)."""
    shards = [app.signature("scan-shard", args=(scan_id, shard_id), immutable=True) for shard_id in shard_ids]
    finish = app.signature("scan-finalize", args=(scan_id,), immutable=True)
    if parallel:
        chord(shards, app=app)(finish)
    else:
        chain(*shards, finish, app=app).apply_async()


# acks_late + reject_on_worker_lost: a shard whose worker dies is redelivered; the shard row's
# attempt counter caps redeliveries so a poison shard fails instead of looping.
@shared_task(name="scan-shard", bind=True, acks_late=True, reject_on_worker_lost=True)
@retry_while_database_down
def scan_shard(self, scan_id: str, shard_id: int) -> dict:
    svc = services(self)
    try:
        return run_shard(svc, shard_id, self.request.id or "")
    except Exception as exc:  # never raise into the chord: the error goes on the shard row
        if database_unavailable(exc):
            raise  # the row cannot be written now: retried, and the retry runs the shard again
        log.exception("scan %s shard %s crashed", scan_id, shard_id)
        return record_crash(svc, shard_id, exc)


@shared_task(name="scan-finalize", bind=True, acks_late=True)
@retry_while_database_down
def scan_finalize(self, scan_id: str) -> dict:
    scan = finalize_scan(services(self), scan_id)
    return {"scan_id": scan_id, "status": scan.status if scan else "unchanged"}


@shared_task(name="schedule-fire", bind=True, acks_late=True)
@retry_while_database_down
def schedule_fire(self, schedule_id: str, fire_time: str) -> dict:
    """Fired by RedBeat at a schedule's occurrence: run it once (a late one per the catch-up
    setting), then point RedBeat at the next one. Redelivery is harmless: UNIQUE(schedule,
    trigger, fire time) admits one run."""
    svc = services(self)
    run = fire_cron(svc, schedule_id, datetime.fromisoformat(fire_time))
    sync_schedule(svc, schedule_id)
    return {"schedule_id": schedule_id, "scan_id": run.scan_id if run else None, "duplicate": run is None}


# Sent by the catalogue after a custom policy changes (ids and the change's moment: redelivery
# fires nothing twice, UNIQUE(schedule, trigger, fire time)).
@shared_task(name="schedules-policy-updated", bind=True, acks_late=True)
@retry_while_database_down
def schedules_policy_updated(self, tenant_id: str, policy_id: str, changed_at: str) -> dict:
    """A custom policy was created or changed: the schedules that subscribe run it, once per change."""
    scan_ids = policy_updated(services(self), tenant_id, policy_id, datetime.fromisoformat(changed_at))
    return {"policy_id": policy_id, "scan_ids": scan_ids}


# Sent by finalize after a scan ends. Redelivery is harmless: a drift run's fire time is the scan's
# completion (one run per schedule and scan) and an alert reaches a channel once per (event, scan).
@shared_task(name="schedules-drift", bind=True, acks_late=True)
@retry_while_database_down
def schedules_drift(self, scan_id: str) -> dict:
    """Schedules of the same estate whose drift rule the finished scan breaks scan and/or alert."""
    return {"scan_id": scan_id, "actions": evaluate_drift(services(self), scan_id)}


@shared_task(name="schedule-debounced-fire", bind=True, acks_late=True)
@retry_while_database_down
def schedule_debounced_fire(self, schedule_id: str) -> dict:
    """The end of a resource-change debounce window: one scan of what changed in it."""
    return {"schedule_id": schedule_id, "scan_id": fire_debounced(services(self), schedule_id)}


# Periodic (beat_schedule): scans whose tasks were lost are finalized, resumed or failed. Not retried
# while PostgreSQL is down (nor is the reconcile below): the next period runs it again.
@shared_task(name="scans-reap", bind=True)
def scans_reap(self) -> dict:
    resumes = reap_stuck_scans(services(self))
    for resume in resumes:
        if resume.shard_ids:
            launch(self.app, resume.scan_id, resume.shard_ids, resume.parallel)
        else:
            self.app.send_task("scan-plan", args=[resume.scan_id])
    return {"resumed": [r.scan_id for r in resumes]}


# Periodic (beat_schedule): future scans whose start time came join their tenant's queue. Not
# retried: the next period runs it again.
@shared_task(name="scans-start-due", bind=True)
def scans_start_due(self) -> dict:
    return {"started": start_due(services(self))}


# Periodic (beat_schedule) and at beat start: a flushed Redis loses no schedule.
@shared_task(name="schedules-reconcile", bind=True)
def schedules_reconcile(self) -> dict:
    return reconcile(services(self))


# Periodic (beat_schedule): violations past the retention are deleted in small batches. Not
# acks_late: a run cut short leaves work the next run finishes.
@shared_task(name="scans-purge", bind=True)
def scans_purge(self) -> dict:
    return purge_expired_violations(services(self))


# Periodic (beat_schedule): mute rules whose expiry came are recorded as expired and stop muting.
# Not retried: the next period runs it again.
@shared_task(name="mutes-expire", bind=True)
def mutes_expire(self) -> dict:
    return expire_rules(services(self))
