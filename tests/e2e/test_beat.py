"""A real beat (RedBeat on the real Redis) fires a due schedule exactly once and its scan is created."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from celery.beat import EmbeddedService
from redbeat import RedBeatSchedulerEntry
from sqlalchemy import func, select, update

from shared.platform.db import utcnow
from shared.scans.models import Scan
from shared.schedules.models import Schedule, ScheduleRun
from shared.schedules.redbeat import entry_name
from shared.schedules.service import fire
from tests.api.test_schedules import REFERENCE, create

pytestmark = pytest.mark.e2e


def test_a_due_schedule_fires_exactly_once(client, worker, svc, celery_app, tenant, make_account, moto):
    make_account(tenant, endpoint_url=moto, regions=("us-east-1",))
    body = {
        **REFERENCE,
        "schedule": {"cron": "* * * * *", "timezone": "Europe/Berlin"},
        "scan_config": {**REFERENCE["scan_config"], "cloud_providers": ["aws"]},
    }
    schedule = create(client, tenant, body)
    with svc.db.session() as session:
        # Created minutes ago and never fired while beat was down: one catch-up fire is due now
        # (not one per missed minute).
        session.execute(
            update(Schedule)
            .where(Schedule.id == schedule["id"])
            .values(created_at=utcnow() - timedelta(minutes=3, seconds=30))
        )
    svc.redis.delete(RedBeatSchedulerEntry.generate_key(celery_app, entry_name(schedule["id"])))  # Redis lost it

    # The beat starts by reconciling PostgreSQL into RedBeat (the beat_init signal).
    beat = EmbeddedService(celery_app, thread=True, scheduler_cls="beat.scheduler:Scheduler")
    beat.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with svc.db.session() as session:
                runs = session.scalars(select(ScheduleRun).where(ScheduleRun.schedule_id == schedule["id"])).all()
            created = [r for r in runs if r.status != "skipped"]
            if created and created[0].scan_id:
                break
            time.sleep(0.2)
    finally:
        beat.stop()
        beat.join(10)

    assert len(created) == 1 and created[0].trigger == "cron" and created[0].status == "created"
    # The minutes missed before it are on record, not silently dropped.
    assert [r.details["missed"] in (2, 3) for r in runs if r.status == "skipped"] == [True]  # 3.5 minutes ago
    # A second delivery of the same fire (two beats, a retry) creates nothing.
    assert fire(svc, schedule["id"], created[0].fire_time, "cron") is None
    with svc.db.session() as session:
        scans = session.scalar(select(func.count()).select_from(Scan).where(Scan.schedule_id == schedule["id"]))
    assert scans == 1
    # The fire pointed RedBeat at the next occurrence, in the future.
    fetched = client.get(f"/v1/scans/schedules/{schedule['id']}", headers=tenant.headers).get_json()
    assert fetched["last_scan_id"] == created[0].scan_id


def wait_until(condition, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)
    return value


def test_beat_outlives_redis_forgetting_its_lock_and_entries(client, svc, celery_app, tenant):
    """What a Redis restart does to beat: its lock and every RedBeat key vanish. Beat takes the lock
    again, writes its static entries back and reconciles the schedules from PostgreSQL."""
    schedule = create(client, tenant, {**REFERENCE, "schedule": {"cron": "0 6 * * 1", "timezone": "UTC"}})
    conf = celery_app.redbeat_conf
    key = RedBeatSchedulerEntry.generate_key(celery_app, entry_name(schedule["id"]))
    beat = EmbeddedService(celery_app, thread=True, scheduler_cls="beat.scheduler:Scheduler")
    beat.start()
    try:
        first_token = wait_until(lambda: svc.redis.get(conf.lock_key))
        due = svc.redis.zscore(conf.schedule_key, key)
        statics = [RedBeatSchedulerEntry.generate_key(celery_app, name) for name in conf.schedule]
        svc.redis.delete(conf.lock_key, key, conf.schedule_key, conf.statics_key, *statics)  # "restarted"

        token = wait_until(lambda: svc.redis.get(conf.lock_key), timeout=60)
        wait_until(lambda: svc.redis.zscore(conf.schedule_key, key) is not None, timeout=30)
        assert all(svc.redis.exists(static) for static in statics)
        assert token != first_token and beat.is_alive()
        assert svc.redis.zscore(conf.schedule_key, key) == pytest.approx(due, abs=2)  # the same next fire
    finally:
        beat.stop()
        beat.join(10)
