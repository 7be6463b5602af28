"""Schedules keep their word: a resumed schedule is not owed its pause, occurrences missed while
beat was down fire once (or not, by setting) and leave skipped runs saying why (issue 16)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from shared.platform.context import Services
from shared.platform.db import utcnow
from shared.schedules.models import Schedule, ScheduleRun
from shared.schedules.redbeat import sync_schedule
from shared.schedules.service import fire_cron
from tests.api.test_schedules import REFERENCE, create

AWS_ONLY = {**REFERENCE["scan_config"], "cloud_providers": ["aws"]}


def schedule_body(cron: str) -> dict:
    return {**REFERENCE, "schedule": {"cron": cron, "timezone": "UTC"}, "scan_config": AWS_ONLY}


def runs_of(svc, schedule_id: str) -> list[ScheduleRun]:
    with svc.db.session() as session:
        return list(
            session.scalars(
                select(ScheduleRun).where(ScheduleRun.schedule_id == schedule_id).order_by(ScheduleRun.fire_time)
            )
        )


def age(svc, schedule_id: str, **delta) -> None:
    with svc.db.session() as session:
        session.execute(
            update(Schedule).where(Schedule.id == schedule_id).values(created_at=utcnow() - timedelta(**delta))
        )


def test_a_resumed_schedule_fires_at_its_next_occurrence_not_for_its_pause(client, svc, tenant):
    schedule = create(client, tenant, schedule_body("* * * * *"))
    paused = client.patch(f"/v1/scans/schedules/{schedule['id']}", headers=tenant.headers, json={"enabled": False})
    assert paused.get_json()["next_run_at"] is None
    age(svc, schedule["id"], hours=2)  # it was paused for two hours: 120 occurrences passed
    resumed = client.patch(f"/v1/scans/schedules/{schedule['id']}", headers=tenant.headers, json={"enabled": True})
    now = utcnow()
    assert resumed.status_code == 200
    occurrence = sync_schedule(svc, schedule["id"])
    assert occurrence > now  # the next minute, not the minute that just passed
    assert resumed.get_json()["next_run_at"] == occurrence.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert (
        fire_cron(svc, schedule["id"], occurrence - timedelta(minutes=1)) is None or runs_of(svc, schedule["id"]) == []
    )


def _late_hourly(client, svc, tenant) -> dict:
    """An hourly schedule whose minute passed 10 minutes ago, created five hours ago, never fired:
    five occurrences are owed, the latest of them 10 minutes late."""
    minute = (utcnow() - timedelta(minutes=10)).minute
    schedule = create(client, tenant, schedule_body(f"{minute} * * * *"))
    age(svc, schedule["id"], hours=4, minutes=59)
    return schedule


def test_missed_occurrences_fire_once_and_the_rest_are_recorded(client, svc, tenant):
    schedule = _late_hourly(client, svc, tenant)
    run = fire_cron(svc, schedule["id"], utcnow() - timedelta(hours=4, minutes=10))
    runs = runs_of(svc, schedule["id"])
    assert [r.status for r in runs] == ["skipped", run.status]
    assert runs[0].details == {"missed": 4} and "missed while beat was not running" in runs[0].reason
    assert "fired once as a catch-up" in runs[0].reason
    assert runs[1].details == {"catch_up": True, "missed": 4} and runs[1].fire_time > runs[0].fire_time
    # Fired again (a redelivery, a second beat): nothing more.
    assert fire_cron(svc, schedule["id"], runs[1].fire_time) is None
    assert len(runs_of(svc, schedule["id"])) == 2
    listed = client.get(f"/v1/scans/schedules/{schedule['id']}", headers=tenant.headers).get_json()
    assert {r["status"] for r in listed["recent_runs"]} == {"skipped", runs[1].status}


def test_without_catch_up_missed_occurrences_are_only_recorded(client, svc, tenant):
    schedule = _late_hourly(client, svc, tenant)
    strict = Services(replace(svc.settings, schedule_catch_up="none"), celery=svc.celery)
    assert fire_cron(strict, schedule["id"], utcnow() - timedelta(hours=4, minutes=10)) is None
    runs = runs_of(svc, schedule["id"])
    assert [(r.status, r.details) for r in runs] == [("skipped", {"missed": 5})]
    assert runs[0].reason.endswith("catch-up is off") and runs[0].scan_id is None
    # The next due moment is the next occurrence: nothing is owed any more.
    assert sync_schedule(strict, schedule["id"]) > utcnow()


@pytest.mark.parametrize("value", ["twice", ""])
def test_the_catch_up_setting_is_checked(value):
    from shared.platform.settings import Settings, SettingsError

    if value == "":
        assert Settings.from_env({"POLICYCORTEX_SECRET_KEYS": "k" * 43 + "="}).schedule_catch_up == "one"
        return
    with pytest.raises(SettingsError, match="SCHEDULE_CATCH_UP"):
        Settings.from_env({"POLICYCORTEX_SECRET_KEYS": "k" * 43 + "=", "POLICYCORTEX_SCHEDULE_CATCH_UP": value})
