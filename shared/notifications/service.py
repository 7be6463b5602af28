"""Notification channels (create, read, update, delete, test) and the record of deliveries."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.notifications.channels.base import ChannelType
from shared.notifications.channels.types import channel_type
from shared.notifications.delivery import deliver
from shared.notifications.messages import TEST_EVENT
from shared.notifications.models import NotificationChannel, NotificationDelivery
from shared.notifications.schemas import _load_config
from shared.platform.context import Services
from shared.platform.db import utcnow
from shared.platform.durations import iso
from shared.platform.errors import Conflict, InvalidRequest, NotFound
from shared.platform.outbound import BlockedDestination
from shared.platform.schemas import error_details
from shared.platform.settings import PREFIX


def unavailable_types(session: Session, tenant_id: str, types: list[str]) -> list[str]:
    """The channel types among `types` of which the tenant has no enabled channel."""
    available = set(
        session.scalars(
            select(NotificationChannel.type).where(
                NotificationChannel.tenant_id == tenant_id,
                NotificationChannel.type.in_(types),
                NotificationChannel.enabled.is_(True),
                NotificationChannel.deleted_at.is_(None),
            )
        )
    )
    return sorted(set(types) - available)


def channel_problems(session: Session, tenant_id: str, types: list[str], field: str) -> list[dict[str, str]]:
    """Details for a request whose notifications name channel types the tenant cannot deliver to."""
    hint = "create one with POST /v1/notifications/channels"
    return [
        {"field": field, "message": f"No enabled {kind} channel is configured; {hint}"}
        for kind in unavailable_types(session, tenant_id, types)
    ]


def render_channel(channel: NotificationChannel, *, shown_once: dict | None = None) -> dict[str, Any]:
    body = {
        "id": channel.id,
        "type": channel.type,
        "name": channel.name,
        "enabled": channel.enabled,
        "config": channel.config,
        "created_at": iso(channel.created_at),
        "updated_at": iso(channel.updated_at),
    }
    body.update(shown_once or {})
    return body


def _check_destinations(svc: Services, kind: ChannelType, config: dict) -> None:
    guard = svc.settings.outbound_guard
    details = []
    for name, host, port in kind.destinations(config):
        try:
            guard.check_host(host, port)
        except BlockedDestination as exc:
            details.append({"field": name, "message": f"{exc}; allow-list it in {PREFIX}OUTBOUND_ALLOWLIST"})
    if details:
        raise InvalidRequest("The channel's destination is not allowed", details=details)


def create_channel(svc: Services, tenant_id: str, data: dict) -> tuple[NotificationChannel, dict]:
    """Store a validated channel; returns it and the secrets shown this once (a webhook's secret)."""
    kind = channel_type(data["type"])
    _check_destinations(svc, kind, data["config"])
    public, stored_secrets = kind.split(data["config"], {})
    now = utcnow()
    channel = NotificationChannel(
        tenant_id=tenant_id,
        type=data["type"],
        name=data["name"],
        enabled=data["enabled"],
        config=public,
        secrets_encrypted=svc.vault.encrypt(stored_secrets) if stored_secrets else None,
        created_at=now,
        updated_at=now,
    )
    try:
        with svc.db.session() as session:
            session.add(channel)
    except IntegrityError:
        raise Conflict(f"A notification channel named '{data['name']}' already exists") from None
    return channel, kind.shown_once(stored_secrets)


def get_channel(session: Session, tenant_id: str, channel_id: str, *, lock: bool = False) -> NotificationChannel:
    query = select(NotificationChannel).where(
        NotificationChannel.id == channel_id,
        NotificationChannel.tenant_id == tenant_id,
        NotificationChannel.deleted_at.is_(None),
    )
    channel = session.scalar(query.with_for_update() if lock else query)
    if channel is None:
        raise NotFound(f"Notification channel {channel_id} does not exist")
    return channel


def list_channels(session: Session, tenant_id: str, query: dict) -> tuple[list[NotificationChannel], int]:
    conditions = [NotificationChannel.tenant_id == tenant_id, NotificationChannel.deleted_at.is_(None)]
    if query.get("type"):
        conditions.append(NotificationChannel.type == query["type"])
    total = session.scalar(select(func.count()).select_from(NotificationChannel).where(*conditions))
    rows = session.scalars(
        select(NotificationChannel)
        .where(*conditions)
        .order_by(NotificationChannel.created_at, NotificationChannel.id)
        .limit(query["limit"])
        .offset(query["offset"])
    ).all()
    return list(rows), total


def update_channel(svc: Services, tenant_id: str, channel_id: str, data: dict) -> NotificationChannel:
    try:
        with svc.db.session() as session:
            channel = get_channel(session, tenant_id, channel_id, lock=True)
            if "config" in data:
                kind = channel_type(channel.type)
                stored_secrets = svc.vault.decrypt(channel.secrets_encrypted)
                merged = kind.merge(kind.full_config(channel.config, stored_secrets), data["config"])
                config = _load_config(channel.type, merged)
                _check_destinations(svc, kind, config)
                public, stored_secrets = kind.split(config, stored_secrets)
                channel.config = public
                channel.secrets_encrypted = svc.vault.encrypt(stored_secrets) if stored_secrets else None
            if "name" in data:
                channel.name = data["name"]
            if "enabled" in data:
                channel.enabled = data["enabled"]
            channel.updated_at = utcnow()
            session.flush()
    except ValidationError as exc:
        raise InvalidRequest(details=error_details(exc.normalized_messages())) from None
    except IntegrityError:
        raise Conflict(f"A notification channel named '{data.get('name')}' already exists") from None
    return channel


def delete_channel(svc: Services, tenant_id: str, channel_id: str) -> None:
    """Soft delete: past deliveries keep naming the channel; its secrets are destroyed now."""
    with svc.db.session() as session:
        channel = get_channel(session, tenant_id, channel_id, lock=True)
        channel.deleted_at = utcnow()
        channel.enabled = False
        channel.secrets_encrypted = None


def render_delivery(delivery: NotificationDelivery, channel_type_name: str) -> dict[str, Any]:
    return {
        "id": delivery.public_id,
        "channel_id": delivery.channel_id,
        "channel_type": channel_type_name,
        "event": delivery.event,
        "scan_id": delivery.scan_id,
        "schedule_id": delivery.schedule_id,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "last_error": delivery.last_error,
        "response_status": delivery.response_status,
        "created_at": iso(delivery.created_at),
        "delivered_at": iso(delivery.delivered_at),
        "next_attempt_at": iso(delivery.next_attempt_at),
        "payload": delivery.payload,
    }


def list_deliveries(
    session: Session, tenant_id: str, query: dict
) -> tuple[list[tuple[NotificationDelivery, str]], int]:
    """Newest first, with each delivery's channel type."""
    conditions = [NotificationDelivery.tenant_id == tenant_id]
    for name in ("status", "channel_id", "scan_id", "schedule_id", "event"):
        if query.get(name):
            conditions.append(getattr(NotificationDelivery, name) == query[name])
    total = session.scalar(select(func.count()).select_from(NotificationDelivery).where(*conditions))
    rows = session.execute(
        select(NotificationDelivery, NotificationDelivery.channel_type)
        .where(*conditions)
        .order_by(NotificationDelivery.created_at.desc(), NotificationDelivery.id.desc())
        .limit(query["limit"])
        .offset(query["offset"])
    ).all()
    return [(delivery, kind) for delivery, kind in rows], total


def get_delivery(session: Session, tenant_id: str, delivery_id: str) -> tuple[NotificationDelivery, str]:
    row = session.execute(
        select(NotificationDelivery, NotificationDelivery.channel_type)
        .where(NotificationDelivery.public_id == delivery_id, NotificationDelivery.tenant_id == tenant_id)
    ).first()
    if row is None:
        raise NotFound(f"Delivery {delivery_id} does not exist")
    return row[0], row[1]


def send_test(svc: Services, tenant_id: str, channel_id: str) -> tuple[NotificationDelivery, str]:
    """Send a test message to one channel now (disabled ones too) and return its delivery."""
    with svc.db.session() as session:
        channel = get_channel(session, tenant_id, channel_id)
        now = utcnow()
        delivery = NotificationDelivery(
            tenant_id=tenant_id,
            channel_id=channel.id,
            channel_type=channel.type,
            event=TEST_EVENT,
            status="pending",
            attempts=0,
            payload={"message": f"PolicyCortex can reach the channel '{channel.name}'."},
            created_at=now,
            next_attempt_at=now,
        )
        session.add(delivery)
        session.flush()
        session.refresh(delivery, ["public_id"])
        delivery_id, public_id = delivery.id, delivery.public_id
    # One attempt, no retries: the caller is waiting for the answer.
    deliver(svc, delivery_id, allow_retry=False)
    with svc.db.session() as session:
        return get_delivery(session, tenant_id, public_id)
