"""Schedules: recurring scans on a cron expression in an IANA time zone (DST included), stored in
PostgreSQL and mirrored into RedBeat; every fire creates its scan through the same service as
POST /v1/scans, and a UNIQUE(schedule, trigger, fire time) makes duplicate fires harmless."""

from __future__ import annotations

import logging
import secrets
from datetime import datetime
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates, validates_schema
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from shared.accounts.models import PROVIDERS
from shared.catalog.service import catalog_for
from shared.notifications.delivery import notify
from shared.notifications.service import channel_problems
from shared.platform.context import Services
from shared.platform.db import utcnow
from shared.platform.durations import iso
from shared.platform.errors import DomainError, InvalidRequest, InvalidScanConfig, NotFound
from shared.platform.schemas import bounded_list, error_details, offset_field
from shared.scans import service
from shared.scans.schemas import NotificationsSchema, ScanRequestSchema
from shared.schedules.cron import (
    LATE_AFTER,
    covered_until,
    last_cron_fires,
    owed_occurrences,
    upcoming_occurrence,
    validate_cron,
    zone,
)
from shared.schedules.models import Schedule, ScheduleRun
from shared.schedules.redbeat import sync_schedule

log = logging.getLogger(__name__)
RECENT_RUNS = 10


class _Closed(Schema):
    class Meta:
        unknown = RAISE


class TimingSchema(_Closed):
    cron = fields.String(required=True)
    timezone = fields.String(load_default="UTC")

    @validates("cron")
    def _cron(self, value: str, **kwargs) -> None:
        try:
            validate_cron(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None

    @validates("timezone")
    def _timezone(self, value: str, **kwargs) -> None:
        try:
            zone(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


def scan_config_schema() -> ScanRequestSchema:
    """The scan a schedule runs: the POST /v1/scans body without its name (the schedule's is used)
    and notifications (the schedule has its own)."""
    return ScanRequestSchema(exclude=("name", "notifications"))


class ScheduleNotificationsSchema(NotificationsSchema):
    on_drift = fields.Boolean(load_default=False)


class ResourceChangesSchema(_Closed):
    enabled = fields.Boolean(load_default=True)
    providers = fields.List(fields.String(validate=validate.OneOf(PROVIDERS)), load_default=list)
    account_ids = bounded_list(fields.String(validate=validate.Length(max=32)), 100, load_default=list)
    resource_types = bounded_list(fields.String(validate=validate.Length(max=200)), 100, load_default=list)
    resource_ids = bounded_list(
        fields.String(validate=validate.Length(max=2048)), 100, load_default=list, metadata={"description": "globs"}
    )
    debounce_seconds = fields.Integer(load_default=60, validate=validate.Range(min=0, max=86400))


class PolicyUpdatesSchema(_Closed):
    enabled = fields.Boolean(load_default=True)


class DriftSchema(_Closed):
    enabled = fields.Boolean(load_default=True)
    min_score = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0, max=100))
    max_drop = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0, max=100))
    action = fields.String(
        load_default="scan_and_notify", validate=validate.OneOf(("scan", "notify", "scan_and_notify"))
    )

    @validates_schema
    def _rule(self, data: dict, **kwargs) -> None:
        if data.get("min_score") is None and data.get("max_drop") is None:
            raise ValidationError("A drift rule needs min_score, max_drop or both", "min_score")


class TriggersSchema(_Closed):
    resource_changes = fields.Nested(ResourceChangesSchema, load_default=None, allow_none=True)
    policy_updates = fields.Nested(PolicyUpdatesSchema, load_default=None, allow_none=True)
    compliance_drift = fields.Nested(DriftSchema, load_default=None, allow_none=True)


class ScheduleRequestSchema(_Closed):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(load_default="", validate=validate.Length(max=2000))
    schedule = fields.Nested(TimingSchema, required=True)
    scan_config = fields.Nested(scan_config_schema, required=True)
    notifications = fields.Nested(
        ScheduleNotificationsSchema, load_default=lambda: ScheduleNotificationsSchema().load({})
    )
    triggers = fields.Nested(TriggersSchema, load_default=lambda: TriggersSchema().load({}))
    enabled = fields.Boolean(load_default=True)


class ScheduleListQuerySchema(_Closed):
    enabled = fields.Boolean()
    environment = fields.String()
    q = fields.String()
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    offset = offset_field()


