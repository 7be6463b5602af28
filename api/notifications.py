"""/v1/notifications: a tenant's channels (email, Slack, signed webhooks) and the deliveries made
to them. Secrets go in, never out (a webhook's signing secret once, in the creation answer)."""

from __future__ import annotations

from flask import Blueprint, request

from api.context import json_body, load, pagination, services, tenant_id
from shared.notifications import service as notifications
from shared.notifications.schemas import (
    ChannelListQuerySchema,
    ChannelPatchSchema,
    ChannelRequestSchema,
    DeliveryListQuerySchema,
)

bp = Blueprint("notifications", __name__, url_prefix="/v1/notifications")


@bp.post("/channels")
def create_channel():
    data = load(ChannelRequestSchema(), json_body())
    channel, shown_once = notifications.create_channel(services(), tenant_id(), data)
    return notifications.render_channel(channel, shown_once=shown_once), 201


@bp.get("/channels")
def list_channels():
    query = load(ChannelListQuerySchema(), request.args.to_dict())
    with services().db.session() as session:
        rows, total = notifications.list_channels(session, tenant_id(), query)
    return {
        "channels": [notifications.render_channel(row) for row in rows],
        "pagination": pagination(total, query["limit"], query["offset"], len(rows)),
    }


@bp.get("/channels/<channel_id>")
def get_channel(channel_id: str):
    with services().db.session() as session:
        return notifications.render_channel(notifications.get_channel(session, tenant_id(), channel_id))


@bp.patch("/channels/<channel_id>")
def update_channel(channel_id: str):
    data = load(ChannelPatchSchema(), json_body())
    return notifications.render_channel(notifications.update_channel(services(), tenant_id(), channel_id, data))


@bp.delete("/channels/<channel_id>")
def delete_channel(channel_id: str):
    notifications.delete_channel(services(), tenant_id(), channel_id)
    return "", 204


@bp.post("/channels/<channel_id>/test")
def test_channel(channel_id: str):
    delivery, kind = notifications.send_test(services(), tenant_id(), channel_id)
    return notifications.render_delivery(delivery, kind)


@bp.get("/deliveries")
def list_deliveries():
    query = load(DeliveryListQuerySchema(), request.args.to_dict())
    with services().db.session() as session:
        rows, total = notifications.list_deliveries(session, tenant_id(), query)
    return {
        "deliveries": [notifications.render_delivery(delivery, kind) for delivery, kind in rows],
        "pagination": pagination(total, query["limit"], query["offset"], len(rows)),
    }
