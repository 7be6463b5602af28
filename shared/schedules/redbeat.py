"""PostgreSQL -> RedBeat: each enabled schedule is one RedBeat entry that fires `schedule-fire` at
its next occurrence. The occurrence is computed with croniter in the schedule's own time zone and
written as a UTC crontab pinned to that date, so DST is exact for any cron expression; every fire
rewrites the entry for the occurrence after it."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

from celery.schedules import crontab
from croniter import CroniterError
from redbeat import RedBeatSchedulerEntry
from redbeat.schedulers import ensure_conf
from sqlalchemy import select

from shared.platform.context import Services
from shared.platform.db import utcnow
from shared.schedules.cron import due_occurrence, last_cron_fires
from shared.schedules.models import Schedule

log = logging.getLogger(__name__)
ENTRY_PREFIX = "schedule:"
FIRE_TASK = "schedule-fire"


def entry_name(schedule_id: str) -> str:
    return f"{ENTRY_PREFIX}{schedule_id}"


def entry_key(svc: Services, schedule_id: str) -> str:
    ensure_conf(svc.celery)  # RedBeat reads its key prefix from a config it attaches lazily
    return RedBeatSchedulerEntry.generate_key(svc.celery, entry_name(schedule_id))


def _pinned(occurrence: datetime) -> crontab:
    return crontab(
        minute=occurrence.minute, hour=occurrence.hour, day_of_month=occurrence.day, month_of_year=occurrence.month
    )


def write_entry(svc: Services, schedule_id: str, occurrence: datetime) -> None:
    entry = RedBeatSchedulerEntry(
        entry_name(schedule_id),
        FIRE_TASK,
        _pinned(occurrence),
        args=[schedule_id, occurrence.isoformat()],
        options={"queue": "scans"},
        app=svc.celery,
    )
    entry.save()
    # RedBeat puts an entry's due time at last_run_at + (next match - now): with last_run_at = now
    # that is the occurrence itself; a missed occurrence gets a last run before it, so it is due now.
    now = utcnow()
    entry.reschedule(last_run_at=now if occurrence > now else occurrence - timedelta(minutes=1))


def delete_entry(svc: Services, schedule_id: str) -> None:
    try:
        RedBeatSchedulerEntry.from_key(entry_key(svc, schedule_id), app=svc.celery).delete()
    except KeyError:
        pass


def sync_schedule(svc: Services, schedule_id: str, *, now: datetime | None = None) -> datetime | None:
    """Make RedBeat match PostgreSQL for one schedule; returns the occurrence it will fire at."""
    now = now or utcnow()
    with svc.db.session() as session:
        schedule = session.get(Schedule, schedule_id)
        if schedule is None or not schedule.enabled:
            delete_entry(svc, schedule_id)
            return None
        occurrence = due_occurrence(schedule, last_cron_fires(session, [schedule_id]).get(schedule_id), now)
    write_entry(svc, schedule_id, occurrence)
    return occurrence


def waiting_occurrences(svc: Services, schedule_ids: list[str]) -> dict[str, datetime]:
    """The occurrence each existing entry waits for, when RedBeat's due time agrees with it (after a
    fire, RedBeat itself may re-score the entry from its old pin), read in one round trip."""
    schedule_key = ensure_conf(svc.celery).schedule_key
    pipe = svc.redis.pipeline(transaction=False)
    for schedule_id in schedule_ids:
        pipe.hget(entry_key(svc, schedule_id), "definition")
        pipe.zscore(schedule_key, entry_key(svc, schedule_id))
    answers = pipe.execute()
    waiting = {}
    for index, schedule_id in enumerate(schedule_ids):
        definition, score = answers[2 * index], answers[2 * index + 1]
        args = json.loads(definition).get("args") if definition else None
        if args and len(args) > 1 and score is not None:
            occurrence = datetime.fromisoformat(args[1])
            if abs(score - occurrence.timestamp()) <= 60:
                waiting[schedule_id] = occurrence
    return waiting


def reconcile(svc: Services, *, now: datetime | None = None) -> dict[str, int]:
    """Re-create what Redis lost and drop what PostgreSQL no longer has; entries that still wait
    for a future occurrence are left alone. Runs when beat starts and periodically."""
    now = now or utcnow()
    with svc.db.session() as session:
        schedules = list(session.scalars(select(Schedule).where(Schedule.enabled.is_(True))))
        fired = last_cron_fires(session, [s.id for s in schedules]) if schedules else {}
    waiting = waiting_occurrences(svc, [s.id for s in schedules])
    created = kept = removed = 0
    failed = 0
    for schedule in schedules:
        occurrence = waiting.get(schedule.id)
        if occurrence and occurrence >= now - timedelta(minutes=1):
            kept += 1
            continue
        try:
            write_entry(svc, schedule.id, due_occurrence(schedule, fired.get(schedule.id), now))
        except (CroniterError, ValueError, KeyError) as exc:
            # One bad row (a cron that never fires, an unknown zone) must not stop every other
            # tenant's schedules from being restored: it is logged and skipped.
            log.error("schedule %s cannot be put into RedBeat: %s: %s", schedule.id, type(exc).__name__, exc)
            failed += 1
            continue
        created += 1
    wanted = {s.id for s in schedules}
    prefix = entry_key(svc, "")
    for key in svc.redis.scan_iter(match=f"{prefix}*", count=1000):
        schedule_id = key.decode().removeprefix(prefix)
        if schedule_id not in wanted:
            delete_entry(svc, schedule_id)
            removed += 1
    log.info("schedules reconciled: %d written, %d kept, %d removed, %d failed", created, kept, removed, failed)
    return {"created": created, "kept": kept, "removed": removed, "failed": failed}
