"""When a schedule fires: its cron expression read in its own IANA time zone (DST included), and
the occurrence RedBeat should wait for next."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, CroniterError, croniter
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.schedules.models import Schedule, ScheduleRun

MAX_CRON_LENGTH = 100
# (name, lowest, highest) of each of the five fields; day of week 7 is Sunday, as 0 is.
CRON_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7))


def validate_cron(expression: str, *, now: datetime | None = None) -> None:
    """ValueError, naming the field at fault, unless `expression` is a five-field cron that fires."""
    if len(expression) > MAX_CRON_LENGTH:
        raise ValueError(f"A cron expression has at most {MAX_CRON_LENGTH} characters")
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError("Not a five-field cron expression such as '0 6 * * 0'")
    for (name, lowest, highest), field in zip(CRON_FIELDS, fields, strict=True):
        for item in field.split(","):
            values, _, step = item.partition("/")
            if step and (not step.isdigit() or int(step) == 0):
                raise ValueError(f"The {name} step '/{step}' must be a positive number")
            for value in values.split("-"):
                if value.isdigit() and not lowest <= int(value) <= highest:
                    raise ValueError(f"The {name} {value} is out of range {lowest}-{highest}")
    if not croniter.is_valid(expression):
        raise ValueError("Not a valid cron expression: minute hour day-of-month month day-of-week, e.g. '0 6 * * 0'")
    try:
        croniter(expression, now or datetime.now(UTC)).get_next(datetime)
    except CroniterBadDateError:
        raise ValueError(f"'{expression}' never fires (no such date, e.g. 30 February)") from None


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"Unknown IANA time zone '{name}'") from exc


def next_occurrence(cron: str, timezone_name: str, after: datetime) -> datetime:
    """The first time after `after` at which `cron`, read in the schedule's own time zone, fires (UTC)."""
    local = after.astimezone(zone(timezone_name))
    return croniter(cron, local).get_next(datetime).astimezone(UTC)


def upcoming_occurrence(schedule: Schedule, now: datetime) -> datetime | None:
    """The schedule's next occurrence, or None for a stored row whose cron or zone cannot fire
    (written before validation refused such rows): shown as no next run, never an error."""
    try:
        return next_occurrence(schedule.cron, schedule.timezone, now)
    except (CroniterError, ValueError, KeyError):
        return None


def previous_occurrence(cron: str, timezone_name: str, before: datetime) -> datetime:
    local = before.astimezone(zone(timezone_name))
    return croniter(cron, local).get_prev(datetime).astimezone(UTC)


def due_occurrence(schedule: Schedule, last_cron_fire: datetime | None, now: datetime) -> datetime:
    """When RedBeat should next fire this schedule: an occurrence still owed (missed since the
    last fire, the creation or the last resume) at once, else the next one. The fire decides what
    owed occurrences become (shared.schedules.service.fire_cron): one catch-up, or skipped runs."""
    previous = previous_occurrence(schedule.cron, schedule.timezone, now + timedelta(seconds=1))
    if previous > covered_until(schedule, last_cron_fire):
        return previous
    return next_occurrence(schedule.cron, schedule.timezone, now)


# A fire this late was missed (beat or every worker was down), not merely queued behind others.
LATE_AFTER = timedelta(minutes=2)
MAX_COUNTED = 10_000  # owed occurrences counted one by one; beyond, "at least"


def covered_until(schedule: Schedule, last_cron_fire: datetime | None) -> datetime:
    """Occurrences up to this moment are not owed: fired (or skipped), or before the schedule
    existed or was last resumed."""
    return max(t for t in (last_cron_fire, schedule.created_at, schedule.resumed_at) if t is not None)


def owed_occurrences(
    schedule: Schedule, covered: datetime, now: datetime
) -> tuple[datetime | None, datetime | None, int]:
    """(first, latest, count) of the occurrences after `covered` and due by `now`; (None, None, 0)
    when none is owed."""
    latest = previous_occurrence(schedule.cron, schedule.timezone, now + timedelta(seconds=1))
    if latest <= covered:
        return None, None, 0
    local = croniter(schedule.cron, covered.astimezone(zone(schedule.timezone)))
    first = local.get_next(datetime).astimezone(UTC)
    count, moment = 1, first
    while count < MAX_COUNTED and moment < latest:
        moment = local.get_next(datetime).astimezone(UTC)
        count += 1
    return first, latest, count


def last_cron_fires(session: Session, schedule_ids: list[str]) -> dict[str, datetime]:
    rows = session.execute(
        select(ScheduleRun.schedule_id, func.max(ScheduleRun.fire_time))
        .where(ScheduleRun.schedule_id.in_(schedule_ids), ScheduleRun.trigger == "cron")
        .group_by(ScheduleRun.schedule_id)
    ).all()
    return dict(rows)
