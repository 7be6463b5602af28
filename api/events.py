"""/v1/events: cloud change events (EventBridge, Event Grid, Cloud Asset feeds) that trigger scans."""

from __future__ import annotations

from flask import Blueprint, request

from api.context import json_body, services, tenant_id
from shared.schedules import triggers

bp = Blueprint("events", __name__, url_prefix="/v1/events")


@bp.post("")
def accept_events():
    body = json_body()
    validation = triggers.event_grid_validation(body)
    if validation is not None:
        return {"validationResponse": validation}  # Event Grid's subscription handshake
    return triggers.accept_events(services(), tenant_id(), body, request.args.get("account_id")), 202