def load_request(document: Any, *, partial: bool = False) -> dict:
    try:
        return ScheduleRequestSchema(partial=partial).load(document if isinstance(document, dict) else None)
    except ValidationError as exc:
        details = error_details(exc.messages)
        if all(d["field"].startswith("scan_config") for d in details):
            raise InvalidScanConfig(details=details) from None  # the scan itself is what is wrong
        raise InvalidRequest("Schedule validation failed", details=details) from None


def _check_scan_config(session: Session, tenant_id: str, scan_config: dict) -> None:
    """A schedule that could never run is refused now, as POST /v1/scans would refuse its scan."""
    body = {**scan_config, "name": "schedule", "notifications": {}}
    service.validate_targets(session, tenant_id, body, catalog_for(session, tenant_id), prefix="scan_config.")


def _check_channels(session: Session, tenant_id: str, notifications: dict) -> None:
    problems = channel_problems(session, tenant_id, notifications.get("channels") or [], "notifications.channels")
    if problems:
        raise InvalidRequest("Schedule validation failed", details=problems)


def scan_body(schedule: Schedule) -> dict:
    """The POST /v1/scans body a fire of this schedule sends."""
    return {
        "name": schedule.name,
        **schedule.scan_config,
        "notifications": {
            k: v for k, v in schedule.notifications.items() if k in ("on_completion", "on_failure", "channels")
        },
    }


def create_schedule(svc: Services, tenant_id: str, document: Any) -> tuple[Schedule, str]:
    """Create a schedule; returns it and its inbound-webhook secret, shown this once."""
    data = load_request(document)
    secret = f"whsec_{secrets.token_urlsafe(32)}"
    with svc.db.session() as session:
        _check_scan_config(session, tenant_id, data["scan_config"])
        _check_channels(session, tenant_id, data["notifications"])
        schedule = Schedule(
            tenant_id=tenant_id,
            name=data["name"],
            description=data["description"],
            cron=data["schedule"]["cron"],
            timezone=data["schedule"]["timezone"],
            scan_config=data["scan_config"],
            notifications=data["notifications"],
            triggers=_triggers(data["triggers"]),
            enabled=data["enabled"],
            webhook_secret_encrypted=svc.vault.encrypt({"secret": secret}),
        )
        session.add(schedule)
    mirror(svc, schedule.id)
    return schedule, secret


def _triggers(triggers: dict) -> dict:
    return {name: value for name, value in triggers.items() if value is not None}


def _get(session: Session, tenant_id: str, schedule_id: str, *, lock: bool = False) -> Schedule:
    query = select(Schedule).where(Schedule.id == schedule_id, Schedule.tenant_id == tenant_id)
    schedule = session.scalar(query.with_for_update() if lock else query)
    if schedule is None:
        raise NotFound(f"Schedule {schedule_id} does not exist")
    return schedule


def get_schedule(session: Session, tenant_id: str, schedule_id: str) -> Schedule:
    return _get(session, tenant_id, schedule_id)


def update_schedule(svc: Services, tenant_id: str, schedule_id: str, changes: Any) -> Schedule:
    """A merge patch over the request fields; nested objects given are replaced whole."""
    data = load_request(changes, partial=True)
    with svc.db.session() as session:
        schedule = _get(session, tenant_id, schedule_id, lock=True)
        if "scan_config" in data:
            # Partial loading skips defaults: validate the new scan config as a whole.
            full = load_request(
                {"name": "x", "schedule": {"cron": schedule.cron}, "scan_config": changes["scan_config"]}
            )
            _check_scan_config(session, tenant_id, full["scan_config"])
            schedule.scan_config = full["scan_config"]
        if "schedule" in data:
            timing = {"cron": schedule.cron, "timezone": schedule.timezone, **changes["schedule"]}
            timing = load_request({"name": "x", "schedule": timing, "scan_config": schedule.scan_config})["schedule"]
            schedule.cron, schedule.timezone = timing["cron"], timing["timezone"]
        if data.get("enabled") and not schedule.enabled:
            schedule.resumed_at = utcnow()  # the pause's occurrences are not owed
        for name in ("name", "description", "enabled"):
            if name in data:
                setattr(schedule, name, data[name])
        if "notifications" in data:
            schedule.notifications = ScheduleNotificationsSchema().load(changes["notifications"])
            _check_channels(session, tenant_id, schedule.notifications)
        if "triggers" in data:
            schedule.triggers = _triggers(TriggersSchema().load(changes["triggers"]))
        schedule.updated_at = utcnow()
    mirror(svc, schedule_id)
    return schedule


