"""The Celery app factory: configured from the same Settings as the API, nothing built at import."""

from __future__ import annotations

from celery import Celery
from celery.signals import beat_init, worker_process_init
from kombu import Queue

from beat.config import beat_settings
from shared.platform.context import Services
from shared.platform.settings import Settings
from workers.observability import connect_signals

QUEUES = ("scans", "shards", "notifications", "housekeeping")
ROUTES = {
    "scan-plan": "scans",
    "scan-finalize": "scans",
    "scan-shard": "shards",
    "schedule-fire": "scans",
    "schedule-debounced-fire": "scans",
    "schedules-policy-updated": "scans",
    "schedules-drift": "scans",
    "schedules-reconcile": "housekeeping",
    "scans-reap": "housekeeping",
    "scans-start-due": "housekeeping",
    "scans-purge": "housekeeping",
    "notification-deliver": "notifications",
    "notifications-requeue": "housekeeping",
}


def celery_config(settings: Settings) -> dict:
    transport = {"visibility_timeout": settings.visibility_timeout}
    return {
        "broker_url": settings.redis_url,
        "result_backend": settings.redis_url,
        # JSON only: task arguments are ids, never objects or credentials.
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        # Tasks are idempotent, so a task whose worker died is redelivered rather than lost.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # One message at a time per process: long shards must not hold others hostage.
        "worker_prefetch_multiplier": 1,
        "task_soft_time_limit": settings.shard_soft_time_limit,
        "task_time_limit": settings.shard_time_limit,
        # Longer than the hard time limit, for broker and result backend alike, so Redis never
        # hands a running task to a second worker.
        "broker_transport_options": transport,
        "result_backend_transport_options": transport,
        "result_expires": 24 * 3600,
        "result_extended": True,
        "task_track_started": True,
        # Flower sees tasks from the moment they are sent.
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        "task_default_queue": "scans",
        "task_queues": [Queue(name) for name in QUEUES],
        "task_routes": {name: {"queue": queue} for name, queue in ROUTES.items()},
        "broker_connection_retry_on_startup": True,
        "worker_hijack_root_logger": False,
        "timezone": "UTC",
        "enable_utc": True,
        **beat_settings(settings),
    }


def create_celery(settings: Settings | None = None) -> Celery:
    settings = settings or Settings.from_env()
    app = Celery("policycortex", include=["workers.tasks", "workers.notification_tasks"], set_as_current=False)
    app.conf.update(celery_config(settings))
    app.services = Services(settings, celery=app)
    connect_signals()  # task ids on log lines, task results into metrics

    @worker_process_init.connect(weak=False)
    def _fresh_pools(**_):
        # A forked child must not reuse the parent's database or Redis sockets.
        app.services.__dict__.pop("db", None)
        app.services.__dict__.pop("redis", None)

    @beat_init.connect(weak=False)
    def _reconcile_on_start(sender=None, **_):
        # Schedules are PostgreSQL's: whatever Redis kept or lost, beat starts from the truth.
        from shared.schedules.redbeat import reconcile

        reconcile(app.services)

    return app
