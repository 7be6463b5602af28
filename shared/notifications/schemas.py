"""Request schemas of the notification endpoints: channels and deliveries."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, post_load, validate

from shared.notifications.channels.types import channel_type, channel_types
from shared.notifications.messages import EVENTS
from shared.platform.schemas import Closed, non_blank, offset_field

DELIVERY_STATUSES = ("pending", "delivered", "failed", "skipped")

def _load_config(kind: str, config: dict) -> dict:
    try:
        return channel_type(kind).schema().load(config)
    except ValidationError as exc:
        raise ValidationError(exc.messages, "config") from None


class ChannelRequestSchema(Closed):
    type = fields.String(required=True, validate=validate.OneOf(channel_types.names()))
    name = fields.String(required=True, validate=[validate.Length(min=1, max=200), non_blank])
    enabled = fields.Boolean(load_default=True)
    config = fields.Dict(keys=fields.String(), required=True)

    @post_load
    def _config(self, data: dict, **kwargs: Any) -> dict:
        return {**data, "config": _load_config(data["type"], data["config"])}


class ChannelPatchSchema(Closed):
    """A PATCH changes what it names; config keys replace the stored ones, unsent secrets are kept."""

    name = fields.String(validate=[validate.Length(min=1, max=200), non_blank])
    enabled = fields.Boolean()
    config = fields.Dict(keys=fields.String())


class ChannelListQuerySchema(Closed):
    type = fields.String(validate=validate.OneOf(channel_types.names()))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    offset = offset_field()


class DeliveryListQuerySchema(Closed):
    status = fields.String(validate=validate.OneOf(DELIVERY_STATUSES))
    channel_id = fields.String(validate=validate.Length(min=1, max=32))
    scan_id = fields.String(validate=validate.Length(min=1, max=32))
    schedule_id = fields.String(validate=validate.Length(min=1, max=32))
    event = fields.String(validate=validate.OneOf(EVENTS))
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    offset = offset_field()