def delete_schedule(svc: Services, tenant_id: str, schedule_id: str) -> None:
    with svc.db.session() as session:
        session.delete(_get(session, tenant_id, schedule_id, lock=True))
    mirror(svc, schedule_id)


def list_schedules(session: Session, tenant_id: str, query: dict) -> tuple[list[Schedule], int]:
    conditions = [Schedule.tenant_id == tenant_id]
    if query.get("enabled") is not None:
        conditions.append(Schedule.enabled.is_(query["enabled"]))
    if query.get("environment"):
        conditions.append(Schedule.scan_config["environment"].astext == query["environment"])
    if query.get("q"):
        conditions.append(Schedule.name.ilike(f"%{query['q']}%"))
    total = session.scalar(select(func.count()).select_from(Schedule).where(*conditions))
    rows = session.scalars(
        select(Schedule)
        .where(*conditions)
        .order_by(Schedule.created_at.desc(), Schedule.id)
        .limit(query["limit"])
        .offset(query["offset"])
    ).all()
    return list(rows), total


def webhook_secret(svc: Services, schedule: Schedule) -> str:
    return svc.vault.decrypt(schedule.webhook_secret_encrypted)["secret"]


def fire(
    svc: Services,
    schedule_id: str,
    fire_time: datetime,
    trigger: str = "cron",
    details: dict | None = None,
    *,
    raise_rejection: bool = False,
) -> ScheduleRun | None:
    """Run a schedule for one fire: record the run (once per schedule, trigger and fire time) and
    create its scan through the same service as POST /v1/scans. None for a duplicate fire or a
    schedule that is gone or disabled. A fire whose scan cannot start is recorded as rejected with
    the reason and notified to the schedule's channels when it asks for failures; with
    `raise_rejection` (a caller waiting for the answer) the refusal is raised too."""
    with svc.db.session() as session:
        schedule = session.get(Schedule, schedule_id)
        if schedule is None or (not schedule.enabled and trigger != "manual"):
            return None
        run_id = session.scalar(
            insert(ScheduleRun)
            .values(
                schedule_id=schedule_id,
                trigger=trigger,
                fire_time=fire_time,
                status="pending",
                details=details or {},
                created_at=utcnow(),
            )
            .on_conflict_do_nothing(constraint="uq_schedule_runs_fire")
            .returning(ScheduleRun.id)
        )
        if run_id is None:
            return None
        tenant_id, body = schedule.tenant_id, scan_body(schedule)
        if trigger == "resource_change" and details and details.get("resources"):
            body = {
                **body,
                "scan_type": "resource_specific",
                "scope": {**body["scope"], "include_resources": details["resources"]},
            }
        if trigger == "policy_update" and details and details.get("policies"):
            body = {
                **body,
                "frameworks": [],  # a new custom policy belongs to no framework yet
                "scan_type": "policy_specific",
                "scope": {**body["scope"], "include_policies": details["policies"]},
            }
    status, scan_id, reason, rejection = "created", None, None, None
    try:
        scan = service.create_scan(svc, tenant_id, _validated(body), trigger=trigger, schedule_id=schedule_id)
        scan_id = scan.id
    except DomainError as exc:
        status, reason, rejection = "rejected", f"{exc.error_code}: {exc.description}", exc
        if exc.details:
            reason += "; " + "; ".join(f"{d['field']}: {d['message']}" for d in exc.details)
    with svc.db.session() as session:
        run = session.get(ScheduleRun, run_id)
        run.status, run.scan_id, run.reason = status, scan_id, reason
        schedule = session.get(Schedule, schedule_id)
        schedule.last_run_at = utcnow()
        if scan_id:
            schedule.last_scan_id = scan_id
        wishes = schedule.notifications or {}
        summary = {"id": schedule.id, "name": schedule.name, "trigger": trigger, "fire_time": iso(fire_time)}
    if rejection is not None:
        if wishes.get("on_failure") and wishes.get("channels"):
            notify(
                svc,
                tenant_id=tenant_id,
                event="schedule.failed",
                schedule_id=schedule_id,
                channel_types=wishes["channels"],
                payload={"schedule": summary, "message": f"The scheduled scan could not start: {reason}"},
            )
        if raise_rejection:
            raise rejection
    return run


