"""/v1/events: cloud change events (EventBridge, Event Grid, Cloud Asset feeds) that trigger scans."""

from __future__ import annotations

from flask import Blueprint, request

from api.context import json_body, services, tenant_id
from shared.schedules import triggers

bp = Blueprint("events", __name__, url_prefix="/v1/events")


@bp.post("")
def accept_events():
    body = json_body()
    if isinstance(body, list) and body and body[0].get("eventType") == triggers.EVENT_GRID_VALIDATION:
        return {"validationResponse": body[0]["data"]["validationCode"]}  # Event Grid's subscription handshake
    return triggers.accept_events(services(), tenant_id(), body, request.args.get("account_id")), 202
