"""/v1/scans/schedules: recurring scans, their manual trigger and their recent runs."""

from __future__ import annotations

from flask import Blueprint, request

from api.context import base_url, json_body, load, pagination, services, tenant_id
from api.idempotency import idempotent
from shared.scans import render
from shared.scans.service import get_scan, queue_position
from shared.schedules import service as schedules
from shared.schedules import triggers

bp = Blueprint("schedules", __name__, url_prefix="/v1/scans/schedules")


def _render(schedule, *, secret=None) -> dict:
    with services().db.session() as session:
        runs = schedules.recent_runs(session, schedule.id)
    return schedules.render(schedule, runs, base_url=base_url(), secret=secret)


@bp.post("")
@idempotent
def create_schedule():
    schedule, secret = schedules.create_schedule(services(), tenant_id(), json_body())
    return _render(schedule, secret=secret), 201


@bp.get("")
def list_schedules():
    query = load(schedules.ScheduleListQuerySchema(), request.args.to_dict())
    with services().db.session() as session:
        rows, total = schedules.list_schedules(session, tenant_id(), query)
        items = [schedules.render(row, schedules.recent_runs(session, row.id), base_url=base_url()) for row in rows]
    return {"schedules": items, "pagination": pagination(total, query["limit"], query["offset"], len(rows))}


@bp.get("/<schedule_id>")
def get_schedule(schedule_id: str):
    with services().db.session() as session:
        schedule = schedules.get_schedule(session, tenant_id(), schedule_id)
    return _render(schedule)


@bp.patch("/<schedule_id>")
def update_schedule(schedule_id: str):
    return _render(schedules.update_schedule(services(), tenant_id(), schedule_id, json_body()))


@bp.delete("/<schedule_id>")
def delete_schedule(schedule_id: str):
    schedules.delete_schedule(services(), tenant_id(), schedule_id)
    return "", 204


@bp.post("/<schedule_id>/run")
def run_schedule(schedule_id: str):
    run = schedules.run_now(services(), tenant_id(), schedule_id)
    body = {"run": schedules.render_run(run)}
    if run.scan_id:
        with services().db.session() as session:
            scan = get_scan(session, tenant_id(), run.scan_id)
            body["scan"] = render.created(scan, queue_position=queue_position(session, scan), base_url=base_url())
    return body, 202


# No API key: the caller proves itself with the schedule's secret (HMAC of timestamp and body).
@bp.post("/<schedule_id>/webhook", endpoint="webhook_public")
def schedule_webhook(schedule_id: str):
    run = triggers.webhook_fire(
        services(),
        schedule_id,
        request.get_data(),
        request.headers.get("X-PolicyCortex-Timestamp"),
        request.headers.get("X-PolicyCortex-Signature"),
    )
    return {"run": schedules.render_run(run) if run else None}, 202
