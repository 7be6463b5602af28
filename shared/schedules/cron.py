"""When a schedule fires: its cron expression read in its own IANA time zone (DST included), and
the occurrence RedBeat should wait for next."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.schedules.models import Schedule, ScheduleRun


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"Unknown IANA time zone '{name}'") from exc


def next_occurrence(cron: str, timezone_name: str, after: datetime) -> datetime:
    """The first time after `after` at which `cron`, read in the schedule's own time zone, fires (UTC)."""
    local = after.astimezone(zone(timezone_name))
    return croniter(cron, local).get_next(datetime).astimezone(UTC)


def previous_occurrence(cron: str, timezone_name: str, before: datetime) -> datetime:
    local = before.astimezone(zone(timezone_name))
    return croniter(cron, local).get_prev(datetime).astimezone(UTC)


def due_occurrence(schedule: Schedule, last_cron_fire: datetime | None, now: datetime) -> datetime:
    """When RedBeat should next fire this schedule: a missed occurrence once (catch-up after
    downtime: once, not once per missed slot), else the next one."""
    previous = previous_occurrence(schedule.cron, schedule.timezone, now + timedelta(seconds=1))
    covered = last_cron_fire or schedule.created_at
    if previous > covered:
        return previous
    return next_occurrence(schedule.cron, schedule.timezone, now)


def last_cron_fires(session: Session, schedule_ids: list[str]) -> dict[str, datetime]:
    rows = session.execute(
        select(ScheduleRun.schedule_id, func.max(ScheduleRun.fire_time))
        .where(ScheduleRun.schedule_id.in_(schedule_ids), ScheduleRun.trigger == "cron")
        .group_by(ScheduleRun.schedule_id)
    ).all()
    return dict(rows)
