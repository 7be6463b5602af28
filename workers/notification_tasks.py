"""Celery task that delivers one notification: a thin body over shared.notifications.deliver."""

from __future__ import annotations

from celery import shared_task

from shared.notifications.delivery import deliver, requeue_overdue


# acks_late + reject_on_worker_lost: a delivery whose worker dies is redelivered (at least once;
# receivers de-duplicate on X-PolicyCortex-Delivery). The delivery row counts attempts and caps
# them from settings, so Celery's own retry limit is off. Short time limits: one attempt is a
# few network round trips with their own timeouts, never the minutes a shard may take.
@shared_task(
    name="notification-deliver",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,
    soft_time_limit=60,
    time_limit=90,
)
def notification_deliver(self, delivery_id: int) -> dict:
    outcome = deliver(self.app.services, delivery_id)
    if outcome.retry_in is not None:
        # Exponential back-off: the delay was computed from the attempt count on the row.
        raise self.retry(countdown=outcome.retry_in)
    return {"delivery_id": delivery_id, "status": outcome.status, "attempts": outcome.attempts}


# Periodic (beat_schedule): deliveries whose task was lost (the broker was down when it was sent)
# are sent again; the delivery row's attempt counter keeps the cap.
@shared_task(name="notifications-requeue", bind=True)
def notifications_requeue(self) -> dict:
    return {"requeued": len(requeue_overdue(self.app.services))}