def fire_cron(svc: Services, schedule_id: str, fire_time: datetime) -> ScheduleRun | None:
    """RedBeat's fire. The occurrences owed since the last fire (or the creation, or the last
    resume) are counted: an occurrence on time fires; missed ones (beat or every worker was down)
    are recorded as a skipped run that says why, and the latest of them fires once as a catch-up
    (POLICYCORTEX_SCHEDULE_CATCH_UP=one) or not at all (none)."""
    now = utcnow()
    with svc.db.session() as session:
        schedule = session.get(Schedule, schedule_id)
        if schedule is None or not schedule.enabled:
            return None
        covered = covered_until(schedule, last_cron_fires(session, [schedule_id]).get(schedule_id))
        first, latest, count = owed_occurrences(schedule, covered, now)
    if latest is None:  # nothing owed: a redelivered fire, or one for a time the schedule was paused
        return None
    on_time = now - latest <= LATE_AFTER
    fires = on_time or svc.settings.schedule_catch_up == "one"
    skipped = count - 1 if fires else count
    if skipped:
        reason = f"{skipped} occurrence(s) from {iso(first)} missed while beat was not running"
        if not on_time:
            reason += f"; the latest ({iso(latest)}) fired once as a catch-up" if fires else "; catch-up is off"
        # Recorded at the last occurrence it covers, so the skipped ones are never owed again.
        _skip(svc, schedule_id, first if fires else latest, reason, skipped)
    if fires:
        return fire(svc, schedule_id, latest, "cron", {} if on_time else {"catch_up": True, "missed": skipped})
    return None


def _skip(svc: Services, schedule_id: str, fire_time: datetime, reason: str, missed: int) -> None:
    with svc.db.session() as session:
        session.execute(
            insert(ScheduleRun)
            .values(
                schedule_id=schedule_id,
                trigger="cron",
                fire_time=fire_time,
                status="skipped",
                reason=reason,
                details={"missed": missed},
                created_at=utcnow(),
            )
            .on_conflict_do_nothing(constraint="uq_schedule_runs_fire")
        )
    log.info("schedule %s: %s", schedule_id, reason)


def _validated(body: dict) -> dict:
    try:
        return ScanRequestSchema().load(body)
    except ValidationError as exc:
        raise InvalidScanConfig(details=error_details(exc.messages)) from None


def run_now(svc: Services, tenant_id: str, schedule_id: str) -> ScheduleRun:
    """The manual trigger: fire the schedule now, whether or not it is enabled."""
    with svc.db.session() as session:
        _get(session, tenant_id, schedule_id)
    return fire(svc, schedule_id, utcnow(), "manual", raise_rejection=True)


def mirror(svc: Services, schedule_id: str) -> None:
    """Mirror one schedule into RedBeat now; a failure here is repaired by the periodic reconcile."""
    try:
        sync_schedule(svc, schedule_id)
    except Exception as exc:  # Redis down: PostgreSQL stays the truth and reconcile re-creates the entry
        log.warning("could not mirror schedule %s into RedBeat: %s", schedule_id, exc)


def render(schedule: Schedule, runs: list[ScheduleRun], *, base_url: str, secret: str | None = None) -> dict:
    upcoming = upcoming_occurrence(schedule, utcnow()) if schedule.enabled else None
    body = {
        "id": schedule.id,
        "name": schedule.name,
        "description": schedule.description,
        "schedule": {"cron": schedule.cron, "timezone": schedule.timezone},
        "scan_config": schedule.scan_config,
        "notifications": schedule.notifications,
        "triggers": schedule.triggers,
        "enabled": schedule.enabled,
        "next_run_at": iso(upcoming),
        "next_run_at_local": upcoming.astimezone(zone(schedule.timezone)).isoformat() if upcoming else None,
        "last_run_at": iso(schedule.last_run_at),
        "last_scan_id": schedule.last_scan_id,
        "recent_runs": [render_run(run) for run in runs],
        "webhook": {"url": f"{base_url.rstrip('/')}/v1/scans/schedules/{schedule.id}/webhook"},
        "created_at": iso(schedule.created_at),
        "updated_at": iso(schedule.updated_at),
    }
    if secret:
        body["webhook"]["secret"] = secret  # shown once, at creation
    return body


def render_run(run: ScheduleRun) -> dict:
    return {
        "trigger": run.trigger,
        "fire_time": iso(run.fire_time),
        "status": run.status,
        "scan_id": run.scan_id,
        "reason": run.reason,
        "created_at": iso(run.created_at),
    }


def recent_runs(session: Session, schedule_id: str) -> list[ScheduleRun]:
    return list(
        session.scalars(
            select(ScheduleRun)
            .where(ScheduleRun.schedule_id == schedule_id)
            .order_by(ScheduleRun.created_at.desc(), ScheduleRun.id.desc())
            .limit(RECENT_RUNS)
        )
    )
