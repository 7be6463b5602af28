"""RedBeat configuration: schedules live in Redis under their own prefix, with a lock so only one
beat fires them even when two are started."""

from __future__ import annotations

from shared.platform.settings import Settings


def beat_settings(settings: Settings) -> dict:
    return {
        "beat_scheduler": "beat.scheduler:Scheduler",  # RedBeat that outlives a Redis restart
        "redbeat_redis_url": settings.redis_url,
        "redbeat_key_prefix": "pc:redbeat:",
        "redbeat_lock_timeout": 5 * 60,
        # Beat keeps retrying Redis for a minute (a restart) before it gives up its lock.
        "redbeat_redis_options": {"retry_period": 60, "socket_timeout": 10, "socket_connect_timeout": 5},
        "beat_max_loop_interval": 5,
        # Static entries; each schedule's own entry is written by shared.schedules.redbeat.
        "beat_schedule": {
            "notifications-requeue": {
                "task": "notifications-requeue",
                "schedule": 300.0,
                "options": {"queue": "housekeeping"},
            },
            # Every 30 s: a shard whose worker died is relaunched within a lease (45 s) and a period.
            "scans-reap": {"task": "scans-reap", "schedule": 30.0, "options": {"queue": "housekeeping"}},
            # Future scans (execution.start_at) join their queue within 15 s of their time.
            "scans-start-due": {"task": "scans-start-due", "schedule": 15.0, "options": {"queue": "housekeeping"}},
            # Mute rules whose expiry came stop muting within 30 s (findings and latest scans recounted).
            "mutes-expire": {"task": "mutes-expire", "schedule": 30.0, "options": {"queue": "housekeeping"}},
            # Hourly: retention deletes expired violations in batches (POLICYCORTEX_RETENTION_DAYS).
            "scans-purge": {"task": "scans-purge", "schedule": 3600.0, "options": {"queue": "housekeeping"}},
            "schedules-reconcile": {
                "task": "schedules-reconcile",
                "schedule": 300.0,
                "options": {"queue": "housekeeping"},
            },
        },
    }
