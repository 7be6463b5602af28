"""Delivering notifications: one row per (channel, event), one task per row, attempts counted on
the row with capped, jittered back-off."""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert

from shared.notifications.channels.base import DeliveryError, DeliveryJob, Sent
from shared.notifications.channels.types import channel_type
from shared.notifications.messages import EVENTS, TEST_EVENT
from shared.notifications.models import NotificationChannel, NotificationDelivery
from shared.platform import metrics
from shared.platform.context import Services
from shared.platform.crypto import CredentialsError
from shared.platform.db import utcnow
from shared.platform.settings import PREFIX

log = logging.getLogger(__name__)

# Below the broker's visibility timeout (2 x shard time limit), with jitter: Redis would hand a task
# that waits longer for its ETA to a second worker.
RETRY_CAP_SECONDS = 900


def notify(
    svc: Services,
    *,
    tenant_id: str,
    event: str,
    scan_id: str | None = None,
    schedule_id: str | None = None,
    channel_types: Iterable[str] = ("email", "slack", "webhook"),
    payload: Mapping[str, Any],
) -> list[int]:
    """Notify every enabled channel of the tenant whose type is in `channel_types`: one delivery
    row each, committed, then one `notification-deliver` task each. A scan event reaches a channel
    once however often this is called (finalize and schedules may both ask). A type with no enabled
    channel gets a `skipped` row saying so. Returns the ids of the deliveries to send. Schedules
    call it for drift alerts with `payload={"scan": scan_summary(...), "drift": {"reason": "..."}}`."""
    if event not in EVENTS:
        raise ValueError(f"unknown notification event {event!r}; known: {', '.join(EVENTS)}")
    wanted = sorted(set(channel_types))
    if not wanted:
        return []
    with svc.db.session() as session:
        channels = session.execute(
            select(NotificationChannel.id, NotificationChannel.type).where(
                NotificationChannel.tenant_id == tenant_id,
                NotificationChannel.type.in_(wanted),
                NotificationChannel.enabled.is_(True),
                NotificationChannel.deleted_at.is_(None),
            )
        ).all()
        now = utcnow()
        common = {
            "tenant_id": tenant_id,
            "event": event,
            "scan_id": scan_id,
            "schedule_id": schedule_id,
            "attempts": 0,
            "payload": dict(payload),
            "created_at": now,
        }
        rows = [
            {**common, "channel_id": channel_id, "channel_type": kind, "status": "pending", "next_attempt_at": now}
            for channel_id, kind in channels
        ]
        # A type asked for with no enabled channel is not silently dropped: it is on record, with why.
        missing = sorted(set(wanted) - {kind for _, kind in channels})
        unsent = [
            {
                **common,
                "channel_id": None,
                "channel_type": kind,
                "status": "skipped",
                "last_error": f"The tenant has no enabled {kind} channel (POST /v1/notifications/channels)",
            }
            for kind in missing
        ]
        if unsent:
            session.execute(insert(NotificationDelivery).values(unsent))
        if not rows:
            return []
        statement = insert(NotificationDelivery).values(rows)
        if scan_id is not None:
            statement = statement.on_conflict_do_nothing(
                index_elements=["channel_id", "event", "scan_id"], index_where=text("scan_id IS NOT NULL")
            )
        delivery_ids = list(session.scalars(statement.returning(NotificationDelivery.id)))
    for delivery_id in delivery_ids:  # after the commit: the worker must find the rows
        svc.enqueue("notification-deliver", delivery_id)
    return delivery_ids


def requeue_overdue(svc: Services, *, overdue: timedelta = timedelta(minutes=15), limit: int = 1000) -> list[int]:
    """For housekeeping: enqueue again the pending deliveries whose attempt is long overdue, i.e.
    whose task was lost (the broker was down at enqueue, a queue was purged). A task that is only
    late makes one extra attempt, which the row counts like any other."""
    with svc.db.session() as session:
        delivery_ids = list(
            session.scalars(
                select(NotificationDelivery.id)
                .where(
                    NotificationDelivery.status == "pending",
                    NotificationDelivery.next_attempt_at < utcnow() - overdue,
                )
                .order_by(NotificationDelivery.id)
                .limit(limit)
            )
        )
    for delivery_id in delivery_ids:
        svc.enqueue("notification-deliver", delivery_id)
    return delivery_ids


def retry_delay(attempt: int, base: int) -> float:
    """Seconds to wait after failed attempt `attempt` (1-based): base, 2 x base, 4 x base, ...
    capped at 15 minutes, plus up to 25% jitter so a burst of failures does not retry in lockstep."""
    delay = min(base * 2 ** (attempt - 1), RETRY_CAP_SECONDS)
    return delay * (1 + random.random() / 4)


@dataclass(frozen=True)
class DeliveryOutcome:
    delivery_id: int
    status: str
    attempts: int
    retry_in: float | None = None  # seconds until the next attempt is due, when one is


def deliver(svc: Services, delivery_id: int, *, allow_retry: bool = True) -> DeliveryOutcome:
    """Make one attempt at a pending delivery and record its outcome. The row counts attempts, so
    a redelivered task or a crashed worker uses up attempts too and the cap holds."""
    settings = svc.settings
    with svc.db.session() as session:
        delivery = session.get(NotificationDelivery, delivery_id, with_for_update=True)
        if delivery is None:
            return DeliveryOutcome(delivery_id, "missing", 0)
        if delivery.status != "pending":
            return DeliveryOutcome(delivery_id, delivery.status, delivery.attempts)
        channel = session.get(NotificationChannel, delivery.channel_id)
        delivery.attempts += 1
        attempt = delivery.attempts
        problem, stored_secrets = None, {}
        if channel.deleted_at is not None:
            problem = "The channel was deleted"
        elif not channel.enabled and delivery.event != TEST_EVENT:
            problem = "The channel is disabled"
        else:
            try:
                stored_secrets = svc.vault.decrypt(channel.secrets_encrypted)
            except CredentialsError:
                problem = f"The channel's secrets cannot be decrypted with {PREFIX}SECRET_KEYS"
        if problem:
            delivery.status, delivery.last_error, delivery.next_attempt_at = "failed", problem, None
            metrics.delivery_finished(channel.type, "failed")
            return DeliveryOutcome(delivery_id, "failed", attempt)
        kind = channel_type(channel.type)
        job = DeliveryJob(
            delivery_id=delivery.id,
            public_id=delivery.public_id,
            event=delivery.event,
            created_at=delivery.created_at,
            payload=delivery.payload,
            config=kind.full_config(channel.config, stored_secrets),
            secrets=stored_secrets,
            settings=settings,
            guard=settings.outbound_guard,
        )
    # The network is touched outside the transaction: a slow endpoint must hold no lock or connection.
    error: DeliveryError | None = None
    sent = Sent(None)
    try:
        sent = kind.send(job)
    except DeliveryError as exc:
        error = exc
    except Exception as exc:  # a bug must still end on the row, within the attempt cap, not loop forever
        log.exception("notification delivery %s crashed", delivery_id)
        error = DeliveryError(f"Internal error ({type(exc).__name__})", retryable=True)
    retry_in = None
    with svc.db.session() as session:
        delivery = session.get(NotificationDelivery, delivery_id, with_for_update=True)
        now = utcnow()
        if error is None:
            delivery.status, delivery.delivered_at, delivery.next_attempt_at = "delivered", now, None
            delivery.response_status = sent.response_status
            if sent.note:
                delivery.last_error = sent.note
        else:
            log.info("notification delivery %s attempt %s failed: %s", delivery_id, attempt, error.message)
            delivery.last_error, delivery.response_status = error.message, error.response_status
            if allow_retry and error.retryable and attempt < settings.notify_max_attempts:
                retry_in = retry_delay(attempt, settings.notify_retry_base)
                delivery.next_attempt_at = now + timedelta(seconds=retry_in)
            else:
                delivery.status, delivery.next_attempt_at = "failed", None
        status = delivery.status
    metrics.delivery_finished(channel.type, status if retry_in is None else "retrying")
    return DeliveryOutcome(delivery_id, status, attempt, retry_in)
